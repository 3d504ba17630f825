from . import elbo  # noqa: F401

from . import elbo  # noqa: F401
from . import document_classification, semisupervised_elbo  # noqa: F401

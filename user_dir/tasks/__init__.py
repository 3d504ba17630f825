from . import text_vae  # noqa: F401
from . import semisupervised_vae  # noqa: F401

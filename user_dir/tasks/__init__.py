from . import text_vae  # noqa: F401

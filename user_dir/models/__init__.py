from . import dilated_cnn_lm, text_vae  # noqa: F401

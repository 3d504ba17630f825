from . import dilated_cnn_lm, text_vae  # noqa: F401
from . import lstm_classifier, semisup_vae  # noqa: F401

from .causal_dilated_conv import CausalDilatedConv1d
from .dilated_cnn_decoder import DilatedCNNDecoder, DilatedResidualBlock
from .bounds import (
    bound_over_uniform_labels,
    categorical_kl_to_uniform,
    clamped_kl_y,
    free_bits_kl,
    gaussian_kl,
    gaussian_kl_per_dim,
    importance_weighted_bound,
    labelled_bound,
    labelled_joint_bound,
    marginal_kl_to_uniform,
    negative_elbo,
    unlabelled_bound,
)
from .gaussian import LOGVAR_MAX, LOGVAR_MIN, GaussianPosterior, log_normal_diag, log_standard_normal, reparameterize
from .latent_conditioned_decoder import LatentConditionedDecoder
from .latent_diagnostics import (
    active_units,
    active_units_from_moments,
    latent_moments,
    mutual_information,
    mutual_information_upper_bound,
)
from .lstm_conditioned_decoder import LSTMConditionedDecoder
from .lstm_document_encoder import LSTMDocumentEncoder
from .output_log_probs import adaptive_softmax_of, target_log_probs
from .schedules import cyclical_schedule, exponential_decay, linear_schedule

__all__ = [
    "CausalDilatedConv1d",
    "DilatedCNNDecoder",
    "DilatedResidualBlock",
    "GaussianPosterior",
    "LOGVAR_MAX",
    "LOGVAR_MIN",
    "LSTMConditionedDecoder",
    "LSTMDocumentEncoder",
    "LatentConditionedDecoder",
    "bound_over_uniform_labels",
    "categorical_kl_to_uniform",
    "clamped_kl_y",
    "cyclical_schedule",
    "exponential_decay",
    "free_bits_kl",
    "gaussian_kl",
    "gaussian_kl_per_dim",
    "importance_weighted_bound",
    "labelled_bound",
    "labelled_joint_bound",
    "linear_schedule",
    "log_normal_diag",
    "log_standard_normal",
    "negative_elbo",
    "reparameterize",
    "unlabelled_bound",
    "active_units",
    "active_units_from_moments",
    "adaptive_softmax_of",
    "latent_moments",
    "mutual_information",
    "mutual_information_upper_bound",
    "target_log_probs",
]

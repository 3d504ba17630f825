"""Diagonal-Gaussian posterior q(z|x), its KL to N(0, I), and log densities.

All reductions are done in fp32 whatever the input dtype, so half-precision
training keeps the KL and the importance weights finite.
"""
import math
from typing import Tuple

import torch
from torch import Tensor, nn

# log-variances are clamped to [LOGVAR_MIN, LOGVAR_MAX] (variance in about
# [2e-9, 2.2e4]): exp() stays finite in fp16 and bf16 and the KL stays finite.
LOGVAR_MIN = -20.0
LOGVAR_MAX = 10.0
_LOG_2PI = math.log(2 * math.pi)


class GaussianPosterior(nn.Module):
    """features (B, F) -> (mu, logvar), each (B, D): q(z|x) = N(mu, diag(exp(logvar)))."""

    def __init__(self, input_dim: int, latent_dim: int):
        super().__init__()
        self.proj = nn.Linear(input_dim, 2 * latent_dim)

    def forward(self, features: Tensor) -> Tuple[Tensor, Tensor]:
        mu, logvar = self.proj(features).float().chunk(2, dim=-1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)


def gaussian_kl_per_dim(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu_j, exp(logvar_j)) || N(0, 1)) = 1/2 (mu_j^2 + e^{logvar_j} - 1 - logvar_j) per dimension.

    (Kingma & Welling 2013, App. B; the KL term of Yang et al. 2017, Eq. 3.)
    (..., D) -> (..., D), in fp32 (fp64 for fp64 input).
    """
    mu, logvar = _at_least_fp32(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(q(z|x) || p(z)) of a diagonal Gaussian to N(0, I): ``gaussian_kl_per_dim`` summed, (..., D) -> (...)."""
    return gaussian_kl_per_dim(mu, logvar).sum(-1)


def free_bits_kl(kl_per_dim: Tensor, free_bits: float) -> Tensor:
    """The KL term of a batch under free bits (Kingma et al. 2016; later work, not the paper's):
    B * sum_j max(lambda, mean_b KL_bj) for kl_per_dim (B, D); lambda = 0 gives sum_b KL_b."""
    if free_bits > 0 and kl_per_dim.size(0) > 0:
        return kl_per_dim.size(0) * kl_per_dim.mean(0).clamp(min=free_bits).sum()
    return kl_per_dim.sum()


def reparameterize(mu: Tensor, logvar: Tensor, num_samples: int = 0) -> Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I).

    (B, D) -> (B, D) when ``num_samples == 0``, else (B, num_samples, D).
    """
    std = (0.5 * logvar).exp()
    if num_samples:
        mu, std = mu.unsqueeze(1), std.unsqueeze(1)
        eps = torch.randn(mu.size(0), num_samples, mu.size(-1), dtype=mu.dtype, device=mu.device)
    else:
        eps = torch.randn_like(mu)
    return mu + std * eps


def _at_least_fp32(*tensors: Tensor):
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    return [t.to(dtype) for t in tensors]


def log_normal_diag(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dim (broadcasting), in fp32, or in fp64
    when any input is fp64."""
    z, mu, logvar = _at_least_fp32(z, mu, logvar)
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) * (-logvar).exp()).sum(-1)


def log_standard_normal(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over the last dim, in fp32 (fp64 for fp64 input)."""
    (z,) = _at_least_fp32(z)
    return -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)

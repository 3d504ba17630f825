"""Diagonal-Gaussian posterior q(z|x), reparameterised samples and log densities (its KL: ``bounds.py``).

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


def at_least_fp32(*tensors: Tensor):
    """The tensors in fp32, or all in fp64 when any of them is fp64."""
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    return [t.to(dtype) for t in tensors]


def log_normal_diag(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dim (broadcasting), in fp32, or in fp64
    when any input is fp64."""
    z, mu, logvar = at_least_fp32(z, mu, logvar)
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) * (-logvar).exp()).sum(-1)


def log_standard_normal(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over the last dim, in fp32 (fp64 for fp64 input)."""
    (z,) = at_least_fp32(z)
    return -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)

"""Categorical latent variables: Gumbel-softmax samples and the entropy of q(y|x) (all in fp32;
the categorical KL and its clamp of Eq. 5 are in ``bounds.py``).

Used by the semi-supervised VAE (Yang et al. 2017, Sec. 2.4, Eq. 4; Jang et al.
2016; Maddison et al. 2016).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

# keeps -log(-log(u)) finite: u in [tiny, 1 - eps]
_U_MIN = 1e-10


def sample_gumbel(shape, device=None, generator: Optional[torch.Generator] = None) -> Tensor:
    """g ~ Gumbel(0, 1) = -log(-log(u)), u ~ U(0, 1), fp32."""
    u = torch.rand(shape, device=device, dtype=torch.float32, generator=generator)
    u = u.clamp(_U_MIN, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def gumbel_softmax(logits: Tensor, temperature: float, hard: bool = False,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    """Eq. 4: y_i = softmax((log pi_i + g_i) / tau), g_i ~ Gumbel(0, 1); rows sum to 1.

    ``logits`` (..., C) are unnormalised log-probabilities (log_softmax is applied,
    in fp32, so log pi is exact). ``hard=True`` is the straight-through estimator:
    the forward value is the one-hot of argmax_i (log pi_i + g_i), which is an exact
    sample of Categorical(pi) (the Gumbel-max trick), and the gradient is that of
    the soft sample. Returns fp32 (..., C).
    """
    if temperature <= 0:
        raise ValueError(f"Gumbel-softmax temperature must be > 0, got {temperature}")
    log_pi = F.log_softmax(logits.float(), dim=-1)
    perturbed = log_pi + sample_gumbel(log_pi.shape, device=log_pi.device, generator=generator)
    soft = F.softmax(perturbed / temperature, dim=-1)
    if not hard:
        return soft
    index = perturbed.argmax(dim=-1, keepdim=True)
    one_hot = torch.zeros_like(soft).scatter_(-1, index, 1.0)
    return one_hot - soft.detach() + soft


def categorical_entropy(log_q: Tensor) -> Tensor:
    """H(q) = -sum_i q_i log q_i for log-probabilities (..., C) -> (...), fp32."""
    log_q = log_q.float()
    return -(log_q.exp() * log_q).sum(-1)

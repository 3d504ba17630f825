"""Diagnostics of the latent code: mutual information I(x; z) and active units."""
import math

import torch
from torch import Tensor

from ..modules import log_normal_diag

@torch.no_grad()
def mutual_information(mu: Tensor, logvar: Tensor, chunk: int = 1024, seed: int = 0) -> float:
    """I(x; z) under q(x, z) = p_data(x) q(z|x), the estimator of He et al. (2019):

        I = E_x[E_q(z|x) log q(z|x)] - E_{z ~ q(z)} log q(z),
        log q(z) ~= logsumexp_n log q(z | x_n) - log N   (aggregate posterior over the N documents)

    mu, logvar: (N, D) posterior parameters of the N documents; one z per document.
    """
    mu, logvar = mu.double(), logvar.double()
    n, d = mu.shape
    neg_entropy = (-0.5 * d * math.log(2 * math.pi) - 0.5 * (1 + logvar).sum(-1)).mean()
    gen = torch.Generator().manual_seed(seed)
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=gen, dtype=mu.dtype)
    log_qz = []
    for start in range(0, n, chunk):
        zc = z[start: start + chunk].unsqueeze(1)  # (c, 1, D)
        log_density = log_normal_diag(zc, mu.unsqueeze(0), logvar.unsqueeze(0)).double()  # (c, N)
        log_qz.append(torch.logsumexp(log_density, dim=1) - math.log(n))
    return float(neg_entropy - torch.cat(log_qz).mean())

def active_units(mu: Tensor, threshold: float = 0.01) -> int:
    """Dimensions whose posterior mean varies across documents: Var_x(E_q(z|x)[z_j]) > threshold
    (Burda et al. 2016). mu: (N, D)."""
    return int((mu.double().var(dim=0) > threshold).sum())


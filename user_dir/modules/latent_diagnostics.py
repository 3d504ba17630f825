"""Diagnostics of the latent code: mutual information I(x; z) and active units.

Two forms of each. From all posterior parameters at once (``mutual_information``,
``active_units``: the test-set numbers of ``scripts/evaluate_vae.py``), and from
sums over documents (``latent_moments`` of each batch, added up, then
``active_units_from_moments`` and ``mutual_information_upper_bound``): sums can
be accumulated batch by batch and all-reduced across data-parallel workers, so
fairseq's validation logs them for the whole validation set.
"""
import math
from typing import Dict

import torch
from torch import Tensor

from .bounds import gaussian_kl
from .gaussian import log_normal_diag

AU_THRESHOLD = 0.01  # Burda et al. (2016): a unit is active when Var_x(E_q(z|x)[z_j]) > 0.01


@torch.no_grad()
def mutual_information(mu: Tensor, logvar: Tensor, chunk: int = 1024, seed: int = 0) -> float:
    """I(x; z) under q(x, z) = p_data(x) q(z|x), the estimator of He et al. (2019):

        I = E_x[E_q(z|x) log q(z|x)] - E_{z ~ q(z)} log q(z),
        log q(z) ~= logsumexp_n log q(z | x_n) - log N   (aggregate posterior over the N documents)

    mu, logvar: (N, D) posterior parameters of the N documents; one z per document; float64 throughout.
    """
    mu, logvar = mu.double(), logvar.double()
    n, d = mu.shape
    neg_entropy = (-0.5 * d * math.log(2 * math.pi) - 0.5 * (1 + logvar).sum(-1)).mean()
    gen = torch.Generator().manual_seed(seed)
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=gen, dtype=mu.dtype)
    log_qz = []
    for start in range(0, n, chunk):
        zc = z[start: start + chunk].unsqueeze(1)  # (c, 1, D)
        log_density = log_normal_diag(zc, mu.unsqueeze(0), logvar.unsqueeze(0))  # (c, N)
        log_qz.append(torch.logsumexp(log_density, dim=1) - math.log(n))
    return float(neg_entropy - torch.cat(log_qz).mean())


def active_units(mu: Tensor, threshold: float = AU_THRESHOLD) -> int:
    """Dimensions whose posterior mean varies across documents: Var_x(E_q(z|x)[z_j]) > threshold
    (Burda et al. 2016; unbiased variance). mu: (N, D)."""
    return int((mu.double().var(dim=0) > threshold).sum())


@torch.no_grad()
def latent_moments(mu: Tensor, logvar: Tensor) -> Dict[str, Tensor]:
    """Sums over the B documents of a batch, in float64: ``n`` (), ``mu`` (D,), ``mu_outer`` = sum mu mu^T
    (D, D), ``var`` = sum exp(logvar) (D,), ``kl`` = sum KL(q(z|x) || p(z)) (). Sums of batches add up."""
    mu, logvar = mu.double(), logvar.double()
    return {"n": torch.tensor(float(mu.size(0)), dtype=torch.float64), "mu": mu.sum(0), "mu_outer": mu.t() @ mu,
            "var": logvar.exp().sum(0), "kl": gaussian_kl(mu, logvar).double().sum()}


def active_units_from_moments(m: Dict[str, Tensor], threshold: float = AU_THRESHOLD) -> int:
    """``active_units`` from summed ``latent_moments`` (same unbiased variance)."""
    n = float(m["n"])
    if n < 2:
        return 0
    var = (m["mu_outer"].diagonal() - m["mu"].pow(2) / n) / (n - 1)
    return int((var > threshold).sum())


def mutual_information_upper_bound(m: Dict[str, Tensor]) -> float:
    """I(x; z) <= E_x KL(q(z|x) || p(z)) - KL(N(m, S) || N(0, I)), from summed ``latent_moments``.

    I(x; z) = E_x KL(q(z|x) || p(z)) - KL(q(z) || p(z)) for the aggregate posterior q(z), and a
    Gaussian N(m, S) with q(z)'s mean m and covariance S (S = Cov_x(mu) + E_x diag exp(logvar)) has
    the largest entropy for those moments, so KL(q(z) || p(z)) >= KL(N(m, S) || N(0, I)). The bound is 0
    when q(z|x) does not depend on x, and exact when q(z) is Gaussian.
    """
    n = float(m["n"])
    mean = m["mu"] / n
    cov = m["mu_outer"] / n - torch.outer(mean, mean) + torch.diag(m["var"] / n)
    d = mean.numel()
    kl_aggregate = 0.5 * (cov.trace() + mean.pow(2).sum() - d - torch.linalg.slogdet(cov)[1])
    return float(m["kl"] / n - kl_aggregate)

"""The paper's bounds and KL terms, each computed here and nowhere else.

Yang et al. (2017): the VAE bound (Eq. 2-3), the semi-supervised bounds L(x, y) and
U(x) (Sec. 2.4, with the Gumbel-softmax sample of Eq. 4 or the exact sum over labels),
the clamped KL_y of unsupervised clustering (Eq. 5); and three terms of later work the
plugin offers: free bits (Kingma et al. 2016), the importance-weighted bound
(Burda et al. 2016) and the class-balance term on the batch marginal of q(y|x). All results are in nats, per document unless stated, in fp32
(fp64 for fp64 input), so half-precision training keeps them finite.
"""
import math

import torch
from torch import Tensor

from .gaussian import at_least_fp32, log_normal_diag, log_standard_normal
from .gumbel import categorical_entropy


def gaussian_kl_per_dim(mu: Tensor, logvar: Tensor) -> Tensor:
    """Eq. 3's KL term per dimension: KL(N(mu_j, e^{logvar_j}) || N(0, 1)) = 1/2 (mu_j^2 + e^{logvar_j} - 1 -
    logvar_j) (Kingma & Welling 2013, App. B). (..., D) -> (..., D)."""
    mu, logvar = at_least_fp32(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(q(z|x) || p(z)) of Eq. 3 for a diagonal Gaussian q and p(z) = N(0, I): (..., D) -> (...)."""
    return gaussian_kl_per_dim(mu, logvar).sum(-1)


def negative_elbo(log_likelihood: Tensor, kl: Tensor) -> Tensor:
    """Eq. 3, negated: -log p(x) <= -(E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z))), with ``log_likelihood``
    log p(x|z) of one z sample (B,) and ``kl`` (B,). The NLL every table reports for a VAE."""
    return kl - log_likelihood


def labelled_bound(log_likelihood: Tensor, kl_z: Tensor) -> Tensor:
    """Sec. 2.4: L(x, y) = E_q(z|x,y)[log p(x|y,z)] - KL(q(z|x,y) || p(z)) per document (B,), one z sample
    (``log_likelihood`` log p(x|y,z), ``kl_z`` (B,)). The bound on log p(x, y) is L(x, y) + log p(y)."""
    return log_likelihood - kl_z


def labelled_joint_bound(labelled: Tensor, num_classes: int) -> Tensor:
    """Sec. 2.4: log p(x, y) >= L(x, y) + log p(y) with uniform p(y) over ``num_classes``: (B,) -> (B,)."""
    return labelled - math.log(num_classes)


def categorical_kl_to_uniform(log_q: Tensor) -> Tensor:
    """KL(q(y|x) || p(y)) for uniform p(y) over C classes: log C - H(q), log-probabilities (..., C) -> (...) >= 0."""
    return math.log(log_q.size(-1)) - categorical_entropy(log_q)


def unlabelled_bound(expected_labelled_bound: Tensor, log_qy: Tensor) -> Tensor:
    """Sec. 2.4: U(x) = sum_y q(y|x) L(x, y) - KL(q(y|x) || p(y)) per document (B,), p(y) uniform.

    ``expected_labelled_bound`` (B,) is sum_y q(y|x) L(x, y) exactly (one decoder pass per label), or its
    one-sample Gumbel-softmax estimate L(x, y~) (Eq. 4, the paper's training estimate); ``log_qy`` (B, C)."""
    return expected_labelled_bound - categorical_kl_to_uniform(log_qy)


def clamped_kl_y(kl_y: Tensor, gamma: float, mode: str = "document") -> Tensor:
    """Eq. 5: KL_y = max(gamma, KL(q(y|x) || p(y))), the training penalty of unsupervised clustering.

    ``kl_y`` (B,) per document; ``mode="document"`` clamps each document's KL (the paper writes it for one
    x), ``mode="batch"`` clamps the batch mean and spreads it evenly (sum = B max(gamma, mean KL)). The
    gradient is exactly zero where the clamp is active; gamma <= 0 returns ``kl_y``. (B,) -> (B,)."""
    if gamma <= 0:
        return kl_y
    if mode == "document":
        return kl_y.clamp(min=gamma)
    if mode == "batch":
        return kl_y.mean().clamp(min=gamma).expand_as(kl_y)
    raise ValueError(f"unknown KL_y floor mode {mode!r} (document or batch)")


def marginal_kl_to_uniform(log_qy: Tensor) -> Tensor:
    """KL(q_bar(y) || p(y)) for the batch marginal q_bar(y) = 1/B sum_b q(y|x_b) and uniform p(y): log C - H(q_bar).

    The class-balance term of later work (the marginal entropy of CatGAN, Springenberg 2016, and IMSAT, Hu et al.
    2017; not the paper's): 0 when the batch spreads evenly over the C classes, log C when every document puts
    all its mass on one class, whatever each q(y|x_b)'s own entropy. ``log_qy`` (B, C) log-probabilities ->
    a scalar; computed in log space (log-sum-exp over the batch)."""
    log_marginal = torch.logsumexp(log_qy.float(), dim=0) - math.log(log_qy.size(0))
    return categorical_kl_to_uniform(log_marginal)


def free_bits_kl(kl_per_dim: Tensor, free_bits: float) -> Tensor:
    """The batch's KL penalty under free bits (Kingma et al. 2016; later work, not the paper's):
    B sum_j max(lambda, mean_b KL_bj) for ``kl_per_dim`` (B, D); lambda = 0 gives sum_b KL_b. A scalar."""
    if free_bits > 0 and kl_per_dim.size(0) > 0:
        return kl_per_dim.size(0) * kl_per_dim.mean(0).clamp(min=free_bits).sum()
    return kl_per_dim.sum()


def importance_weighted_bound(log_likelihoods: Tensor, z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log p(x) >= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) (Burda et al. 2016), z_k ~ q(z|x).

    ``log_likelihoods`` (B, K) = log p(x|z_k); ``z`` (B, K, D) the samples; ``mu``, ``logvar`` (B, D) of
    q(z|x). The log-sum-exp is taken in fp32. Returns (B,); K = 1 is an unbiased estimate of the ELBO."""
    log_weights = (log_likelihoods.float() + log_standard_normal(z)
                   - log_normal_diag(z, mu.unsqueeze(1), logvar.unsqueeze(1)))
    return torch.logsumexp(log_weights, dim=1) - math.log(z.size(1))


def bound_over_uniform_labels(per_label_bounds: Tensor) -> Tensor:
    """log p(x) >= log sum_y p(y) exp(B_y) for bounds B_y (B, C) on log p(x|y) (e.g. importance-weighted,
    one per label) and uniform p(y): the semi-supervised VAE's importance-weighted bound. (B, C) -> (B,)."""
    return torch.logsumexp(per_label_bounds.float(), dim=1) - math.log(per_label_bounds.size(1))

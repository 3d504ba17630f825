"""Active units, I(x; z) and the scoring of target words: batch sums, bounds, adaptive softmax."""
import math

import pytest
import torch
from fairseq.data import Dictionary

from user_dir.modules import (
    DilatedCNNDecoder,
    active_units,
    active_units_from_moments,
    latent_moments,
    log_normal_diag,
    mutual_information,
    mutual_information_upper_bound,
    target_log_probs,
)


def summed(mu, logvar, batch):
    parts = [latent_moments(mu[i: i + batch], logvar[i: i + batch]) for i in range(0, mu.size(0), batch)]
    return {key: sum(p[key] for p in parts) for key in parts[0]}


def test_active_units_from_batch_sums_equal_the_whole_set_count():
    torch.manual_seed(0)
    scale = torch.tensor([1.0, 0.5, 0.2, 0.11, 0.09, 0.01, 0.0, 0.0])  # variances 1 ... 0.0081, 0
    mu = torch.randn(3000, 8) * scale
    logvar = torch.randn(3000, 8) * 0.1
    assert active_units(mu) == active_units_from_moments(summed(mu, logvar, 37)) == 4


def test_mutual_information_bound_is_zero_without_dependence_and_exact_for_a_gaussian_aggregate():
    torch.manual_seed(0)
    n, d = 20000, 3
    logvar = torch.full((n, d), math.log(0.25))
    # q(z|x) the same for every x (but not the prior): no information
    assert mutual_information_upper_bound(summed(torch.full((n, d), 0.7), logvar, 1000)) == pytest.approx(0, abs=1e-9)
    # mu ~ N(0, a^2 I), sigma^2 = 0.25: q(z) = N(0, (a^2 + 0.25) I), I(x; z) = d/2 log((a^2 + 0.25) / 0.25)
    a = torch.tensor([1.0, 0.5, 0.1])
    mu = torch.randn(n, d) * a
    exact = float(0.5 * torch.log((a ** 2 + 0.25) / 0.25).sum())
    bound = mutual_information_upper_bound(summed(mu, logvar, 999))
    assert bound == pytest.approx(exact, rel=0.02)
    assert mutual_information(mu[:4000], logvar[:4000]) == pytest.approx(exact, abs=0.1)


def test_mutual_information_bound_is_above_the_estimate_for_a_clustered_aggregate():
    """Two well-separated clusters of posteriors: q(z) is not Gaussian; I(x; z) = log 2 nats at most."""
    torch.manual_seed(0)
    n = 4000
    mu = torch.zeros(n, 1)
    mu[: n // 2] = 3.0
    mu[n // 2:] = -3.0
    logvar = torch.full((n, 1), math.log(0.01))
    estimate = mutual_information(mu, logvar)
    assert estimate == pytest.approx(math.log(2), abs=0.02)
    assert mutual_information_upper_bound(summed(mu, logvar, 500)) > estimate + 1.0


def test_log_density_keeps_float64():
    z = torch.randn(5, 3, dtype=torch.float64)
    out = log_normal_diag(z, torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64) + 1e-9)
    assert out.dtype == torch.float64
    assert log_normal_diag(z.float(), torch.zeros(3), torch.zeros(3)).dtype == torch.float32


@pytest.mark.parametrize("cutoff", [None, [10, 30]])
def test_target_log_probs_match_the_full_distribution_and_train(cutoff):
    d = Dictionary()
    for i in range(60):
        d.add_symbol(f"w{i}")
    torch.manual_seed(0)
    decoder = DilatedCNNDecoder(d, embed_dim=8, channels=16, inner_channels=8, kernel_size=3, dilations=[1, 2],
                                dropout=0.1, adaptive_softmax_cutoff=cutoff)
    tokens = torch.randint(4, len(d), (3, 7))
    target = tokens.roll(-1, dims=1)
    target[0, -2:] = d.pad()
    decoder.eval()
    out = decoder(tokens)
    full = decoder.get_normalized_probs(out, log_probs=True, sample=None)  # every word of every tail
    assert torch.allclose(full.exp().sum(-1), torch.ones(3, 7), atol=1e-5)
    expected = full.gather(-1, target.unsqueeze(-1)).squeeze(-1).masked_fill(target.eq(d.pad()), 0.0)
    assert torch.allclose(target_log_probs(decoder, out, target), expected, atol=1e-5)
    decoder.train()  # fairseq's AdaptiveSoftmax.get_log_prob cannot be back-propagated; this can
    target_log_probs(decoder, decoder(tokens), target).sum().backward()
    assert all(p.grad is not None for p in decoder.parameters() if p.requires_grad)

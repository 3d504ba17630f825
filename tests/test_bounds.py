"""The paper's quantities in user_dir/modules/bounds.py, each against an independent computation, and
each formula in one place only."""
import math
import re
from pathlib import Path

import torch

from user_dir.modules import (
    bound_over_uniform_labels,
    categorical_kl_to_uniform,
    gaussian_kl,
    importance_weighted_bound,
    labelled_bound,
    labelled_joint_bound,
    negative_elbo,
    reparameterize,
    unlabelled_bound,
)

USER_DIR = Path(__file__).resolve().parent.parent / "user_dir"


def test_negative_elbo_and_labelled_bounds_have_the_right_signs():
    log_likelihood, kl = torch.tensor([-50.0, -20.0]), torch.tensor([3.0, 0.5])
    assert torch.equal(negative_elbo(log_likelihood, kl), torch.tensor([53.0, 20.5]))
    assert torch.equal(labelled_bound(log_likelihood, kl), torch.tensor([-53.0, -20.5]))
    assert torch.allclose(labelled_joint_bound(torch.tensor([-53.0]), 4), torch.tensor([-53.0 - math.log(4)]))


def test_unlabelled_bound_is_the_expectation_minus_the_categorical_kl():
    log_qy = torch.log_softmax(torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]]), -1)
    per_label = torch.tensor([[-10.0, -12.0, -30.0], [-5.0, -6.0, -7.0]])  # L(x, y) for each y
    q = log_qy.exp()
    expected = (q * per_label).sum(-1) - (q * (log_qy + math.log(3))).sum(-1)
    assert torch.allclose(unlabelled_bound((q * per_label).sum(-1), log_qy), expected)
    assert categorical_kl_to_uniform(log_qy)[1].abs() < 1e-6  # uniform q: no KL


def test_importance_weighted_bound_with_one_sample_estimates_the_elbo():
    """K = 1: log p(x|z) + log p(z) - log q(z|x), whose mean over z ~ q is log p(x|z) - KL (Monte Carlo)."""
    torch.manual_seed(0)
    mu, logvar = torch.tensor([[0.5, -1.0]], dtype=torch.float64), torch.tensor([[-0.5, 0.3]], dtype=torch.float64)
    z = reparameterize(mu, logvar, num_samples=200000)  # (1, K, 2)
    per_sample = importance_weighted_bound(torch.zeros(200000, 1, dtype=torch.float64),
                                           z.transpose(0, 1), mu.expand(200000, 2), logvar.expand(200000, 2))
    assert abs(float(per_sample.mean()) + float(gaussian_kl(mu, logvar))) < 0.01
    # K samples at once: log-mean-exp of the K single-sample weights
    k_bound = importance_weighted_bound(torch.zeros(1, 200000, dtype=torch.float64), z, mu, logvar)
    assert torch.allclose(k_bound, torch.logsumexp(per_sample, 0, keepdim=True) - math.log(200000))


def test_bound_over_uniform_labels_is_log_mean_exp():
    per_label = torch.tensor([[-3.0, -1.0, -2.0]])
    assert torch.allclose(bound_over_uniform_labels(per_label), per_label.exp().mean(-1).log())


def test_each_kl_formula_has_one_home():
    """The Gaussian KL (1/2 (mu^2 + e^logvar - 1 - logvar)) and the log p(y) = -log C of the labelled bound
    are written only in bounds.py."""
    patterns = [r"exp\(\)\s*-\s*1(\.0)?\s*-\s*logvar", r"\+\s*logvar\.exp\(\)", r"math\.log\(num_classes\)"]
    homes = {}
    for path in USER_DIR.rglob("*.py"):
        text = path.read_text()
        for pattern in patterns:
            if re.search(pattern, text):
                homes.setdefault(pattern, []).append(path.name)
    assert homes == {pattern: ["bounds.py"] for pattern in patterns}, homes

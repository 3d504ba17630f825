"""The VAE's math: KL, importance-weighted bound, eval-lm scores, schedules, causality given z, + init."""
import math

import pytest
import torch
from fairseq.sequence_scorer import SequenceScorer

from helpers import build_text_vae
from user_dir.criterions.elbo import ElboCriterion, ElboCriterionConfig
from user_dir.models.components import targets_from_source
from user_dir.modules import (
    cyclical_schedule,
    gaussian_kl,
    linear_schedule,
    log_normal_diag,
    log_standard_normal,
    reparameterize,
)


def test_kl_closed_form_matches_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    z = reparameterize(mu, logvar, num_samples=200_000)  # (3, N, 4)
    log_ratio = log_normal_diag(z, mu.unsqueeze(1), logvar.unsqueeze(1)) - log_standard_normal(z)
    mc, stderr = log_ratio.mean(1), log_ratio.std(1) / math.sqrt(z.size(1))
    assert ((mc - gaussian_kl(mu, logvar)).abs() < 4 * stderr + 1e-3).all()


def test_kl_is_zero_exactly_at_the_prior_and_positive_elsewhere():
    assert torch.equal(gaussian_kl(torch.zeros(2, 5), torch.zeros(2, 5)), torch.zeros(2))
    assert (gaussian_kl(torch.full((1, 5), 0.1), torch.zeros(1, 5)) > 0).all()


def test_extreme_log_variances_stay_finite():
    from user_dir.modules import GaussianPosterior

    head = GaussianPosterior(3, 2)
    with torch.no_grad():
        head.proj.weight.fill_(1e4)
    for sign in (1.0, -1.0):
        mu, logvar = head(torch.full((1, 3), sign))
        kl = gaussian_kl(mu.clamp(-1e3, 1e3), logvar)
        assert torch.isfinite(logvar).all() and torch.isfinite(kl).all()


def test_linear_and_cyclical_schedules():
    assert linear_schedule(0, 0.01, 1.0, 10000) == pytest.approx(0.01)
    assert linear_schedule(5000, 0.01, 1.0, 10000) == pytest.approx(0.505)
    assert linear_schedule(10000, 0.01, 1.0, 10000) == 1.0
    assert linear_schedule(40000, 0.01, 1.0, 10000) == 1.0
    assert cyclical_schedule(0, 0.0, 1.0, 100, 0.5) == 0.0
    assert cyclical_schedule(25, 0.0, 1.0, 100, 0.5) == pytest.approx(0.5)
    assert cyclical_schedule(75, 0.0, 1.0, 100, 0.5) == 1.0
    assert cyclical_schedule(125, 0.0, 1.0, 100, 0.5) == pytest.approx(0.5)


def test_criterion_beta_follows_update_count():
    crit = ElboCriterion(task=None, cfg=ElboCriterionConfig(kl_weight_start=0.01, kl_anneal_updates=100))
    crit.set_num_updates(50)
    assert crit.annealing.beta == pytest.approx(0.505)
    restored = ElboCriterion(task=None, cfg=ElboCriterionConfig(kl_weight_start=0.01, kl_anneal_updates=100))
    restored.set_num_updates(50)  # what the task does with the trainer's count after a resume
    assert restored.annealing.beta == crit.annealing.beta


def first_batch(task_data, split="valid", n=8):
    from fairseq.data import data_utils
    from fairseq.data import Dictionary

    from user_dir.data import DocumentDataset

    d = Dictionary.load(str(task_data / "dict.txt"))
    docs = data_utils.load_indexed_dataset(str(task_data / split), d)
    ds = DocumentDataset(docs, d, max_doc_tokens=100, shuffle=False)
    return d, ds.collater([ds[i] for i in range(n)])


@pytest.mark.parametrize("arch", ["text_vae_scnn", "text_vae_lstm"])
def test_eval_scores_sum_to_the_elbo(tiny_data, arch):
    d, batch = first_batch(tiny_data)
    torch.manual_seed(0)
    model = build_text_vae(d, arch).eval()
    src, lengths = batch["net_input"]["src_tokens"], batch["net_input"]["src_lengths"]
    assert torch.equal(targets_from_source(src, lengths, d.eos(), d.pad()), batch["target"])
    with torch.no_grad():
        out, extra = model(src, lengths)
        scores = model.get_normalized_probs((out, extra), log_probs=True, sample={"target": batch["target"]})
        terms = extra["terms"]
        # independently: log p(x|z) from the decoder's logits at the same z, minus the analytic KL
        logits, _ = model.decoder(src, latent=terms["z"])
        lp = torch.log_softmax(logits.double(), -1).gather(-1, batch["target"].unsqueeze(-1)).squeeze(-1)
        lp = lp.masked_fill(batch["target"].eq(d.pad()), 0).sum(-1)
        expected = lp - gaussian_kl(terms["mu"], terms["logvar"]).double()
        got = scores.gather(-1, batch["target"].unsqueeze(-1)).squeeze(-1)
        got = got.masked_fill(batch["target"].eq(d.pad()), 0).sum(-1)
    assert torch.allclose(got.double(), expected, atol=1e-3)
    assert torch.allclose(extra["bound"].double(), expected, atol=1e-3)


def test_sequence_scorer_sums_to_the_bound_with_softmax_batch(tiny_data):
    """fairseq-eval-lm's scorer (also with a --softmax-batch that splits the batch) adds up to each
    document's bound."""
    d, batch = first_batch(tiny_data)
    torch.manual_seed(0)
    model = build_text_vae(d).eval()
    for softmax_batch in (None, 7):
        torch.manual_seed(1)
        hypos = SequenceScorer(d, softmax_batch=softmax_batch).generate([model], batch)
        torch.manual_seed(1)
        with torch.no_grad():
            _, extra = model(**batch["net_input"])
        totals = torch.stack([h[0]["positional_scores"].sum() for h in hypos])
        assert torch.allclose(totals, extra["bound"], atol=1e-3)


def test_causal_given_z(tiny_data):
    d, batch = first_batch(tiny_data, n=2)
    torch.manual_seed(0)
    model = build_text_vae(d).eval()
    src = batch["net_input"]["src_tokens"]
    z = torch.randn(2, 4)
    t = 4
    with torch.no_grad():
        base = model.decoder(src, latent=z)[0][:, : t + 1]
        other = src.clone()
        other[:, t + 1:] = d.unk()
        assert torch.equal(model.decoder(other, latent=z)[0][:, : t + 1], base)
        other = src.clone()
        other[:, t] = d.unk()
        assert not torch.equal(model.decoder(other, latent=z)[0][:, : t + 1], base)


def train_in_process(model, batches, updates=150, lr=3e-3):
    crit = ElboCriterion(task=None, cfg=ElboCriterionConfig(kl_weight_start=0.1, kl_anneal_updates=50))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for step in range(updates):
        crit.set_num_updates(step)
        loss, n, _ = crit(model, batches[step % len(batches)])
        opt.zero_grad()
        (loss / n).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def trained_vae(tiny_data):
    from fairseq.data import Dictionary, data_utils

    from user_dir.data import DocumentDataset

    d = Dictionary.load(str(tiny_data / "dict.txt"))
    ds = DocumentDataset(data_utils.load_indexed_dataset(str(tiny_data / "train"), d), d, 100, shuffle=False)
    batches = [ds.collater([ds[j] for j in range(i, i + 16)]) for i in range(0, 96, 16)]
    torch.manual_seed(0)
    return d, train_in_process(build_text_vae(d), batches)


def test_importance_weighted_bound_is_tighter_than_elbo(trained_vae, tiny_data):
    d, model = trained_vae
    _, batch = first_batch(tiny_data, n=16)
    src, lengths, tgt = batch["net_input"]["src_tokens"], batch["net_input"]["src_lengths"], batch["target"]
    torch.manual_seed(0)
    with torch.no_grad():
        elbo = torch.stack([model(src, lengths)[1]["bound"] for _ in range(20)]).mean(0)
        iw = {k: model.importance_weighted_bound(src, lengths, tgt, num_samples=k, chunk_size=25)
              for k in (1, 10, 200)}
    kl = model(src, lengths)[1]["terms"]["kl"]
    assert kl.mean() > 0.05, "the tiny VAE should use its code, or the test proves nothing"
    # log p(x) >= IW_K >= ELBO in expectation; averaged over documents the ordering is clear
    assert iw[200].mean() >= elbo.mean()
    assert iw[200].mean() >= iw[10].mean() - 0.05 >= iw[1].mean() - 0.5
    assert (iw[200] >= elbo - 0.5).all()


def test_batched_and_looped_iw_agree(trained_vae, tiny_data):
    d, model = trained_vae
    _, batch = first_batch(tiny_data, n=4)
    args = (batch["net_input"]["src_tokens"], batch["net_input"]["src_lengths"], batch["target"])
    with torch.no_grad():
        torch.manual_seed(3)
        batched = model.importance_weighted_bound(*args, num_samples=60, chunk_size=60)
        torch.manual_seed(3)
        looped = model.importance_weighted_bound(*args, num_samples=60, chunk_size=1)
    assert (batched - looped).abs().max() < 1e-4


@pytest.mark.parametrize("arch,extra", [("text_vae_scnn", {}), ("text_vae_lstm", {}),
                                        ("text_vae_scnn", {"adaptive_softmax_cutoff": "10,20"})])
def test_blockwise_reconstruction_equals_full_log_softmax(tiny_data, monkeypatch, arch, extra):
    """``reconstruction`` (output layer in blocks of rows, scored positions only) gives the same
    log p(x|z) as the full (B, T, V) log-softmax, with padded documents and several blocks."""
    import user_dir.models.components as components

    d, batch = first_batch(tiny_data, n=6)
    torch.manual_seed(0)
    model = build_text_vae(d, arch=arch, **extra).eval()
    src, tgt = batch["net_input"]["src_tokens"], batch["target"]
    assert tgt.eq(d.pad()).any(), "the batch should hold documents of different lengths"
    monkeypatch.setattr(components, "CPU_LOGITS_PER_BLOCK", 17 * len(d))  # blocks of 17 rows
    with torch.no_grad():
        z = torch.randn(src.size(0), model.cfg.latent_dim)
        full = model.document_reconstruction(model.decoder(src, latent=z), tgt)
        blockwise = model.reconstruction(src, tgt, z)
    assert torch.allclose(blockwise, full, atol=1e-4, rtol=0)


def test_adaptive_softmax_bound_scores(tiny_data):
    """With fairseq's AdaptiveSoftmax the scores are still normalised and still sum to the bound."""
    d, batch = first_batch(tiny_data)
    torch.manual_seed(0)
    model = build_text_vae(d, adaptive_softmax_cutoff="10,20").eval()
    assert model.decoder.inner.adaptive_softmax is not None
    with torch.no_grad():
        out, extra = model(**batch["net_input"])
        scores = model.get_normalized_probs((out, extra), log_probs=True, sample={"target": batch["target"]})
        logits, _ = model.decoder(batch["net_input"]["src_tokens"], latent=extra["terms"]["z"])
        lprobs = model.decoder.get_normalized_probs((logits, None), log_probs=True)
    assert torch.allclose(lprobs.exp().sum(-1), torch.ones(lprobs.shape[:2]), atol=1e-4)
    tgt = batch["target"]
    got = scores.gather(-1, tgt.unsqueeze(-1)).squeeze(-1).masked_fill(tgt.eq(d.pad()), 0).sum(-1)
    rec = lprobs.gather(-1, tgt.unsqueeze(-1)).squeeze(-1).masked_fill(tgt.eq(d.pad()), 0).sum(-1)
    assert torch.allclose(got, rec - extra["terms"]["kl"], atol=1e-3)
    assert torch.allclose(got, extra["bound"], atol=1e-3)

"""Semi-supervised VAE math: Gumbel-softmax, temperature schedule, U(x), the KL_y clamp (Eq. 5), the class-balance
term, eval scores."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import TINY_VAE
from user_dir.criterions.semisupervised_elbo import SemiSupervisedElboConfig, SemiSupervisedElboCriterion
from user_dir.models.architectures import DILATIONS
from user_dir.models.components import document_terms
from user_dir.models.semisup_vae import SemiSupervisedVAE, SemiSupVAEConfig
from user_dir.modules import (categorical_kl_to_uniform, clamped_kl_y, exponential_decay, marginal_kl_to_uniform,
                              unlabelled_bound)
from user_dir.modules.gumbel import gumbel_softmax


def terms_of(model, *args, **kwargs):
    """The per-document terms of one forward pass (``document_terms``)."""
    return document_terms(model(*args, **kwargs))


def u_of(terms):
    """U(x) of those terms."""
    return unlabelled_bound(terms["elbo_y"], terms["log_qy"])


def build_semisup(dictionary, num_classes=3, **overrides):
    cfg = SemiSupVAEConfig(**{**TINY_VAE, "num_classes": num_classes, **overrides})
    cfg.decoder_dilations = DILATIONS["scnn"]
    task = SimpleNamespace(target_dictionary=dictionary, source_dictionary=dictionary, num_classes=num_classes)
    return SemiSupervisedVAE.build_model(cfg, task)


def random_docs(dictionary, lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    pad, eos = dictionary.pad(), dictionary.eos()
    src = torch.full((len(lengths), max(lengths) + 1), pad, dtype=torch.long)
    for i, n in enumerate(lengths):
        src[i, 0] = eos
        src[i, 1: n + 1] = torch.randint(dictionary.nspecial, len(dictionary), (n,), generator=g)
    return src, torch.tensor([n + 1 for n in lengths])


# ---------------------------------------------------------------- Gumbel-softmax (Eq. 4)

@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("tau", [0.1, 1.0, 5.0])
def test_gumbel_softmax_rows_sum_to_one(hard, tau):
    torch.manual_seed(0)
    logits = torch.randn(64, 5) * 3
    y = gumbel_softmax(logits, tau, hard=hard)
    assert y.dtype == torch.float32
    assert torch.allclose(y.sum(-1), torch.ones(64), atol=1e-5)
    assert (y >= 0).all()
    if hard:
        assert set(y.detach().unique().tolist()) <= {0.0, 1.0}


def test_gumbel_softmax_fp16_logits_computed_in_fp32():
    y = gumbel_softmax(torch.randn(8, 4).half(), 0.5)
    assert y.dtype == torch.float32 and torch.isfinite(y).all()


def test_straight_through_samples_follow_the_class_probabilities():
    torch.manual_seed(0)
    probs = torch.tensor([0.6, 0.25, 0.1, 0.05])
    n = 40000
    logits = probs.log().expand(n, 4) + 7.0  # an offset: log_softmax must normalise
    mean = gumbel_softmax(logits, temperature=0.7, hard=True).mean(0)
    stderr = (probs * (1 - probs) / n).sqrt()
    assert ((mean - probs).abs() < 5 * stderr).all(), (mean, probs)
    # and a wrong distribution would be detected at this sample size
    assert ((mean - torch.tensor([0.25, 0.25, 0.25, 0.25])).abs() > 5 * stderr).any()


def test_straight_through_passes_the_soft_gradient():
    torch.manual_seed(0)
    logits = torch.randn(4, 3, requires_grad=True)
    torch.manual_seed(1)
    hard = gumbel_softmax(logits, 0.5, hard=True)
    (hard * torch.arange(3.0)).sum().backward()
    grad_hard = logits.grad.clone()
    logits.grad = None
    torch.manual_seed(1)
    soft = gumbel_softmax(logits, 0.5, hard=False)
    (soft * torch.arange(3.0)).sum().backward()
    assert grad_hard.abs().sum() > 0
    assert torch.allclose(grad_hard, logits.grad)


def test_temperature_follows_the_update_count(dictionary):
    model = build_semisup(dictionary, gumbel_temperature_start=2.0, gumbel_temperature_min=0.5,
                          gumbel_temperature_rate=1e-3)
    assert model.temperature == 2.0
    model.set_num_updates(1000)  # what the trainer does at every step and after loading a checkpoint
    assert model.temperature == pytest.approx(2.0 * math.exp(-1.0))
    assert model.temperature == exponential_decay(1000, 2.0, 0.5, 1e-3)
    model.set_num_updates(10 ** 6)
    assert model.temperature == 0.5
    restored = build_semisup(dictionary, gumbel_temperature_start=2.0, gumbel_temperature_min=0.5,
                             gumbel_temperature_rate=1e-3)
    restored.set_num_updates(1000)
    model.set_num_updates(1000)
    assert restored.temperature == model.temperature
    src, lengths = random_docs(dictionary, [5, 7])
    terms = terms_of(model, src, lengths, sum_over_labels=False)
    assert float(terms["temperature"]) == pytest.approx(model.temperature)


# ---------------------------------------------------------------- U(x)

@pytest.fixture(scope="module")
def label_sensitive_model(dictionary):
    """Tiny model whose q(y|x) is far from uniform and whose decoder depends strongly on y."""
    torch.manual_seed(0)
    model = build_semisup(dictionary, num_classes=3, straight_through=True)
    with torch.no_grad():
        model.encoder.classifier.mlp[-1].bias.copy_(torch.tensor([1.2, 0.0, -0.8]))
        model.encoder.classifier.mlp[-1].weight.mul_(0.1)
        model.decoder.latent_proj[0].weight[:, -3:].mul_(15.0)
        model.decoder.inner.input_proj.weight[:, TINY_VAE["decoder_embed_dim"]:].mul_(5.0)
    return model.eval()  # no dropout; forward(sum_over_labels=False) still gives the training terms


def test_exact_unlabelled_bound_matches_gumbel_estimate_in_expectation(dictionary, label_sensitive_model):
    model = label_sensitive_model
    src, lengths = random_docs(dictionary, [6, 11], seed=1)
    copies = 4000
    src_r, len_r = src.repeat(copies, 1), lengths.repeat(copies)
    with torch.no_grad():
        torch.manual_seed(2)
        gumbel = u_of(terms_of(model, src_r, len_r, sum_over_labels=False)).view(copies, 2)
        torch.manual_seed(3)
        exact_terms = terms_of(model, src_r, len_r, sum_over_labels=True)
        exact = u_of(exact_terms).view(copies, 2)
        # L(x, c) per label: the test only discriminates if they differ
        per_label = []
        for c in range(3):
            terms = terms_of(model, src_r, len_r, label=torch.full((2 * copies,), c), sum_over_labels=False)
            per_label.append(terms["elbo_y"].view(copies, 2).mean(0))
        per_label = torch.stack(per_label, 1)  # (2, C)
    tol = 4 * (gumbel.var(0) / copies + exact.var(0) / copies).sqrt() + 1e-3
    assert ((gumbel.mean(0) - exact.mean(0)).abs() < tol).all(), (gumbel.mean(0), exact.mean(0), tol)
    # exact = sum_y q(y|x) L(x, y) - KL(q || uniform), by hand
    log_qy = exact_terms["log_qy"].view(copies, 2, 3)[0]
    by_hand = (log_qy.exp() * per_label).sum(-1) - categorical_kl_to_uniform(log_qy)
    assert torch.allclose(exact.mean(0), by_hand, atol=float(tol.max()))
    # weighting the labels uniformly instead of by q(y|x) would fail the comparison
    uniform = per_label.mean(-1) - categorical_kl_to_uniform(log_qy)
    assert ((uniform - exact.mean(0)).abs() > 3 * tol).any()


def test_gradients_reach_q_y_through_the_gumbel_sample(dictionary):
    torch.manual_seed(0)
    model = build_semisup(dictionary).train()
    src, lengths = random_docs(dictionary, [6, 9, 4])
    terms = terms_of(model, src, lengths)  # all unlabelled
    (-terms["rec"].sum()).backward()  # reconstruction only: no KL_y, no classification term
    assert model.encoder.classifier.mlp[-1].weight.grad.abs().sum() > 0


def test_labelled_documents_use_their_label(dictionary):
    torch.manual_seed(0)
    model = build_semisup(dictionary).eval()
    src, lengths = random_docs(dictionary, [6, 9, 4])
    terms = terms_of(model, src, lengths, label=torch.tensor([2, -1, 0]), sum_over_labels=False)
    assert terms["labelled"].tolist() == [True, False, True]
    assert terms["y"][0].tolist() == [0.0, 0.0, 1.0] and terms["y"][2].tolist() == [1.0, 0.0, 0.0]
    assert 0.0 < terms["y"][1].max() <= 1.0


def test_eval_scores_sum_to_the_unlabelled_bound(dictionary):
    from fairseq.sequence_scorer import SequenceScorer

    torch.manual_seed(0)
    model = build_semisup(dictionary).eval()
    src, lengths = random_docs(dictionary, [6, 9, 4])
    d = dictionary
    from user_dir.models.components import targets_from_source

    target = targets_from_source(src, lengths, d.eos(), d.pad())
    batch = {"net_input": {"src_tokens": src, "src_lengths": lengths}, "target": target,
             "id": torch.arange(3), "ntokens": int(lengths.sum()), "nsentences": 3}
    torch.manual_seed(1)
    hypos = SequenceScorer(d).generate([model], batch)
    torch.manual_seed(1)
    with torch.no_grad():
        _, extra = model(src, lengths)
    totals = torch.stack([h[0]["positional_scores"].sum() for h in hypos])
    assert torch.allclose(totals, extra["bound"], atol=1e-3)
    assert torch.isfinite(extra["bound"]).all() and (extra["bound"] < 0).all()


def test_importance_weighted_bound_over_labels_is_finite_and_close(dictionary, label_sensitive_model):
    model = label_sensitive_model
    src, lengths = random_docs(dictionary, [6, 11], seed=1)
    from user_dir.models.components import targets_from_source

    target = targets_from_source(src, lengths, dictionary.eos(), dictionary.pad())
    torch.manual_seed(0)
    with torch.no_grad():
        iw = model.importance_weighted_bound_over_labels(src, lengths, target, num_samples=200, chunk_size=50)
        u = torch.stack([u_of(terms_of(model, src, lengths, sum_over_labels=True)) for _ in range(50)])
    assert torch.isfinite(iw).all()
    # log p(x) >= IW_200 and, on average, IW_200 >= U(x) (up to Monte Carlo noise)
    assert (iw >= u.mean(0) - 0.5).all()


# ---------------------------------------------------------------- the clustering clamp, Eq. 5

def test_clamp_gradient_is_zero_below_the_floor():
    kl = torch.tensor([0.2, 0.8, 1.5], requires_grad=True)
    clamped_kl_y(kl, 1.0, "document").sum().backward()
    assert kl.grad.tolist() == [0.0, 0.0, 1.0]


def test_clamp_through_q_y_logits():
    near_uniform = torch.tensor([[0.1, 0.0, -0.1, 0.05]], requires_grad=True)
    kl = categorical_kl_to_uniform(F.log_softmax(near_uniform, -1))
    assert 0 < float(kl) < 0.5
    clamped_kl_y(kl, 0.5).sum().backward()
    assert torch.equal(near_uniform.grad, torch.zeros_like(near_uniform))
    confident = torch.tensor([[5.0, 0.0, 0.0, 0.0]], requires_grad=True)
    kl = categorical_kl_to_uniform(F.log_softmax(confident, -1))
    assert float(kl) > 0.5
    clamped_kl_y(kl, 0.5).sum().backward()
    assert confident.grad.abs().sum() > 0


def test_batch_mode_clamps_the_batch_mean():
    kl = torch.tensor([0.1, 0.3, 1.4], requires_grad=True)  # mean 0.6
    clamped_kl_y(kl, 0.7, "batch").sum().backward()
    assert kl.grad.tolist() == [0.0, 0.0, 0.0]
    kl.grad = None
    out = clamped_kl_y(kl, 0.5, "batch")
    assert float(out.sum()) == pytest.approx(1.8)
    out.sum().backward()
    assert kl.grad.tolist() == [1.0, 1.0, 1.0]


def model_and_batch(dictionary, labels):
    """A freshly built tiny semi-supervised VAE and a batch of 4 random documents with ``labels``
    (-1: unlabelled), as the criterion receives it; also the documents' tokens and lengths."""
    from user_dir.models.components import targets_from_source

    torch.manual_seed(0)
    model = build_semisup(dictionary)
    src, lengths = random_docs(dictionary, [6, 9, 4, 7])
    sample = {"net_input": {"src_tokens": src, "src_lengths": lengths},
              "target": targets_from_source(src, lengths, dictionary.eos(), dictionary.pad()),
              "label": torch.tensor(labels), "nsentences": 4, "ntokens": int(lengths.sum())}
    return model, sample, src, lengths


def test_criterion_applies_the_floor_only_in_training(dictionary):
    model, sample, src, lengths = model_and_batch(dictionary, [-1, -1, 1, -1])
    gamma = 0.9

    def loss_with(floor, train=True):
        crit = SemiSupervisedElboCriterion(None, SemiSupervisedElboConfig(kl_y_floor=floor, alpha=3.0))
        model.train(train)
        torch.manual_seed(5)
        loss, n, log = crit(model, sample)
        return loss, log

    base, log = loss_with(0.0)
    floored, _ = loss_with(gamma)
    with torch.no_grad():
        log_qy = model.encoder.classify(src, lengths)[1]
    kl = categorical_kl_to_uniform(log_qy)[torch.tensor([0, 1, 3])]
    assert (kl < gamma).all()  # near-uniform q(y|x) at initialisation
    assert float(floored - base) == pytest.approx(float((kl.clamp(min=gamma) - kl).sum()), abs=1e-3)
    assert log["n_lab"] == 1 and log["n_unl"] == 3
    # evaluation: unclamped, every document unlabelled, accuracy against the true labels
    ev_floor, ev_log = loss_with(gamma, train=False)
    ev_base, _ = loss_with(0.0, train=False)
    assert float(ev_floor) == pytest.approx(float(ev_base), abs=1e-4)
    assert ev_log["n_lab"] == 0 and ev_log["n_unl"] == 4 and ev_log["n_acc"] == 1


# ---------------------------------------------------------------- the class-balance term (later work)

def test_marginal_kl_sees_the_batch_not_the_documents():
    c = 4
    confident = torch.full((c, c), -30.0).fill_diagonal_(0.0).log_softmax(-1)  # each document sure, classes differ
    assert float(categorical_kl_to_uniform(confident).mean()) == pytest.approx(math.log(c), abs=1e-4)
    assert float(marginal_kl_to_uniform(confident)) == pytest.approx(0.0, abs=1e-4)
    collapsed = confident[[2, 2, 2, 2]]
    assert float(marginal_kl_to_uniform(collapsed)) == pytest.approx(math.log(c), abs=1e-4)
    log_q = torch.randn(7, c).log_softmax(-1)
    p = log_q.exp().mean(0)
    assert float(marginal_kl_to_uniform(log_q)) == pytest.approx(float((p * (p * c).log()).sum()), abs=1e-5)


def test_criterion_adds_the_class_balance_term_on_unlabelled_documents_in_training(dictionary):
    model, sample, src, lengths = model_and_batch(dictionary, [-1, 0, -1, -1])

    def loss_with(weight, train=True):
        crit = SemiSupervisedElboCriterion(None, SemiSupervisedElboConfig(class_balance=weight))
        model.train(train)
        torch.manual_seed(5)
        return crit(model, sample)[0]

    with torch.no_grad():
        log_qy = model.encoder.classify(src, lengths)[1]
    expected = 2.5 * 3 * marginal_kl_to_uniform(log_qy[torch.tensor([0, 2, 3])])
    assert float(expected) > 0
    assert float(loss_with(2.5) - loss_with(0.0)) == pytest.approx(float(expected), abs=1e-4)
    assert float(loss_with(2.5, train=False)) == pytest.approx(float(loss_with(0.0, train=False)), abs=1e-4)


def test_validation_cluster_accuracy_is_over_the_whole_split_not_averaged_per_batch(dictionary):
    """``cluster_acc`` sums the cluster-by-label counts of every batch (and worker), then names clusters."""
    from fairseq import metrics

    from user_dir.evaluation.clustering import cluster_label_counts, majority_accuracy_of_counts

    model, sample, src, lengths = model_and_batch(dictionary, [0, 1, 1, 0])
    model.eval()
    crit = SemiSupervisedElboCriterion(None, SemiSupervisedElboConfig())
    logs = [crit(model, sample)[2]]
    sample["label"] = torch.tensor([1, 1, 1, 0])
    logs.append(crit(model, sample)[2])
    with torch.no_grad():
        clusters = model.encoder.classify(src, lengths)[1].argmax(-1).repeat(2)
    counts = cluster_label_counts(clusters.numpy(), np.array([0, 1, 1, 0, 1, 1, 1, 0]), 3, 3)
    with metrics.aggregate(new_root=True) as agg:
        for log in logs:  # fairseq reduces the validation batches one at a time into one aggregator
            SemiSupervisedElboCriterion.reduce_metrics([log])
        acc = agg.get_smoothed_values()["cluster_acc"]
    assert acc == pytest.approx(100.0 * majority_accuracy_of_counts(counts), abs=0.01)
    model.train()
    assert "_cluster_label_counts" not in crit(model, sample)[2]  # training logs no counts

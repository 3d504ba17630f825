"""Clustering baselines of Yang et al. 2017, Table 5: document features -> PCA -> GMM.

Features of every document: the final hidden state of an LSTM language model
(``lstm_lm``, a fairseq ``lstm_lm`` checkpoint: "LSTM + GMM") or the mean of
q(z|x) of a VAE (``vae_mean``, a text_vae or semisup_vae checkpoint: "SCNN-VAE +
GMM"). For each PCA size (paper: 8, 16, 32): PCA fitted on the training split,
then a GaussianMixture with one component per class fitted on the training split
``runs`` times (paper: 10) with different seeds; the fit with the highest
training log-likelihood is kept (never chosen by accuracy). Accuracy: the
cluster -> label protocol of Makhzani et al. (2015) (``clustering.py``): the
responsibilities on the validation split assign a label to each cluster, the
test accuracy is reported. The PCA size with the best validation accuracy (same
assignment) is the selected one. Each row also has the majority naming of
``clustering.py`` (not the paper's), whose own PCA size is chosen the same way.

Used by ``scripts/gmm_baseline.py`` and the reproduction harness (Table 5).
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .clustering import majority_accuracy, makhzani_accuracy

FEATURES = ("lstm_lm", "vae_mean")


def split_features(features: str, checkpoint: str, data: str, splits: Sequence[str] = ("train", "valid", "test"),
                   max_doc_tokens: int = 400, batch_size: int = 32) -> Tuple[Dict, Dict, List[str]]:
    """Features of the (training, assignment, test) splits: ({role: (N, H)}, {role: labels or None}, label names),
    roles "train", "valid", "test". The assignment and test splits must have labels."""
    from .checkpoints import load_checkpoint
    from .features import load_split, lstm_lm_features, vae_features

    if features not in FEATURES:
        raise ValueError(f"unknown features {features!r}: choose one of {FEATURES}")
    if len(splits) != 3:
        raise ValueError(f"need training, assignment and test splits, got {list(splits)}")
    model = load_checkpoint(checkpoint, data=data)[0] if features == "vae_mean" else None
    feats, labels, names = {}, {}, []
    for role, split in zip(("train", "valid", "test"), splits):
        dataset, _, names = load_split(data, split, max_doc_tokens)
        if role != "train" and dataset.labels is None:
            raise ValueError(f"split {split} has no labels in {data}/label")
        if features == "lstm_lm":
            feats[role] = lstm_lm_features(checkpoint, dataset, batch_size)
        else:
            feats[role] = vae_features(model, dataset, batch_size)["mu"]
        labels[role] = None if dataset.labels is None else np.asarray(dataset.labels)
    if not names:
        raise ValueError(f"no labels in {data}/label")
    return feats, labels, names


def fit_best_gmm(train, num_components: int, runs: int, seed: int, covariance_type: str):
    """Best of ``runs`` GaussianMixture fits by mean training log-likelihood; (gmm, [loglik per run])."""
    from sklearn.mixture import GaussianMixture

    best, scores = None, []
    for run in range(runs):
        gmm = GaussianMixture(n_components=num_components, covariance_type=covariance_type,
                              random_state=seed + run, max_iter=200, reg_covar=1e-5)
        gmm.fit(train)
        score = float(gmm.score(train))
        scores.append(score)
        if best is None or score > best[1]:
            best = (gmm, score)
    return best[0], scores


def gmm_baseline(feats: dict, labels: dict, num_classes: int, pca_dims, runs: int, seed: int,
                 covariance_type: str = "full") -> List[Dict]:
    """One row per PCA size: pca_dim, train_loglik_best, train_loglik_runs, valid_accuracy, test_accuracy
    (%), cluster_labels, selected (the best validation accuracy); the same for majority naming:
    valid_accuracy_majority, test_accuracy_majority, selected_majority."""
    from sklearn.decomposition import PCA

    if runs < 1 or not pca_dims:
        raise ValueError(f"need at least one GMM run and one PCA size (runs={runs}, pca_dims={list(pca_dims)})")
    rows = []
    for dim in pca_dims:
        dim_eff = min(dim, feats["train"].shape[1], feats["train"].shape[0])
        pca = PCA(n_components=dim_eff, random_state=seed).fit(feats["train"])
        proj = {s: pca.transform(f) for s, f in feats.items()}
        gmm, scores = fit_best_gmm(proj["train"], num_classes, runs, seed, covariance_type)
        q_valid, q_test = gmm.predict_proba(proj["valid"]), gmm.predict_proba(proj["test"])
        result = makhzani_accuracy(q_valid, labels["valid"], q_test, labels["test"])
        majority = majority_accuracy(q_valid, labels["valid"], q_test, labels["test"])
        rows.append({
            "pca_dim": int(dim_eff), "train_loglik_best": max(scores), "train_loglik_runs": scores,
            "valid_accuracy": 100.0 * result["valid_accuracy"], "test_accuracy": 100.0 * result["accuracy"],
            "cluster_labels": [int(c) for c in result["cluster_labels"]],
            "valid_accuracy_majority": 100.0 * majority["valid_accuracy"],
            "test_accuracy_majority": 100.0 * majority["accuracy"],
        })
    for suffix in ("", "_majority"):
        best = max(range(len(rows)), key=lambda i: rows[i]["valid_accuracy" + suffix])
        for i, row in enumerate(rows):
            row["selected" + suffix] = i == best
    return rows

#!/usr/bin/env python
"""Clustering baselines of Yang et al. 2017, Table 5: features -> PCA -> GMM.

Features of every document: the final hidden state of an LSTM language model
(``--features lstm_lm``, a fairseq ``lstm_lm`` checkpoint: "LSTM + GMM") or the
mean of q(z|x) of a VAE (``--features vae_mean``, a text_vae or semisup_vae
checkpoint: "SCNN-VAE + GMM"). For each PCA size in ``--pca-dims`` (paper: 8,
16, 32): PCA fitted on the training split, then a GaussianMixture with one
component per class fitted on the training split ``--runs`` times (paper: 10)
with different seeds; the run with the highest training log-likelihood is kept
(never chosen by accuracy). Accuracy: the cluster -> label protocol of
Makhzani et al. (2015) (see user_dir/evaluation/clustering.py): the
responsibilities on the validation split assign a label to each cluster, the
test accuracy is reported. The row with the best validation accuracy (same
assignment) is marked as the selected PCA size.

  python scripts/gmm_baseline.py --data DATA-BIN --features lstm_lm --checkpoint lm/checkpoint_best.pt \
      --out results/gmm_lstm   # writes results/gmm_lstm.md and results/gmm_lstm.json
"""
import argparse
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import user_dir  # noqa: E402,F401
from user_dir.evaluation.clustering import assign_clusters, cluster_accuracy, makhzani_accuracy  # noqa: E402
from user_dir.evaluation.checkpoints import load_checkpoint  # noqa: E402
from user_dir.evaluation.features import load_split, lstm_lm_features, vae_features  # noqa: E402


def int_list(text):
    return [int(x) for x in text.split(",") if x]


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


def run_baseline(feats: dict, labels: dict, num_classes: int, pca_dims, runs: int, seed: int,
                 covariance_type: str = "full"):
    from sklearn.decomposition import PCA

    rows = []
    for dim in pca_dims:
        dim_eff = min(dim, feats["train"].shape[1], feats["train"].shape[0])
        pca = PCA(n_components=dim_eff, random_state=seed).fit(feats["train"])
        proj = {s: pca.transform(f) for s, f in feats.items()}
        gmm, scores = fit_best_gmm(proj["train"], num_classes, runs, seed, covariance_type)
        q_valid, q_test = gmm.predict_proba(proj["valid"]), gmm.predict_proba(proj["test"])
        result = makhzani_accuracy(q_valid, labels["valid"], q_test, labels["test"])
        valid_acc = cluster_accuracy(q_valid.argmax(1), labels["valid"],
                                     assign_clusters(q_valid, labels["valid"])["labels"])
        rows.append({
            "pca_dim": int(dim_eff), "train_loglik_best": max(scores), "train_loglik_runs": scores,
            "valid_accuracy": 100.0 * valid_acc, "test_accuracy": 100.0 * result["accuracy"],
            "cluster_labels": [int(c) for c in result["cluster_labels"]],
        })
    best = max(range(len(rows)), key=lambda i: rows[i]["valid_accuracy"])
    for i, row in enumerate(rows):
        row["selected"] = i == best
    return rows


def markdown(rows, title: str, names) -> str:
    lines = [f"### {title}", "", "| PCA dim | best train log-lik | valid acc (%) | test acc (%) | cluster labels |",
             "|---|---|---|---|---|"]
    for row in rows:
        mark = " **(selected by valid)**" if row["selected"] else ""
        labels = ", ".join(names[c] if 0 <= c < len(names) else str(c) for c in row["cluster_labels"])
        lines.append(f"| {row['pca_dim']}{mark} | {row['train_loglik_best']:.3f} | {row['valid_accuracy']:.2f} | "
                     f"{row['test_accuracy']:.2f} | {labels} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="data-bin folder with label/ (train, valid, test)")
    p.add_argument("--features", choices=("lstm_lm", "vae_mean"), required=True)
    p.add_argument("--checkpoint", required=True, help="lstm_lm checkpoint, or text_vae / semisup_vae checkpoint")
    p.add_argument("--pca-dims", type=int_list, default=[8, 16, 32])
    p.add_argument("--runs", type=int, default=10, help="GMM restarts; the best by training likelihood is kept")
    p.add_argument("--covariance-type", default="full", choices=("full", "diag", "tied", "spherical"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-doc-tokens", type=int, default=400)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--splits", default="train,valid,test", help="training, assignment and test splits")
    p.add_argument("--out", default=None, help="write OUT.md and OUT.json (default: print only)")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    train_split, valid_split, test_split = args.splits.split(",")

    model = None
    if args.features == "vae_mean":
        model, _ = load_checkpoint(args.checkpoint, data=args.data)
    feats, labels, names = {}, {}, []
    for role, split in (("train", train_split), ("valid", valid_split), ("test", test_split)):
        dataset, _, names = load_split(args.data, split, args.max_doc_tokens)
        if role != "train" and dataset.labels is None:
            sys.exit(f"error: split {split} has no labels in {args.data}/label")
        if args.features == "lstm_lm":
            feats[role] = lstm_lm_features(args.checkpoint, dataset, args.batch_size)
        else:
            feats[role] = vae_features(model, dataset, args.batch_size)["mu"]
        labels[role] = None if dataset.labels is None else np.asarray(dataset.labels)
    if not names:
        sys.exit(f"error: no labels in {args.data}/label")
    rows = run_baseline(feats, labels, len(names), args.pca_dims, args.runs, args.seed, args.covariance_type)
    title = (f"{'LSTM-LM state' if args.features == 'lstm_lm' else 'VAE posterior mean'} + PCA + GMM "
             f"({len(names)} components, best of {args.runs} by training likelihood)")
    md = markdown(rows, title, names)
    print(md)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".md", "w") as f:
            f.write(md)
        with open(args.out + ".json", "w") as f:
            json.dump({"features": args.features, "checkpoint": args.checkpoint, "data": args.data,
                       "label_names": names, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Clustering baselines of Yang et al. 2017, Table 5: features -> PCA -> GMM.

Features (``--features lstm_lm``: the final state of a fairseq ``lstm_lm``,
"LSTM + GMM"; ``--features vae_mean``: the mean of q(z|x) of a text_vae or
semisup_vae, "SCNN-VAE + GMM") -> PCA to each of ``--pca-dims`` (paper: 8, 16,
32) -> GMM with one component per class, best of ``--runs`` (paper: 10) by
training likelihood -> Makhzani et al.'s cluster -> label assignment on the
validation split, test accuracy; the PCA size with the best validation accuracy
is marked as selected. Majority naming (each cluster named by the most frequent
label of its validation documents; not the paper's) is reported beside it. The protocol is ``user_dir/evaluation/gmm.py``; this
script prints and writes its rows.

  python scripts/gmm_baseline.py --data DATA-BIN --features lstm_lm --path lm/checkpoint_best.pt \
      --out results/gmm_lstm   # writes results/gmm_lstm.md and results/gmm_lstm.json
"""
import argparse
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402

import user_dir  # noqa: E402,F401
from user_dir.evaluation.gmm import FEATURES, gmm_baseline, split_features  # noqa: E402


def int_list(text):
    return [int(x) for x in text.split(",") if x]


def markdown(rows, title: str, names) -> str:
    lines = [f"### {title}", "", "| PCA dim | best train log-lik | valid acc (%) | test acc (%) | cluster labels "
             "| majority naming: valid acc (%) | test acc (%) |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        mark = " **(selected by valid)**" if row["selected"] else ""
        mark_majority = " **(selected by valid)**" if row["selected_majority"] else ""
        labels = ", ".join(names[c] if 0 <= c < len(names) else str(c) for c in row["cluster_labels"])
        lines.append(f"| {row['pca_dim']}{mark} | {row['train_loglik_best']:.3f} | {row['valid_accuracy']:.2f} | "
                     f"{row['test_accuracy']:.2f} | {labels} | {row['valid_accuracy_majority']:.2f}{mark_majority} "
                     f"| {row['test_accuracy_majority']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="data-bin folder with label/ (train, valid, test)")
    p.add_argument("--features", choices=FEATURES, required=True)
    p.add_argument("--path", "--checkpoint", required=True, help="lstm_lm checkpoint, or text_vae / semisup_vae checkpoint (--checkpoint: the same, as earlier recorded commands spell it)")
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

    try:
        feats, labels, names = split_features(args.features, args.path, args.data, args.splits.split(","),
                                              args.max_doc_tokens, args.batch_size)
        rows = gmm_baseline(feats, labels, len(names), args.pca_dims, args.runs, args.seed, args.covariance_type)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    title = (f"{'LSTM-LM state' if args.features == 'lstm_lm' else 'VAE posterior mean'} + PCA + GMM "
             f"({len(names)} components, best of {args.runs} by training likelihood)")
    md = markdown(rows, title, names)
    print(md)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".md", "w") as f:
            f.write(md)
        with open(args.out + ".json", "w") as f:
            json.dump({"features": args.features, "checkpoint": args.path, "data": args.data,
                       "label_names": names, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

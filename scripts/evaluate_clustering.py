#!/usr/bin/env python
"""Clustering accuracy of a semi-supervised VAE checkpoint (Yang et al. 2017, Sec. 3.5, Table 5).

Protocol of Makhzani et al. (2015): for each cluster i, the validation document
assigned to i with the highest q(y=i|x) gives its true label to cluster i; each
test document gets its cluster's label (argmax q(y|x)); the test accuracy is
reported. Labels of the validation split are used for the assignment only.

  python scripts/evaluate_clustering.py --checkpoint ckpt/checkpoint_best.pt [--data DATA-BIN] \
      [--valid-subset valid] [--test-subset test] [--json out.json]
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

import user_dir  # noqa: E402,F401  (registers the plugin)
from user_dir.evaluation.clustering import assign_clusters, cluster_accuracy, makhzani_accuracy  # noqa: E402
from user_dir.evaluation.checkpoints import load_checkpoint  # noqa: E402
from user_dir.evaluation.features import load_split, vae_features  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="semisup_vae checkpoint")
    p.add_argument("--data", default=None, help="data-bin folder (default: the one saved in the checkpoint)")
    p.add_argument("--valid-subset", default="valid")
    p.add_argument("--test-subset", default="test")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)

    model, task = load_checkpoint(args.checkpoint, data=args.data)
    if not hasattr(model.encoder, "classify"):
        sys.exit("error: the checkpoint has no q(y|x) (use a semisup_vae checkpoint, or scripts/gmm_baseline.py)")
    data = args.data or task.args.data
    max_doc = task.args.max_doc_tokens
    feats = {}
    for split in (args.valid_subset, args.test_subset):
        dataset, _, names = load_split(data, split, max_doc)
        if dataset.labels is None:
            sys.exit(f"error: split {split} has no labels in {data}/label")
        feats[split] = vae_features(model, dataset, args.batch_size)
    valid, test = feats[args.valid_subset], feats[args.test_subset]
    result = makhzani_accuracy(np.exp(valid["log_qy"]), valid["labels"], np.exp(test["log_qy"]), test["labels"])
    valid_acc = cluster_accuracy(valid["log_qy"].argmax(1), valid["labels"],
                                 assign_clusters(np.exp(valid["log_qy"]), valid["labels"])["labels"])
    out = {
        "checkpoint": args.checkpoint,
        "test_accuracy": 100.0 * result["accuracy"],
        "valid_accuracy_same_assignment": 100.0 * valid_acc,
        "cluster_labels": [names[i] for i in result["cluster_labels"]],
        "fallback_clusters": [int(i) for i in np.nonzero(result["fallback"])[0]],
        "test_cluster_sizes": [int(n) for n in result["test_cluster_sizes"]],
        "num_test": int(len(test["labels"])),
    }
    print(f"clustering accuracy on {args.test_subset}: {out['test_accuracy']:.2f} % "
          f"({out['num_test']} documents; {args.valid_subset}: {out['valid_accuracy_same_assignment']:.2f} %)")
    for i, (name, size) in enumerate(zip(out["cluster_labels"], out["test_cluster_sizes"])):
        extra = " (no validation document in this cluster: best q(y=i|x) overall)" if i in out["fallback_clusters"] else ""
        print(f"  cluster {i} -> {name}: {size} test documents{extra}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

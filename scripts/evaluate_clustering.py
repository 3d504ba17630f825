#!/usr/bin/env python
"""Clustering accuracy of a semi-supervised VAE checkpoint (Yang et al. 2017, Sec. 3.5, Table 5).

Protocol of Makhzani et al. (2015), in user_dir/evaluation/posterior_clustering.py:
for each cluster i, the validation document assigned to i with the highest
q(y=i|x) gives its true label to cluster i; each test document gets its
cluster's label (argmax q(y|x)); the test accuracy is reported. Also printed:
majority naming (each cluster named by the most frequent label of its validation
documents; not the paper's protocol, lower variance).

  python scripts/evaluate_clustering.py --path ckpt/checkpoint_best.pt [--data DATA-BIN] \
      [--valid-subset valid] [--test-subset test] [--json out.json]
"""
import argparse
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402

import user_dir  # noqa: E402,F401  (registers the plugin)
from user_dir.evaluation.checkpoints import load_checkpoint  # noqa: E402
from user_dir.evaluation.posterior_clustering import qy_clustering  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--path", "--checkpoint", required=True, help="semisup_vae checkpoint (--checkpoint: the same, as earlier recorded commands spell it)")
    p.add_argument("--data", default=None, help="data-bin folder (default: the one saved in the checkpoint)")
    p.add_argument("--valid-subset", default="valid")
    p.add_argument("--test-subset", default="test")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)

    model, task = load_checkpoint(args.path, data=args.data)
    try:
        result = qy_clustering(model, args.data or task.args.data, args.valid_subset, args.test_subset,
                               task.args.max_doc_tokens, args.batch_size)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    out = {"checkpoint": args.path, **result}
    print(f"clustering accuracy on {args.test_subset}: {out['test_accuracy']:.2f} % "
          f"({out['num_test']} documents; {args.valid_subset}: {out['valid_accuracy_same_assignment']:.2f} %)")
    print(f"majority naming (not the paper's protocol): {out['test_accuracy_majority']:.2f} % "
          f"({args.valid_subset}: {out['valid_accuracy_majority']:.2f} %)")
    for i, (name, size) in enumerate(zip(out["cluster_labels"], out["test_cluster_sizes"])):
        extra = " (no validation document in this cluster: best q(y=i|x) overall)" if i in out["fallback_clusters"] else ""
        print(f"  cluster {i} -> {name}: {size} test documents{extra}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

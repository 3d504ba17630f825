#!/usr/bin/env python
"""Posterior means of z coloured by label (Yang et al. 2017, Fig. 3).

For a text_vae checkpoint the mean of q(z|x); for a semisup_vae checkpoint the
mean of q(z|x, y) with y = argmax q(y|x). With a 2-D z the means are plotted
directly, otherwise they are projected to 2-D by PCA (fitted on the plotted
split). Writes a PNG (matplotlib, Agg backend).

  python scripts/plot_latent.py --path ckpt/checkpoint_best.pt --split test --out latent.png

A text VAE with a 2-D latent space for the figure (paper Fig. 3), e.g. on BBC:

  fairseq-train DATA-BIN --user-dir user_dir --task text_vae --arch text_vae_scnn --latent-dim 2 \
      --criterion elbo --kl-anneal-updates 2000 --optimizer adam --lr 1e-3 --adam-betas '(0.5, 0.999)' \
      --batch-size 32 --max-epoch 10 --save-dir ckpt/vae2d --cpu
  python scripts/plot_latent.py --path ckpt/vae2d/checkpoint_best.pt --split test --out vae2d.png

(or pass ``--train-2d DATA-BIN --save-dir DIR [--max-update N]`` to run that
training here first, with small sizes, and plot its checkpoint_last.pt).
"""
import argparse
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402

import user_dir  # noqa: E402,F401
from user_dir.evaluation.checkpoints import load_checkpoint  # noqa: E402
from user_dir.evaluation.latent_plot import posterior_means_2d, scatter_by_label  # noqa: E402


def train_2d(data: str, save_dir: str, max_update: int, extra) -> str:
    """Runs fairseq-train for a small SCNN text VAE with --latent-dim 2; returns its last checkpoint."""
    bin_dir = os.path.dirname(sys.executable)
    cmd = [os.path.join(bin_dir, "fairseq-train"), data, "--user-dir", os.path.join(REPO_ROOT, "user_dir"),
           "--task", "text_vae", "--arch", "text_vae_scnn", "--latent-dim", "2", "--criterion", "elbo",
           "--optimizer", "adam", "--lr", "1e-3", "--adam-betas", "(0.5, 0.999)", "--batch-size", "32",
           "--max-update", str(max_update), "--kl-anneal-updates", str(max(1, max_update // 2)),
           "--save-dir", save_dir, "--no-epoch-checkpoints", "--cpu", *extra]
    print("running: " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    return os.path.join(save_dir, "checkpoint_last.pt")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--path", "--checkpoint", help="text_vae or semisup_vae checkpoint (--checkpoint: the same, as earlier recorded commands spell it)")
    p.add_argument("--data", default=None, help="data-bin folder (default: the one saved in the checkpoint)")
    p.add_argument("--split", default="test")
    p.add_argument("--out", required=True, help="PNG file")
    p.add_argument("--max-docs", type=int, default=0, help="plot at most this many documents (0: all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--train-2d", metavar="DATA", default=None, help="first train a 2-D text VAE on DATA")
    p.add_argument("--save-dir", default=None, help="with --train-2d: where to save it")
    p.add_argument("--max-update", type=int, default=1000, help="with --train-2d")
    args, extra = p.parse_known_args(argv)
    torch.manual_seed(args.seed)
    if args.train_2d:
        if not args.save_dir:
            p.error("--train-2d needs --save-dir")
        args.path = train_2d(args.train_2d, args.save_dir, args.max_update, extra)
        args.data = args.data or args.train_2d
    elif extra:
        p.error(f"unrecognised arguments: {' '.join(extra)}")
    if not args.path:
        p.error("give --path (or --train-2d)")

    model, task = load_checkpoint(args.path, data=args.data)
    try:
        latent = posterior_means_2d(model, args.data or task.args.data, args.split, task.args.max_doc_tokens,
                                    max_docs=args.max_docs, seed=args.seed)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    scatter_by_label(latent["points"], latent["labels"], latent["names"], args.out, latent["title"],
                     latent["xlabel"], latent["ylabel"])
    print(f"wrote {args.out}: {len(latent['labels'])} documents, z of dimension {latent['latent_dim']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

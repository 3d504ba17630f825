#!/usr/bin/env python
"""Posterior means of z coloured by label (Yang et al. 2017, Fig. 3).

For a text_vae checkpoint the mean of q(z|x); for a semisup_vae checkpoint the
mean of q(z|x, y) with y = argmax q(y|x). With a 2-D z the means are plotted
directly, otherwise they are projected to 2-D by PCA (fitted on the plotted
split). Writes a PNG (matplotlib, Agg backend).

  python scripts/plot_latent.py --checkpoint ckpt/checkpoint_best.pt --split test --out latent.png

A text VAE with a 2-D latent space for the figure (paper Fig. 3), e.g. on BBC:

  fairseq-train DATA-BIN --user-dir user_dir --task text_vae --arch text_vae_scnn --latent-dim 2 \
      --criterion elbo --kl-anneal-updates 2000 --optimizer adam --lr 1e-3 --adam-betas '(0.5, 0.999)' \
      --batch-size 32 --max-epoch 10 --save-dir ckpt/vae2d --cpu
  python scripts/plot_latent.py --checkpoint ckpt/vae2d/checkpoint_best.pt --split test --out vae2d.png

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

import numpy as np  # noqa: E402
import torch  # noqa: E402

import user_dir  # noqa: E402,F401
from user_dir.evaluation.checkpoints import load_checkpoint  # noqa: E402
from user_dir.evaluation.features import load_split, vae_features  # noqa: E402


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


def project_2d(means: np.ndarray):
    if means.shape[1] == 2:
        return means, "z_1", "z_2"
    if means.shape[1] == 1:
        return np.concatenate([means, np.zeros_like(means)], axis=1), "z_1", ""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2).fit(means)
    ratio = pca.explained_variance_ratio_
    return pca.transform(means), f"PC 1 ({100 * ratio[0]:.0f} %)", f"PC 2 ({100 * ratio[1]:.0f} %)"


def plot(points, labels, names, out: str, title: str, xlabel: str, ylabel: str):
    import logging

    import matplotlib

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    for c, name in enumerate(names):
        mask = labels == c
        if mask.any():
            ax.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.6, label=f"{name} ({int(mask.sum())})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(markerscale=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="text_vae or semisup_vae checkpoint")
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
        args.checkpoint = train_2d(args.train_2d, args.save_dir, args.max_update, extra)
        args.data = args.data or args.train_2d
    elif extra:
        p.error(f"unrecognised arguments: {' '.join(extra)}")
    if not args.checkpoint:
        p.error("give --checkpoint (or --train-2d)")

    model, task = load_checkpoint(args.checkpoint, data=args.data)
    if not hasattr(model, "encoder") or not (hasattr(model.encoder, "classify") or hasattr(model.encoder, "posterior")):
        sys.exit("error: the checkpoint has no latent variable z (text_vae or semisup_vae needed)")
    dataset, _, names = load_split(args.data or task.args.data, args.split, task.args.max_doc_tokens)
    if dataset.labels is None:
        sys.exit(f"error: split {args.split} has no labels")
    feats = vae_features(model, dataset)
    means, labels = feats["mu"], feats["labels"]
    if args.max_docs and len(means) > args.max_docs:
        keep = np.random.RandomState(args.seed).choice(len(means), args.max_docs, replace=False)
        means, labels = means[keep], labels[keep]
    points, xlabel, ylabel = project_2d(means)
    kind = "q(z|x,y), y = argmax q(y|x)" if "log_qy" in feats else "q(z|x)"
    title = f"posterior means of {kind}, {args.split} ({means.shape[1]}-D z" + (", PCA)" if means.shape[1] > 2 else ")")
    plot(points, labels, names, args.out, title, xlabel, ylabel)
    print(f"wrote {args.out}: {len(means)} documents, z of dimension {means.shape[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

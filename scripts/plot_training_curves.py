"""Training curves (reconstruction, KL, NLL bound) from fairseq-train json logs, as one PNG.

    python scripts/plot_training_curves.py --log SCNN-VAE=runs/vae/train.log --log SCNN-LM=runs/lm/train.log \
        --out curves.png
"""
import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def plot(logs: dict, out: Path):
    from user_dir.reproduction.tables import pyplot

    plt = pyplot()

    from user_dir.evaluation.training_log import read_training_log

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name, path in logs.items():
        rec = read_training_log(path)
        for ax, key, title in zip(axes, ("rec", "kl", "nll"), ("reconstruction -log p(x|z)", "KL(q(z|x) || p(z))",
                                                             "NLL bound (rec + KL)")):
            train = [r for r in rec["train_inner"] if key in r]
            if train:
                ax.plot([r["num_updates"] for r in train], [r[key] for r in train], label=f"{name} train")
            valid = [r for r in rec["valid"] if key in r]
            if valid:
                ax.plot([r["num_updates"] for r in valid], [r[key] for r in valid], "o--", label=f"{name} valid")
            ax.set_title(title + " (nats/doc)")
            ax.set_xlabel("updates")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log", action="append", required=True, metavar="NAME=PATH")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    logs = {}
    for item in args.log:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).exists():
            sys.exit(f"error: --log expects NAME=PATH of an existing log, got {item!r}")
        logs[name] = path
    print(f"wrote {plot(logs, Path(args.out))}")


if __name__ == "__main__":
    main()

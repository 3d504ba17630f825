"""Training curves (reconstruction, KL, NLL bound) from fairseq-train json logs, as one PNG.

    python scripts/plot_training_curves.py --log SCNN-VAE=runs/vae/train.log --log SCNN-LM=runs/lm/train.log \
        --out curves.png
"""
import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


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
    from user_dir.evaluation.training_log import plot_training_curves

    print(f"wrote {plot_training_curves(logs, Path(args.out))}")


if __name__ == "__main__":
    main()

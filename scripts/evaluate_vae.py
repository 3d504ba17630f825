"""One row of the paper's Table 2 for a checkpoint: NLL (KL), PPL, IW-NLL, MI, active units.

    python scripts/evaluate_vae.py --path runs/vae/checkpoint_best.pt --data DATA-BIN --split test \
        [--iw-samples 500] [--out-json row.json] [--out-md row.md] [--name SCNN-VAE]
"""
import argparse
import json
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--path", required=True, help="checkpoint")
    p.add_argument("--data", required=True, help="binarised data folder")
    p.add_argument("--split", default="test")
    p.add_argument("--name", default=None, help="row label (default: the checkpoint's architecture)")
    p.add_argument("--iw-samples", type=int, default=500, help="K of the importance-weighted NLL (0: skip)")
    p.add_argument("--iw-chunk", type=int, default=50, help="samples decoded at once")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-docs", type=int, default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out-json")
    p.add_argument("--out-md")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    from user_dir.evaluation.checkpoints import CheckpointError, load_checkpoint
    from user_dir.evaluation.document_bounds import BOUND_TABLE_HEADER, bound_markdown_row, score_split

    try:
        model, task = load_checkpoint(args.path, args.data)
    except CheckpointError as exc:
        sys.exit(f"error: {exc}")
    task.load_dataset(args.split)
    result = score_split(model, task, args.split, args.batch_size, args.iw_samples, args.iw_chunk, args.max_docs)
    result.update(checkpoint=str(args.path), seed=args.seed, name=args.name or type(model).__name__)
    table = BOUND_TABLE_HEADER + "\n" + bound_markdown_row(result["name"], result)
    print(table)
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(result, indent=2) + "\n")
    if args.out_md:
        Path(args.out_md).write_text(table + "\n")
    return result


if __name__ == "__main__":
    main()

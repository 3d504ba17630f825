"""Reconstruct documents, sample from the prior, or interpolate between two documents
in latent space with a trained ``text_vae`` checkpoint (paper Sec. 2; Bowman et al. 2015).

    python scripts/generate_vae.py --path CKPT --data DATA-BIN [--beam 5] reconstruct --num 3
    python scripts/generate_vae.py --path CKPT --data DATA-BIN [--sampling] prior --num 5
    python scripts/generate_vae.py --path CKPT --data DATA-BIN interpolate --indices 0 1 --steps 5

Reconstructions and prior samples are also available through fairseq-generate with
``--model-overrides "{'latent_source': 'mean'}"`` (or ``'prior'``); see README.md.
"""
import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--path", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--sampling", action="store_true", help="sample instead of beam search")
    p.add_argument("--max-len", type=int, default=60)
    p.add_argument("--seed", type=int, default=1)
    sub = p.add_subparsers(dest="mode", required=True)
    rec = sub.add_parser("reconstruct", help="encode (posterior mean) and decode documents of --split")
    rec.add_argument("--num", type=int, default=3)
    pri = sub.add_parser("prior", help="decode z ~ N(0, I)")
    pri.add_argument("--num", type=int, default=5)
    inter = sub.add_parser("interpolate", help="decode points on the line between two posterior means")
    inter.add_argument("--indices", type=int, nargs=2, default=[0, 1])
    inter.add_argument("--steps", type=int, default=5)
    args = p.parse_args(argv)

    from user_dir.evaluation.checkpoints import CheckpointError, load_checkpoint
    from user_dir.evaluation.latent_decoding import decode_latents
    from user_dir.models.components import LatentVariableModel

    torch.manual_seed(args.seed)
    try:
        model, task = load_checkpoint(args.path, args.data)
    except CheckpointError as exc:
        sys.exit(f"error: {exc}")
    model.eval()
    if not isinstance(model, LatentVariableModel):
        sys.exit(f"error: {args.path} has no latent code (a language model?); use fairseq-generate to sample it")
    decode = lambda z: decode_latents(model, z, args.max_len, args.beam, args.sampling)  # noqa: E731
    if args.mode == "prior":
        for i, text in enumerate(decode(torch.randn(args.num, model.cfg.latent_dim))):
            print(f"prior-{i}\t{text}")
        return
    task.load_dataset(args.split)
    dataset = task.dataset(args.split)
    indices = list(range(min(args.num, len(dataset)))) if args.mode == "reconstruct" else args.indices
    for i in indices:
        if not 0 <= i < len(dataset):
            sys.exit(f"error: document index {i} out of range for split {args.split} ({len(dataset)} documents)")
    batch = dataset.collater([dataset[i] for i in indices])
    with torch.no_grad():
        mu = model.encoder(**batch["net_input"])["mu"][0]
    dictionary = task.source_dictionary
    if args.mode == "reconstruct":
        for j, text in zip(indices, decode(mu)):
            print(f"source-{j}\t{dictionary.string(dataset[j]['target'][:-1])}")
            print(f"recon-{j}\t{text}")
        return
    alphas = torch.linspace(0, 1, args.steps)
    z = torch.stack([(1 - a) * mu[0] + a * mu[1] for a in alphas])
    for a, text in zip(alphas.tolist(), decode(z)):
        print(f"{a:.2f}\t{text}")


if __name__ == "__main__":
    main()

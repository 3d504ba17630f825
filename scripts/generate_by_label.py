#!/usr/bin/env python
"""Text generated with a fixed z and every label y (Yang et al. 2017, Table 6).

z is drawn from the prior N(0, I) with ``--seed``, or is the posterior mean of
one document (``--split valid --index 3``, or ``--text "tokenised words"``): the
mean of q(z|x, y) with y = argmax q(y|x). Then [z; onehot(y)] is decoded for
every class y by beam search (fairseq's SequenceGenerator on the model's
incremental decoder, ``--beam``, paper: 10) and/or by ancestral sampling.
Output: one line per label, ``label<TAB>text``; lines starting with ``#`` are
headers.

  python scripts/generate_by_label.py --path ckpt/checkpoint_best.pt --seed 3 --beam 10 --max-len 60
"""
import argparse
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import user_dir  # noqa: E402,F401
from user_dir.evaluation.checkpoints import load_checkpoint  # noqa: E402
from user_dir.evaluation.latent_decoding import decode_latents  # noqa: E402
from user_dir.evaluation.features import load_split  # noqa: E402
from user_dir.models.semisup_vae import SemiSupervisedVAE  # noqa: E402


def fixed_z(model, args, dictionary, data, max_doc):
    """(1, D) z: prior draw, or posterior mean of a document."""
    latent_dim = model.cfg.latent_dim
    if args.text is None and args.split is None:
        g = torch.Generator().manual_seed(args.seed)
        return torch.randn(1, latent_dim, generator=g), "z ~ N(0, I), seed %d" % args.seed
    if args.text is not None:
        words = dictionary.encode_line(args.text, add_if_not_exist=False, append_eos=False).long()
        src = torch.cat([torch.tensor([dictionary.eos()]), words]).unsqueeze(0)
        what = "posterior mean of the given text"
    else:
        dataset, _, _ = load_split(data, args.split, max_doc)
        src = dataset[args.index]["source"].unsqueeze(0)
        what = f"posterior mean of {args.split} document {args.index}"
    lengths = torch.tensor([src.size(1)])
    with torch.no_grad():
        h, log_qy = model.encoder.classify(src, lengths)
        y = F.one_hot(log_qy.argmax(-1), log_qy.size(-1)).float()
        mu, _ = model.encoder.posterior_given(h, y)
    return mu.float(), what + f" (y = argmax q(y|x) = {int(log_qy.argmax())})"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--path", "--checkpoint", required=True, help="semisup_vae checkpoint (--checkpoint: the same, as earlier recorded commands spell it)")
    p.add_argument("--data", default=None, help="data-bin folder (default: the one saved in the checkpoint)")
    p.add_argument("--seed", type=int, default=1, help="seed of the prior draw of z and of the sampling")
    p.add_argument("--split", default=None, help="take z from a document of this split ...")
    p.add_argument("--index", type=int, default=0, help="... with this index")
    p.add_argument("--text", default=None, help="take z from this (tokenised) text")
    p.add_argument("--decoding", choices=("beam", "sample", "both"), default="both")
    p.add_argument("--beam", type=int, default=10)
    p.add_argument("--num-samples", type=int, default=1, help="samples per label")
    p.add_argument("--sampling-topk", type=int, default=-1)
    p.add_argument("--max-len", type=int, default=50)
    args = p.parse_args(argv)

    model, task = load_checkpoint(args.path, data=args.data)
    if not isinstance(model, SemiSupervisedVAE):
        sys.exit("error: not a semisup_vae checkpoint (no label variable y)")
    dictionary = model.decoder.dictionary
    names = task.label_names
    num_classes = model.num_classes
    z, what = fixed_z(model, args, dictionary, args.data or task.args.data, task.args.max_doc_tokens)
    y = torch.eye(num_classes)
    latents = torch.cat([z.expand(num_classes, -1), y], dim=-1)
    print(f"# {what}")
    if args.decoding in ("beam", "both"):
        print(f"# beam search, beam {args.beam}")
        for c, text in enumerate(decode_latents(model, latents, args.max_len, beam=args.beam)):
            print(f"{names[c]}\t{text}")
    if args.decoding in ("sample", "both"):
        print(f"# sampling ({args.num_samples} per label, seed {args.seed})")
        torch.manual_seed(args.seed)
        for _ in range(args.num_samples):
            for c, text in enumerate(decode_latents(model, latents, args.max_len, sampling=True,
                                                    sampling_topk=args.sampling_topk)):
                print(f"{names[c]}\t{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

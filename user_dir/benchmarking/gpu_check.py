"""The GPU check: ``text_vae_lcnn`` at the paper's sizes trained through ``fairseq-train`` with
``--fp16``, ``--bf16`` and ``--amp``, scored with ``fairseq-eval-lm`` after each; tokens/s (fairseq's
``wps``), FLOP utilisation against the GPU's dense bf16 peak, and a failure on any non-finite loss.

The CPU smoke mode runs the same pipeline at tiny sizes in fp32 (fp16, bf16 and amp need CUDA:
fairseq's ``--fp16`` fails without it and ``--bf16 --cpu`` takes a TPU path), against the CPU's
measured fp32 matmul peak. Without a data folder the embedded BBC corpus is prepared with the
project's own pipeline (``preprocessing.prepare_bbc``, documents cut at 80 tokens).
"""
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's data sheets, TFLOP/s. The first match wins;
# a bare "H100" (e.g. "NVIDIA H100 80GB HBM3") is the SXM part.
GPU_PEAKS_TFLOPS = [("H200", 989.0), ("GH200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("A100", 312.0),
                    ("L40S", 362.0), ("L4", 121.0)]
# fairseq-train and fairseq-eval-lm flags of each precision mode
MODE_FLAGS = {"fp32": ([], []), "fp16": (["--fp16"], ["--fp16"]), "bf16": (["--bf16"], ["--bf16"]),
              "amp": (["--amp"], [])}
ARCH = "text_vae_lcnn"
PLUGIN = Path(__file__).resolve().parents[1]  # the folder fairseq's --user-dir loads


class GpuCheckError(RuntimeError):
    """A failed step of the check (the message says which, and where its log is)."""


def gpu_peak(name: str, override: Optional[str] = None) -> Tuple[float, str]:
    """(TFLOP/s, how it was found) for a GPU name as nvidia-smi reports it; ``override`` (the
    GPU_PEAK_TFLOPS environment variable) wins; NaN when the name is not in ``GPU_PEAKS_TFLOPS``."""
    if override:
        return float(override), f"{name}: peak from GPU_PEAK_TFLOPS"
    for key, peak in GPU_PEAKS_TFLOPS:
        if key.lower() in name.lower():
            return peak, f"{name}: dense bf16 peak from the table ({key}: {peak:g} TFLOP/s)"
    return math.nan, f"{name}: not in the peak table (set GPU_PEAK_TFLOPS): utilisation not computed"


def training_losses(log_text: str) -> Tuple[List[float], List[Dict]]:
    """Every training loss of a fairseq JSON log (interval and epoch records) and the interval records."""
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


def eval_lm_result(log_text: str) -> Tuple[float, float]:
    """(loss in base 2, perplexity) of fairseq-eval-lm's last summary line; raises GpuCheckError if absent."""
    found = re.findall(r"Loss \(base 2\): ([^,]+), Perplexity: ([^\s,]+)", log_text)
    if not found:
        raise GpuCheckError("no fairseq-eval-lm result in its log")
    return float(found[-1][0]), float(found[-1][1])


def steady_throughput(records: Sequence[Dict]) -> Tuple[float, float]:
    """(median wps over the logged intervals after the first third (warm-up), tokens per document)."""
    steady = list(records[len(records) // 3:]) or list(records)
    wps = sorted(float(r.get("wps", r.get("train_wps", "nan"))) for r in steady)[len(steady) // 2]
    wpb = float(steady[-1].get("wpb", steady[-1].get("train_wpb", "nan")))
    bsz = float(steady[-1].get("bsz", steady[-1].get("train_bsz", "nan")))
    return wps, (wpb / bsz if bsz > 0 else 80.0)


def _run(command: List[str], log: Path, what: str) -> str:
    proc = subprocess.run([str(c) for c in command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write_text(proc.stdout)
    if proc.returncode != 0:
        raise GpuCheckError(f"{what} failed (log: {log}):\n" + "\n".join(proc.stdout.splitlines()[-30:]))
    return proc.stdout


def check_mode(mode: str, data: Path, workdir: Path, size: str, updates: int, cpu: bool, bin_dir: Path,
               peak_tflops: float) -> Dict[str, object]:
    """Trains and scores one precision mode; the row of the summary. Raises GpuCheckError on a failure or
    a non-finite loss or perplexity."""
    from .flops import model_flops
    from .sizes import build_model, cli_args
    from fairseq.data import Dictionary

    if mode not in MODE_FLAGS:
        raise GpuCheckError(f"unknown precision mode {mode} ({', '.join(MODE_FLAGS)})")
    train_flags, eval_flags = MODE_FLAGS[mode]
    device = ["--cpu"] if cpu else []
    save = workdir / f"ckpt_{mode}"
    train_log = _run([bin_dir / "fairseq-train", data, "--user-dir", PLUGIN, "--task", "text_vae", "--arch", ARCH,
                      *cli_args(size, ARCH), "--criterion", "elbo", "--kl-anneal-updates", updates,
                      "--optimizer", "adam", "--adam-betas", "(0.5, 0.999)", "--lr", "0.001", "--batch-size", "32",
                      "--max-doc-tokens", "400", "--max-update", updates, "--seed", "1", *device, *train_flags,
                      "--save-dir", save, "--no-epoch-checkpoints", "--save-interval", "100000",
                      "--validate-interval", "100000", "--log-format", "json",
                      "--log-interval", 10 if updates >= 50 else 1, "--num-workers", "0"],
                     workdir / f"train_{mode}.log", f"[{mode}] fairseq-train")
    if not (save / "checkpoint_last.pt").exists():
        raise GpuCheckError(f"[{mode}] no checkpoint written")
    eval_log = _run([bin_dir / "fairseq-eval-lm", data, "--user-dir", PLUGIN, "--task", "text_vae",
                     "--path", save / "checkpoint_last.pt", "--gen-subset", "valid", "--batch-size", "32", *device,
                     *eval_flags], workdir / f"eval_{mode}.log", f"[{mode}] fairseq-eval-lm")
    losses, records = training_losses(train_log)
    if not losses:
        raise GpuCheckError(f"[{mode}] no training loss in {workdir / f'train_{mode}.log'}")
    bad = [x for x in losses if not math.isfinite(x)]
    if bad:
        raise GpuCheckError(f"[{mode}] non-finite training loss {bad[:3]}")
    eval_loss, ppl = eval_lm_result(eval_log)
    if not (math.isfinite(eval_loss) and math.isfinite(ppl)):
        raise GpuCheckError(f"[{mode}] non-finite eval-lm loss {eval_loss} / perplexity {ppl}")
    wps, tokens_per_doc = steady_throughput(records)
    dictionary = Dictionary.load(str(data / "dict.txt"))
    per_token = model_flops(build_model(ARCH, size, dictionary)).training_per_token(tokens_per_doc)
    return {"mode": mode, "updates": updates, "final_loss": losses[-1], "wps": wps, "train_mflop_per_token":
            per_token / 1e6, "utilisation": wps * per_token / (peak_tflops * 1e12), "eval_ppl": ppl,
            "vocab": len(dictionary), "tokens_per_doc": tokens_per_doc}


def run_gpu_check(workdir: Path, data: Optional[Path] = None, modes: Optional[Sequence[str]] = None,
                  updates: Optional[int] = None, cpu_smoke: bool = False, bin_dir: Optional[Path] = None,
                  say: Callable[[str], None] = print) -> List[Dict[str, object]]:
    """The whole check; returns the summary rows (``check_mode``) and prints progress through ``say``.
    Raises GpuCheckError on the first failure."""
    import torch

    from . import measure

    size = "quick" if cpu_smoke else "paper"
    updates = updates or (2 if cpu_smoke else 300)
    modes = list(modes or (["fp32"] if cpu_smoke else ["fp16", "bf16", "amp"]))
    bin_dir = Path(bin_dir) if bin_dir else Path(sys.executable).parent
    if cpu_smoke:
        say("gpu_check: CPU smoke run (tiny sizes, fp32). Skipped: fp16, bf16 and amp need CUDA (fairseq: '--fp16' "
            "fails without CUDA, '--bf16 --cpu' takes a TPU path).")
        torch.set_num_threads(os.cpu_count() or 1)
        peak, how = measure.matmul_peak(repeats=5) / 1e12, "CPU fp32 matmul peak, measured (2048^3, best of 5)"
    else:
        if not torch.cuda.is_available():
            raise GpuCheckError("torch sees no CUDA device (torch.cuda.is_available() is False); use --cpu-smoke "
                                "on a CPU")
        peak, how = gpu_peak(torch.cuda.get_device_name(0), os.environ.get("GPU_PEAK_TFLOPS"))
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"gpu_check: work folder {workdir}")
    if data is None:
        from ..preprocessing import prepare_bbc

        data = workdir / "bbc" / "data-bin"
        if not (data / "dict.txt").exists():
            stats = prepare_bbc(workdir / "bbc", max_tokens=80, overwrite=True)
            say("gpu_check: data: the embedded BBC corpus: " + ", ".join(
                f"{split} {s['documents']}" for split, s in stats["splits"].items()) + " documents")
    if not (Path(data) / "dict.txt").exists():
        raise GpuCheckError(f"no dict.txt in {data}")
    say(f"gpu_check: peak: {how} -> {peak:g} TFLOP/s")
    rows = []
    for mode in modes:
        say(f"gpu_check: [{mode}] fairseq-train {ARCH}, {size} sizes, {updates} updates, then fairseq-eval-lm")
        row = check_mode(mode, Path(data), workdir, size, updates, cpu_smoke, bin_dir, peak)
        say(f"gpu_check: [{mode}] loss {row['final_loss']:.3f}, {row['wps']:.0f} tokens/s, utilisation "
            f"{row['utilisation']:.2%}, eval-lm ppl {row['eval_ppl']:.2f}")
        rows.append(row)
    say("")
    say(summary_markdown(rows, size, how))
    if cpu_smoke:
        say("(CPU smoke run: fp16, bf16 and amp skipped, they need CUDA)")
    say(f"gpu_check: OK: every loss finite in: {' '.join(modes)}")
    return rows


def summary_markdown(rows: Sequence[Dict[str, object]], size: str, peak_info: str) -> str:
    """The Markdown table of the check's rows."""
    lines = [f"## gpu_check: {ARCH}, {size} sizes, peak {peak_info}", "",
             "| mode | updates | final train loss | tokens/s (wps) | train MFLOP/token | FLOP utilisation | eval-lm ppl "
             "| vocab | tokens/doc |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['mode']} | {r['updates']} | {r['final_loss']:.3f} | {r['wps']:.0f} | "
              f"{r['train_mflop_per_token']:.1f} | {r['utilisation']:.2%} | {r['eval_ppl']:.2f} | {r['vocab']} | "
              f"{r['tokens_per_doc']:.1f} |" for r in rows]
    return "\n".join(lines) + "\n"

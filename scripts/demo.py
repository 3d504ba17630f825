"""``make demo``: the embedded BBC corpus -> an SCNN language model and an SCNN-VAE trained
with fairseq-train on CPU -> fairseq-eval-lm bounds, Table-2-style rows, reconstructions,
prior samples and a training-curve PNG. Everything is written under runs/demo/.

Reruns reuse what is already there (prepared data, finished training runs).
"""
import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))


def run(cmd, log=None):
    """Runs a command, echoing it; returns its stdout+stderr. Exits with its output on failure."""
    printable = " ".join(str(c) for c in cmd)
    print(f"$ {printable}", flush=True)
    proc = subprocess.run([str(c) for c in cmd], cwd=REPO, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    if log is not None:
        Path(log).write_text(output)
    if proc.returncode != 0:
        sys.exit(f"error: command failed ({proc.returncode}):\n{output[-4000:]}")
    return output


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=str(REPO / "runs" / "demo"))
    p.add_argument("--updates", type=int, default=150, help="training updates per model")
    p.add_argument("--anneal", type=int, default=100, help="KL annealing updates (0.01 -> 1)")
    p.add_argument("--size", default="cpu", help="model sizes (user_dir/benchmarking/sizes.py)")
    p.add_argument("--eval-docs", type=int, default=200, help="test documents for the IW/MI/AU row")
    p.add_argument("--iw-samples", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    from user_dir.benchmarking.sizes import cli_args

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    data = out / "bbc"
    if not (data / "prepare_stats.json").exists():
        print(run([sys.executable, "scripts/prepare_corpus.py", "bbc", "--out", data, "--overwrite"]).strip()
              .splitlines()[-1])
    bin_dir = data / "data-bin"

    models = {"SCNN-LM": "dilated_cnn_lm_scnn", "SCNN-VAE": "text_vae_scnn"}
    results = {}
    for name, arch in models.items():
        save = out / name
        save.mkdir(exist_ok=True)
        run([BIN / "fairseq-train", bin_dir, "--user-dir", "user_dir", "--task", "text_vae", "--arch", arch,
             *cli_args(args.size, arch), "--criterion", "elbo", "--kl-anneal-updates", args.anneal,
             "--optimizer", "adam", "--adam-betas", "(0.5, 0.999)", "--lr", "0.001", "--batch-size", "32",
             "--max-update", args.updates, "--max-doc-tokens", "200", "--cpu", "--seed", args.seed,
             "--save-dir", save, "--no-epoch-checkpoints", "--log-format", "json", "--log-interval", "10",
             "--log-file", save / "train.log", "--validate-interval-updates", "50", "--best-checkpoint-metric", "nll"],
            log=save / "fairseq-train.out")
        ckpt = save / "checkpoint_last.pt"
        ev = run([BIN / "fairseq-eval-lm", bin_dir, "--user-dir", "user_dir", "--task", "text_vae", "--path", ckpt,
                  "--gen-subset", "test", "--batch-size", "16", "--cpu", "--seed", args.seed])
        ppl = re.findall(r"Perplexity: ([\d.]+)", ev)[-1]
        row_json = save / "table2_row.json"
        run([sys.executable, "scripts/evaluate_vae.py", "--path", ckpt, "--data", bin_dir, "--split", "test",
             "--name", name, "--iw-samples", args.iw_samples, "--max-docs", args.eval_docs, "--out-json", row_json,
             "--seed", args.seed])
        results[name] = {"eval_lm_ppl": float(ppl), "row": json.loads(row_json.read_text())}
        print(f"{name}: fairseq-eval-lm test perplexity {ppl} ({time.time() - t0:.0f} s so far)", flush=True)

    from evaluate_vae import HEADER, markdown_row
    from plot_training_curves import plot

    curves = plot({name: out / name / "train.log" for name in models}, out / "training_curves.png")
    vae_ckpt = out / "SCNN-VAE" / "checkpoint_last.pt"
    reconstructions = run([sys.executable, "scripts/generate_vae.py", "--path", vae_ckpt, "--data", bin_dir,
                           "--max-len", "40", "reconstruct", "--num", "3"])
    samples = run([sys.executable, "scripts/generate_vae.py", "--path", vae_ckpt, "--data", bin_dir, "--max-len",
                   "40", "--sampling", "prior", "--num", "3"])
    keep = lambda text: "\n".join(l for l in text.splitlines() if re.match(r"^(source|recon|prior)-\d+\t", l))  # noqa

    lines = [
        f"# Demo results ({args.updates} updates per model, sizes '{args.size}', seed {args.seed})", "",
        "fairseq-eval-lm test perplexity (VAE: ELBO bound, one z sample; LM: exact):", "",
    ]
    lines += [f"- {name}: {r['eval_lm_ppl']:.2f}" for name, r in results.items()]
    lines += ["", f"Table-2-style rows (first {args.eval_docs} test documents, IW with K={args.iw_samples}):", "",
              HEADER]
    lines += [markdown_row(name, r["row"]) for name, r in results.items()]
    lines += ["", "Reconstructions (posterior mean, beam 5):", "", "```", keep(reconstructions), "```", "",
              "Samples from the prior:", "", "```", keep(samples), "```", "", f"Training curves: {curves}"]
    summary = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(summary)
    print("\n" + summary)
    print(f"demo finished in {time.time() - t0:.0f} s; everything is under {out}")


if __name__ == "__main__":
    main()

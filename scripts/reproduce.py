"""Reproduce the paper's tables on a prepared corpus, resumably, through the real fairseq CLIs.

    python scripts/reproduce.py --data DATA-BIN --preset cpu --out runs/reproduce/yahoo-cpu [--tables 2]
    python scripts/reproduce.py --out runs/reproduce/yahoo-cpu --report-only     # tables/figures from records
    python scripts/reproduce.py --preset cpu --write-configs                    # (re)write examples/configs/cpu

Each run trains with ``fairseq-hydra-train`` on its YAML config from examples/configs/<preset>/,
then its best checkpoint (by validation NLL bound) is scored on the test split. A finished run
has OUT/<table>/<run>/record.json (command, config, seed, versions, metrics) and is never redone;
an interrupted run resumes from its checkpoint_last.pt. Tables and figures are made from the
records alone (OUT/tables.md, OUT/fig2_nll_decomposition.png, OUT/training_curves.png).
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))

from user_dir.reproduction.configs import config_path, write_configs  # noqa: E402
from user_dir.reproduction.grid import build_grid  # noqa: E402
from user_dir.reproduction.presets import get_preset  # noqa: E402
from user_dir.reproduction.records import is_done, read_records, versions, write_record  # noqa: E402
from user_dir.reproduction.tables import (  # noqa: E402
    nll_decomposition_figure,
    table2_markdown,
    training_curves_figure,
)

CONFIG_DIR = REPO / "examples" / "configs"


def fmt_time(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def train(run, command, log_path: Path, position: str, max_update: int) -> None:
    """Runs fairseq-hydra-train, printing progress (updates, elapsed, estimated time left)."""
    start = time.time()
    with open(log_path, "a") as log:
        log.write("$ " + " ".join(command) + "\n")
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        last = 0.0
        for line in proc.stdout:
            log.write(line)
            if '"num_updates"' not in line or time.time() - last < 10:
                continue
            try:
                updates = int(float(json.loads(line[line.index("{"):])["num_updates"]))
            except (ValueError, KeyError):
                continue
            elapsed = time.time() - start
            eta = f", about {fmt_time(elapsed / max(updates, 1) * (max_update - updates))} left" if max_update else ""
            print(f"{position} {run.name}: update {updates}/{max_update or '?'}, {fmt_time(elapsed)} elapsed{eta}",
                  flush=True)
            last = time.time()
    if proc.wait() != 0:
        tail = log_path.read_text()[-3000:]
        sys.exit(f"error: {run.name} failed (exit {proc.returncode}); log {log_path}:\n{tail}")


def evaluate(run, checkpoint: Path, data: Path, preset):
    from user_dir.evaluation.checkpoints import load_checkpoint
    from user_dir.evaluation.document_bounds import score_split

    import torch

    torch.manual_seed(1)
    model, task = load_checkpoint(checkpoint, data)
    task.load_dataset("test")
    return score_split(model, task, "test", preset.eval_batch_size, preset.iw_samples)


def run_grid(args, preset, grid):
    out = Path(args.out)
    data = Path(args.data).resolve()
    if not (data / "dict.txt").exists():
        sys.exit(f"error: {data} is not a binarised data folder (no dict.txt); prepare it with "
                 f"scripts/prepare_corpus.py")
    todo = [r for r in grid if not is_done(out, r.name)]
    print(f"{len(grid)} runs in the grid, {len(grid) - len(todo)} already done, {len(todo)} to run", flush=True)
    grid_start = time.time()
    for i, run in enumerate(grid, 1):
        position = f"[run {i}/{len(grid)}]"
        if is_done(out, run.name):
            print(f"{position} {run.name}: done earlier, skipped", flush=True)
            continue
        cfg_file = config_path(CONFIG_DIR, preset.name, run)
        if not cfg_file.exists():
            sys.exit(f"error: {cfg_file} is missing: run scripts/reproduce.py --preset {preset.name} --write-configs")
        save = (out / run.name).resolve()
        save.mkdir(parents=True, exist_ok=True)
        overrides = [f"task.data={data}", f"checkpoint.save_dir={save}", f"common.seed={args.seed}",
                     f"common.log_file={save / 'train.log'}"]
        if run.init_from:
            overrides.append(f"model.init_encoder_from={(out / run.init_from / 'checkpoint_best.pt').resolve()}")
        command = [str(BIN / "fairseq-hydra-train"), "--config-dir", str(cfg_file.parent), "--config-name",
                   cfg_file.stem, *overrides]
        resumed = (save / "checkpoint_last.pt").exists()
        print(f"{position} {run.name}: {'resuming' if resumed else 'training'} ({run.label})", flush=True)
        started = time.time()
        train(run, command, save / "fairseq.log", position, preset.max_update)
        train_seconds = time.time() - started
        metrics = evaluate(run, save / "checkpoint_best.pt", data, preset)
        last = json.loads([line for line in (save / "train.log").read_text().splitlines() if '"epoch"' in line][-1])
        updates = int(float(last.get("train_num_updates", last.get("num_updates", 0))))
        record = {
            "name": run.name, "index": i, "table": run.table, "label": run.label, "group": run.group,
            "status": "done", "preset": preset.name, "seed": args.seed, "data": str(data),
            "command": " ".join(command), "config_file": str(cfg_file.relative_to(REPO)), "config": run.config,
            "versions": versions(REPO), "metrics": metrics, "updates": updates,
            "train_seconds_this_sitting": round(train_seconds, 1), "train_log": str(save / "train.log"),
            "evaluated": f"checkpoint_best.pt (lowest validation NLL bound) on the test split, "
                         f"IW with K={preset.iw_samples}",
        }
        write_record(out, run.name, record)
        done = sum(is_done(out, r.name) for r in grid)
        print(f"{position} {run.name}: test NLL {metrics['nll']:.2f} (KL {metrics['kl']:.2f}), PPL {metrics['ppl']:.2f}"
              f" | grid {done}/{len(grid)} done, {fmt_time(time.time() - grid_start)} this sitting", flush=True)


def report(out: Path) -> None:
    records = read_records(out)
    if not records:
        sys.exit(f"error: no finished run records under {out}")
    md = [f"# Results from {len(records)} run records under {out}", "",
          "Test split; NLL = negative ELBO per document (one z sample, analytic KL) in nats; "
          "PPL = exp(total NLL / tokens, EOS counted); IW-NLL = importance-weighted NLL; "
          "MI = I(x; z) (He et al. 2019); AU = active units (Var of posterior mean > 0.01).", ""]
    if any(r["table"] == "2" for r in records):
        md += ["## Table 2: language modelling", "", table2_markdown(records)]
    figures = [nll_decomposition_figure(records, out / "fig2_nll_decomposition.png"),
               training_curves_figure(records, out / "training_curves.png")]
    md += ["", "Figures: " + ", ".join(str(f.name) for f in figures if f is not None), "", "Commands:", ""]
    md += [f"- {r['label']}: `{r['command']}`" for r in records]
    (out / "tables.md").write_text("\n".join(md) + "\n")
    print((out / "tables.md").read_text())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="binarised corpus (DIR/data-bin of scripts/prepare_corpus.py)")
    p.add_argument("--preset", default="cpu", choices=["tiny", "cpu", "paper"])
    p.add_argument("--out", help="where runs and records go")
    p.add_argument("--tables", default="2", help="comma-separated tables of the paper to run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", nargs="*", help="run only these run names (e.g. table2/scnn_vae)")
    p.add_argument("--write-configs", action="store_true", help="write examples/configs/<preset>/*.yaml and exit")
    p.add_argument("--report-only", action="store_true", help="only rebuild tables and figures from records")
    args = p.parse_args(argv)
    preset = get_preset(args.preset)
    grid = build_grid(preset, args.tables.split(","))
    if args.write_configs:
        for path in write_configs(grid, preset.name, CONFIG_DIR):
            print(path.relative_to(REPO))
        return
    if not args.out:
        p.error("--out is required")
    if not args.report_only:
        if not args.data:
            p.error("--data is required unless --report-only")
        if args.only:
            unknown = set(args.only) - {r.name for r in grid}
            if unknown:
                p.error(f"unknown run names {sorted(unknown)}")
            grid = [r for r in grid if r.name in args.only]
        run_grid(args, preset, grid)
    report(Path(args.out))


if __name__ == "__main__":
    main()

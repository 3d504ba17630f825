"""Reproduce the paper's tables on a prepared corpus, resumably, through the real fairseq CLIs.

    python scripts/reproduce.py --data DATA-BIN --preset cpu --out runs/reproduce/yahoo-cpu [--tables 2,3,4,5]
    python scripts/reproduce.py --out runs/reproduce/yahoo-cpu --report-only     # tables/figures from records
    python scripts/reproduce.py --report-only --out runs/s1 runs/s2 --seeds-table seeds.md   # mean and spread
    python scripts/reproduce.py --out runs/s1 --export examples/results/x/seed1   # records to commit
    python scripts/reproduce.py --preset cpu --write-configs                    # (re)write examples/configs/cpu

Tables: 2 (language modelling), 3 (semi-supervised VAE per decoder), 4 (accuracy per number of
labels), 5 (clustering, with Fig. 3). A training run trains with ``fairseq-hydra-train`` on its
YAML config from examples/configs/<preset>/, then its best checkpoint (by validation NLL bound, or
validation accuracy for classifiers and semi-supervised VAEs) is scored on the test split. An
evaluation-only run (Table 5's GMM baselines, Fig. 3) scores the best checkpoint of the run it
reads. Runs that read or start from another run's checkpoint (e.g. table2/lstm_lm) come after it,
or need it finished earlier under the same --out. A finished run has OUT/<table>/<run>/record.json
(command, config, seed, versions, metrics) and is never redone; an interrupted run resumes from its
checkpoint_last.pt. Tables and figures are made from the records alone (OUT/tables.md,
OUT/fig2_nll_decomposition.png, OUT/fig3_latent.png, OUT/training_curves.png).
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

from user_dir.evaluation.checkpoints import CheckpointError  # noqa: E402
from user_dir.reproduction.configs import check_overrides, config_path, write_configs  # noqa: E402
from user_dir.reproduction.evaluations import Context, evaluate  # noqa: E402
from user_dir.reproduction.grid import BUILDERS, build_grid, missing_dependencies  # noqa: E402
from user_dir.reproduction.presets import PRESETS, get_preset  # noqa: E402
from user_dir.reproduction.records import (  # noqa: E402
    export_records,
    finished_checkpoint,
    is_done,
    read_records,
    versions,
    write_record,
)
from user_dir.reproduction.tables import (  # noqa: E402
    latent_figure,
    nll_decomposition_figure,
    seed_table_markdown,
    table2_markdown,
    table3_markdown,
    table4_markdown,
    table5_markdown,
    training_curves_figure,
    validation_markdown,
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


def training_finished(log_path: Path) -> bool:
    """Did the last fairseq-train call logged in ``log_path`` end ("done training", after max-epoch,
    max-update or early stopping)?"""
    if not log_path.exists():
        return False
    last_call = log_path.read_text(errors="replace").rsplit("\n$ ", 1)[-1]
    return "done training in " in last_call


def checkpoint_of(out: Path, run_name: str, preset) -> Path:
    try:
        return finished_checkpoint(out, run_name, preset.name)
    except ValueError as exc:
        sys.exit(f"error: {exc}")


def train_run(args, preset, run, out: Path, data: Path, save: Path, position: str) -> dict:
    """Trains ``run`` (or resumes it); returns the training part of its record."""
    cfg_file = config_path(CONFIG_DIR, preset.name, run)
    if not cfg_file.exists():
        sys.exit(f"error: {cfg_file} is missing: run scripts/reproduce.py --preset {preset.name} --write-configs")
    overrides = [f"task.data={data}", f"checkpoint.save_dir={save}", f"common.seed={args.seed}",
                 f"common.log_file={save / 'train.log'}"]
    if run.init_from:
        overrides.append(f"model.init_encoder_from={checkpoint_of(out, run.init_from, preset)}")
    overrides += args.override or []
    command = [str(BIN / "fairseq-hydra-train"), "--config-dir", str(cfg_file.parent), "--config-name",
               cfg_file.stem, *overrides]
    started = time.time()
    if training_finished(save / "fairseq.log"):
        # e.g. the evaluation was interrupted: training again would restart fairseq's patience count
        print(f"{position} {run.name}: training finished earlier, evaluating ({run.label})", flush=True)
    else:
        resumed = (save / "checkpoint_last.pt").exists()
        print(f"{position} {run.name}: {'resuming' if resumed else 'training'} ({run.label})", flush=True)
        train(run, command, save / "fairseq.log", position, preset.max_update)
    train_seconds = time.time() - started
    last = json.loads([line for line in (save / "train.log").read_text().splitlines() if '"epoch"' in line][-1])
    return {"command": " ".join(command), "config_file": str(cfg_file.relative_to(REPO)), "config": run.config,
            "overrides": args.override or [],
            "updates": int(float(last.get("train_num_updates", last.get("num_updates", 0)))),
            "train_seconds_this_sitting": round(train_seconds, 1), "train_log": str(save / "train.log")}


def run_grid(args, preset, grid):
    out = Path(args.out[0])
    data = Path(args.data).resolve()
    if not (data / "dict.txt").exists():
        sys.exit(f"error: {data} is not a binarised data folder (no dict.txt); prepare it with "
                 f"scripts/prepare_corpus.py")
    todo = [r for r in grid if not is_done(out, r.name)]
    problems = missing_dependencies(todo, lambda name: is_done(out, name))
    if problems:
        sys.exit("error: " + "\nerror: ".join(problems))
    for need in {need for run in todo for need in run.needs if is_done(out, need)}:
        checkpoint_of(out, need, preset)  # same preset, checkpoint present: checked before anything runs
    print(f"{len(grid)} runs in the grid, {len(grid) - len(todo)} already done, {len(todo)} to run", flush=True)
    grid_start = time.time()
    for i, run in enumerate(grid, 1):
        position = f"[run {i}/{len(grid)}]"
        if is_done(out, run.name):
            print(f"{position} {run.name}: done earlier, skipped", flush=True)
            continue
        save = (out / run.name).resolve()
        save.mkdir(parents=True, exist_ok=True)
        if run.trains:
            part = train_run(args, preset, run, out, data, save, position)
            checkpoint = save / "checkpoint_best.pt"
        else:
            checkpoint = checkpoint_of(out, run.reads, preset)
            print(f"{position} {run.name}: evaluating {run.reads} ({run.label})", flush=True)
            part = {"reads": run.reads, "checkpoint": str(checkpoint), "options": run.options}
        try:
            result = evaluate(run, Context(checkpoint, data, save, preset, args.seed))
        except (ValueError, CheckpointError) as exc:
            sys.exit(f"error: {run.name}: {exc}")
        if "command" in result:  # the script behind the numbers: the row's command if nothing was trained
            part["evaluation_command" if run.trains else "command"] = result["command"]
        record = {
            "name": run.name, "index": i, "table": run.table, "label": run.label, "group": run.group,
            "status": "done", "preset": preset.name, "seed": args.seed, "data": str(data),
            "versions": versions(REPO), "metrics": result["metrics"], "evaluated": result["evaluated"], **part,
        }
        if "files" in result:
            record["files"] = result["files"]
        write_record(out, run.name, record)
        done = sum(is_done(out, r.name) for r in grid)
        print(f"{position} {run.name}: {result['summary']} | grid {done}/{len(grid)} done, "
              f"{fmt_time(time.time() - grid_start)} this sitting", flush=True)


SECTIONS = [
    ("2", "Table 2: language modelling", table2_markdown),
    ("3", "Table 3: semi-supervised VAE, one number of labels", table3_markdown),
    ("4", "Table 4: semi-supervised classification accuracy (%)", table4_markdown),
    ("5", "Table 5: unsupervised clustering accuracy (%)", table5_markdown),
]


def report(out: Path) -> None:
    records = read_records(out)
    if not records:
        sys.exit(f"error: no finished run records under {out}")
    md = [f"# Results from {len(records)} run records under {out}", "",
          "Test split; NLL = negative ELBO per document (one z sample, analytic KL) in nats; "
          "PPL = exp(total NLL / tokens, EOS counted); IW-NLL = importance-weighted NLL; "
          "MI = I(x; z) (He et al. 2019); AU = active units (Var of posterior mean > 0.01). "
          "Tables 3-5: ACCU = test accuracy (%); Table 3's NLL = -U(x) with the exact sum over labels, its KL "
          "= KL of z and of y; Table 5: clusters labelled on the validation split (Makhzani et al. 2015: by "
          "each cluster's validation document of highest posterior; majority naming, not the paper's: by the "
          "most frequent label of each cluster's validation documents).", ""]
    for table, title, markdown in SECTIONS:
        if any(r["table"] == table for r in records):
            md += [f"## {title}", "", markdown(records)]
    md += ["## Validation (what each trained run's checkpoint_best.pt holds: the best bound, or the best accuracy)", "",
           validation_markdown(records, out)]
    try:
        figures = [nll_decomposition_figure(records, out / "fig2_nll_decomposition.png"),
                   latent_figure(records, out, out / "fig3_latent.png"),
                   training_curves_figure(records, out / "training_curves.png", out)]
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    md += ["", "Figures: " + ", ".join(str(f.name) for f in figures if f is not None), "", "Commands:", ""]
    md += [f"- {r['label']}: `{r['command']}`"
           + (f", then `{r['evaluation_command']}`" if "evaluation_command" in r else "") for r in records]
    (out / "tables.md").write_text("\n".join(md) + "\n")
    print((out / "tables.md").read_text())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="binarised corpus (DIR/data-bin of scripts/prepare_corpus.py)")
    p.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    p.add_argument("--out", nargs="+", help="where runs and records go (one folder per seed; several folders "
                   "only with --report-only)")
    p.add_argument("--seeds-table", help="with --report-only and several --out folders (one per seed): write the "
                   "across-seed table (mean ± half the spread of each run's test metrics) to this Markdown file")
    p.add_argument("--tables", default="2", help="comma-separated tables of the paper to run (2, 3, 4, 5; 5 "
                   "includes Fig. 3)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", nargs="*", help="run only these run names (e.g. table2/scnn_vae)")
    p.add_argument("--override", nargs="*", help="Hydra overrides added to every training run of this call, "
                   "one factor against the preset (e.g. criterion.kl_anneal_updates=3200); recorded in each "
                   "record's command and 'overrides'. Use a --out of its own")
    p.add_argument("--write-configs", action="store_true",
                   help="write examples/configs/<preset>/*.yaml of every table and exit")
    p.add_argument("--report-only", action="store_true", help="only rebuild tables and figures from records")
    p.add_argument("--export", help="copy the finished records of --out (with compact training logs, no "
                   "checkpoints) to this folder, e.g. a results folder to commit, and exit")
    args = p.parse_args(argv)
    preset = get_preset(args.preset)
    if args.write_configs:  # every table's, whatever --tables says
        for path in write_configs(build_grid(preset, list(BUILDERS)), preset.name, CONFIG_DIR):
            print(path.relative_to(REPO))
        return
    try:
        grid = build_grid(preset, args.tables.split(","))
    except ValueError as exc:
        p.error(str(exc))
    if not args.out:
        p.error("--out is required")
    if args.export:
        for path in export_records(Path(args.out[0]), Path(args.export)):
            print(path)
        return
    if len(args.out) > 1 and not args.report_only:
        p.error("training runs need exactly one --out folder")
    try:
        check_overrides(args.override or [])
    except ValueError as exc:
        p.error(str(exc))
    if args.seeds_table and not args.report_only:
        p.error("--seeds-table goes with --report-only")
    if not args.report_only:
        if not args.data:
            p.error("--data is required unless --report-only")
        if args.only:
            unknown = set(args.only) - {r.name for r in grid}
            if unknown:
                p.error(f"unknown run names {sorted(unknown)}")
            grid = [r for r in grid if r.name in args.only]
        run_grid(args, preset, grid)
    for out in args.out:
        report(Path(out))
    if args.seeds_table:
        Path(args.seeds_table).write_text(seed_table_markdown([read_records(Path(out)) for out in args.out]))
        print(Path(args.seeds_table).read_text())


if __name__ == "__main__":
    main()

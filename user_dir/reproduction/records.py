"""Run records: one JSON file per finished run holding everything needed to redo it
and every number the tables show."""
import json
import platform
import re
import subprocess
from pathlib import Path
import shutil
from typing import Dict, List

RECORD_FILE = "record.json"


def versions(repo: Path) -> Dict[str, str]:
    import fairseq
    import numpy
    import torch

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"python": platform.python_version(), "torch": torch.__version__, "fairseq": fairseq.__version__,
            "numpy": numpy.__version__, "plugin_commit": commit}


def record_path(out: Path, run_name: str) -> Path:
    return Path(out) / run_name / RECORD_FILE


def is_done(out: Path, run_name: str) -> bool:
    path = record_path(out, run_name)
    return path.exists() and json.loads(path.read_text()).get("status") == "done"


def write_record(out: Path, run_name: str, record: Dict) -> Path:
    path = record_path(out, run_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)  # never a half-written record
    return path


def read_records(out: Path) -> List[Dict]:
    """All finished records under ``out``, in the order of their ``index`` in the grid."""
    records = [json.loads(p.read_text()) for p in Path(out).glob(f"**/{RECORD_FILE}")]
    return sorted((r for r in records if r.get("status") == "done"), key=lambda r: (r.get("index", 0), r["name"]))


def finished_checkpoint(out: Path, run_name: str, preset_name: str) -> Path:
    """checkpoint_best.pt of a finished run of the same preset (what a dependent run reads)."""
    path = record_path(out, run_name)
    if not is_done(out, run_name):
        raise ValueError(f"{run_name} has not finished under {out}: run it first")
    record = json.loads(path.read_text())
    if record["preset"] != preset_name:
        raise ValueError(f"{run_name} under {out} was run with preset {record['preset']!r}, not {preset_name!r}: "
                         f"use another --out, or the preset {record['preset']!r}")
    checkpoint = (Path(out) / run_name / "checkpoint_best.pt").resolve()
    if not checkpoint.is_file():
        raise ValueError(f"{checkpoint} is missing although {run_name} is recorded as done: delete {path} and "
                         f"run {run_name} again")
    return checkpoint


COMPACT_LOG = "train.log"
_VENV_EXECUTABLE = re.compile(r"[^\s\"'=]*/\.venv/bin/")
_REPOSITORY_PATH = re.compile(r"/[^\s\"'=]*?/(runs|examples|user_dir|scripts)/")


def repository_relative(text: str) -> str:
    """``text`` with the machine-specific part of its paths removed: a virtual environment's
    executables by name, paths into the repository's ``runs/``, ``examples/``, ``user_dir/`` and
    ``scripts/`` from there (as they are run from the repository root)."""
    return _REPOSITORY_PATH.sub(r"\1/", _VENV_EXECUTABLE.sub("", text))


def export_records(out: Path, dest: Path) -> List[Path]:
    """Copies every finished record under ``out`` to ``dest`` (same layout), with its run's epoch-level
    training and validation metric lines (deduplicated) as ``train.log`` beside it, and the files the
    record names (e.g. Fig. 3's points): what a results folder commits instead of checkpoints."""
    copied = []
    for record in read_records(out):
        src_dir, dst_dir = Path(out) / record["name"], Path(dest) / record["name"]
        dst_dir.mkdir(parents=True, exist_ok=True)
        (dst_dir / RECORD_FILE).write_text(repository_relative((src_dir / RECORD_FILE).read_text()))
        for name in record.get("files", {}).values():
            shutil.copy2(src_dir / name, dst_dir / name)
        log = Path(record.get("train_log", ""))
        if log.is_file():
            lines = list(dict.fromkeys(line for line in log.read_text(errors="replace").splitlines()
                                       if '"valid_loss"' in line or '"train_loss"' in line))
            (dst_dir / COMPACT_LOG).write_text("\n".join(lines) + "\n")
        copied.append(dst_dir)
    return copied


def training_log_of(out: Path, record: Dict) -> Path:
    """The run's fairseq log: where training wrote it, or the compact copy next to an exported record."""
    log = Path(record.get("train_log", ""))
    return log if log.is_file() else Path(out) / record["name"] / COMPACT_LOG

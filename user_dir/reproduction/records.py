"""Run records: one JSON file per finished run holding everything needed to redo it
and every number the tables show."""
import json
import platform
import subprocess
from pathlib import Path
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

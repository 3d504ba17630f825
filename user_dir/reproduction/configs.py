"""Hydra YAML configs for the grid (examples/configs/<preset>/<run>.yaml), and checks of overrides."""
from pathlib import Path
from typing import List

import yaml

from .grid import Run


def config_text(run: Run, preset_name: str) -> str:
    """YAML of one run, with a header saying how to launch it without the harness."""
    header = (
        f"# {run.label} (paper Table {run.table}), preset '{preset_name}'.\n"
        f"# Written by `python scripts/reproduce.py --preset {preset_name} --write-configs`; do not edit by hand.\n"
        f"# Run this row alone from the repository root:\n"
        f"#   fairseq-hydra-train --config-dir examples/configs/{preset_name} --config-name {run.config_name} \\\n"
        f"#     task.data=DATA-BIN checkpoint.save_dir=SAVE-DIR"
        + (" model.init_encoder_from=LSTM-LM/checkpoint_best.pt" if run.init_from else "")
        + "\n"
    )
    return header + yaml.safe_dump(run.config, sort_keys=False, default_flow_style=False)


def config_path(config_dir: Path, preset_name: str, run: Run) -> Path:
    return Path(config_dir) / preset_name / f"{run.config_name}.yaml"


def write_configs(runs, preset_name: str, config_dir: Path):
    """Writes the config of every training run of ``runs`` (evaluation-only runs have none)."""
    paths = []
    for run in (run for run in runs if run.trains):
        path = config_path(config_dir, preset_name, run)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_text(run, preset_name))
        paths.append(path)
    return paths


def check_overrides(overrides: List[str]) -> None:
    """Raises ValueError for Hydra overrides that would make a record lie about its checkpoint.

    fairseq saves (and so updates checkpoint_best.pt) only at epoch ends and every
    ``checkpoint.save_interval_updates``; a validation every ``dataset.validate_interval_updates``
    between them is logged but never saved. Overriding the one without the other would make the
    validation table report a best validation that checkpoint_best.pt, and so the test score, does
    not hold."""
    keys = {o.lstrip("+").split("=", 1)[0]: o.split("=", 1)[-1] for o in overrides}
    validate = keys.get("dataset.validate_interval_updates", "0")
    if validate not in ("0", "") and keys.get("checkpoint.save_interval_updates") != validate:
        raise ValueError(
            f"--override dataset.validate_interval_updates={validate} needs checkpoint.save_interval_updates="
            f"{validate} too: fairseq saves checkpoint_best.pt only when it saves, so a better validation between "
            "saves would be logged but never tested")

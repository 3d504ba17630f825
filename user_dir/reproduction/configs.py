"""Hydra YAML configs for the grid (examples/configs/<preset>/<run>.yaml)."""
from pathlib import Path

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

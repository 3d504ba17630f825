"""fairseq's other ways in: the legacy argparse path, package metadata, the installed package name, the
harness's evaluation seed."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("task, arch", [("language_modeling", "dilated_cnn_lm_scnn"), ("text_vae", "text_vae_lcnn"),
                                        ("text_vae", "text_vae_lstm"), ("semisupervised_vae", "semisup_vae_scnn")])
def test_legacy_argparse_path_builds_every_architecture(tiny_data, task, arch):
    """options.parse_args_and_arch + task.build_model(args): the arch function must fill every default."""
    from fairseq import options, tasks

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [str(tiny_data), "--task", task, "--arch", arch,
                                                "--user-dir", "user_dir"])
    model = tasks.setup_task(args).build_model(args)
    assert sum(p.numel() for p in model.parameters()) > 0
    if arch != "text_vae_lstm":
        expected = {"scnn": 15, "lcnn": 125}[arch.rsplit("_", 1)[1]]
        decoder = model.decoder if arch.startswith("dilated") else model.decoder.inner
        assert decoder.receptive_field == expected


def test_setup_requires_the_torch_that_the_plugin_imports():
    """user_dir/__init__.py calls torch.serialization.add_safe_globals, which torch 2.4 introduced."""
    assert "add_safe_globals" in (REPO / "user_dir" / "__init__.py").read_text()
    spec = re.search(r'"torch>=([\d.]+)"', (REPO / "setup.py").read_text())
    assert spec and tuple(map(int, spec.group(1).split("."))) >= (2, 4)


def test_harness_evaluation_is_seeded_with_the_run_seed(monkeypatch):
    from user_dir.reproduction import evaluations

    monkeypatch.setitem(evaluations.EVALUATIONS, "probe", lambda run, ctx: float(torch.rand(())))
    run = type("Run", (), {"evaluation": "probe"})()
    ctx = lambda seed: evaluations.Context(Path("x"), Path("y"), Path("z"), None, seed)  # noqa: E731
    torch.manual_seed(2)
    expected = float(torch.rand(()))
    assert evaluations.evaluate(run, ctx(2)) == expected
    assert evaluations.evaluate(run, ctx(1)) != expected


def test_installed_package_loads_as_a_user_dir_from_any_folder(tmp_path):
    """README: ``--user-dir "$(python -c 'import dilated_cnn_vae, os; print(os.path.dirname(...))')"``."""
    where = subprocess.run([sys.executable, "-c", "import dilated_cnn_vae, os; print(os.path.dirname("
                            "dilated_cnn_vae.__file__))"], cwd=tmp_path, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr[-2000:]
    user_dir = where.stdout.strip().splitlines()[-1]
    check = ("import argparse; from fairseq.utils import import_user_module; from fairseq.models import "
             "ARCH_MODEL_REGISTRY; import_user_module(argparse.Namespace(user_dir=%r)); "
             "assert {'text_vae_scnn', 'semisup_vae_scnn', 'dilated_cnn_lm_lcnn'} <= set(ARCH_MODEL_REGISTRY)" % user_dir)
    proc = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]

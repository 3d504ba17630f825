"""fairseq's other ways in: the legacy argparse path, package metadata, the harness's evaluation seed."""
import re
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

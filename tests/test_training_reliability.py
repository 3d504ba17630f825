"""Interrupted training resumes exactly; two data-parallel CPU workers equal one process;
the same command gives bit-identical parameters (all through the real fairseq-train)."""
import socket
import subprocess

import pytest
import torch

from conftest import BIN, REPO, cli_env
from helpers import NO_PREFETCH_THREAD, TINY_VAE_CLI, run_cli

COMMON = ["--user-dir", "user_dir", "--cpu", "--kl-anneal-updates", "6", "--optimizer", "adam", "--lr", "0.003", "--lr-scheduler", "inverse_sqrt",
          "--warmup-updates", "5", "--batch-size", "8", "--seed", "7", "--no-epoch-checkpoints",
          "--disable-validation", "--log-format", "simple", "--log-interval", "1"]
ARCHS = {
    "text_vae_scnn": ["--task", "text_vae", "--criterion", "elbo", *TINY_VAE_CLI, "--dropout", "0.1"],
    # the Gumbel temperature decays every update, so a wrong value after the resume would show
    "semisup_vae_scnn": ["--task", "semisupervised_vae", "--criterion", "semisupervised_elbo", *TINY_VAE_CLI,
                         "--dropout", "0.1", "--num-labelled", "20", "--alpha", "5",
                         "--gumbel-temperature-rate", "0.1"],
}
LOGGED_KL = {"text_vae_scnn": "kl", "semisup_vae_scnn": "kl_z"}


def params(save_dir):
    return torch.load(save_dir / "checkpoint_last.pt", weights_only=True)["model"]


def max_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def train(data, save_dir, arch, *extra):
    return run_cli("fairseq-train", data, *COMMON, "--arch", arch, *ARCHS[arch], "--save-dir", save_dir, *extra)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_resume_is_exact_and_runs_are_deterministic(tiny_data, tmp_path, arch):
    # 96 training documents / batch 8 = 12 updates per epoch: the interruption is mid-epoch
    train(tiny_data, tmp_path / "straight", arch, "--max-update", "10")
    train(tiny_data, tmp_path / "again", arch, "--max-update", "10")
    train(tiny_data, tmp_path / "split", arch, "--max-update", "5")
    resumed = train(tiny_data, tmp_path / "split", arch, "--max-update", "10")
    assert "Loaded checkpoint" in resumed.stdout + resumed.stderr
    straight = params(tmp_path / "straight")
    assert max_diff(straight, params(tmp_path / "split")) <= 1e-5
    assert all(torch.equal(straight[k], v) for k, v in params(tmp_path / "again").items()), "not bit-identical"
    # lr and KL weight after the resume equal the uninterrupted run's
    opt = lambda d: torch.load(d / "checkpoint_last.pt", weights_only=False)["last_optimizer_state"]["param_groups"][0]["lr"]  # noqa
    assert opt(tmp_path / "straight") == opt(tmp_path / "split")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_two_cpu_workers_equal_one_process(tiny_data, tmp_path, arch):
    updates = ["--max-update", "4"]
    single = train(tiny_data, tmp_path / "single", arch, *updates, "--update-freq", "2")
    port = free_port()
    procs = []
    for rank in (0, 1):
        cmd = [str(BIN / "fairseq-train"), str(tiny_data), *COMMON, "--arch", arch, *ARCHS[arch],
               "--save-dir", str(tmp_path / "ddp"), *updates, "--distributed-world-size", "2",
               "--distributed-rank", str(rank), "--distributed-init-method", f"tcp://127.0.0.1:{port}",
               "--distributed-backend", "gloo", "--distributed-no-spawn", "--device-id", "0",
               "--ddp-backend", "legacy_ddp", *NO_PREFETCH_THREAD]
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=cli_env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
    assert max_diff(params(tmp_path / "single"), params(tmp_path / "ddp")) <= 1e-5
    # metrics are reduced over both workers: the same KL, reconstruction and batch size as one process
    for key in (LOGGED_KL[arch], "rec", "bsz"):
        assert logged(outputs[0], key, 4) == pytest.approx(logged(single.stdout + single.stderr, key, 4), rel=1e-4)


def logged(log: str, key: str, update: int) -> float:
    lines = [line for line in log.splitlines() if "train_inner" in line and f"num_updates={update}," in line]
    assert lines, log[-2000:]
    return float(lines[-1].split(f" {key}=")[1].split(",")[0])


def test_annealed_kl_with_loss_as_best_checkpoint_metric_warns(caplog):
    """The annealed training loss weighs the KL differently at each update: a warning says to select
    checkpoints by the unweighted bound (nll) instead; no warning for nll or without annealing."""
    import logging

    from user_dir.criterions.elbo import ElboCriterion, ElboCriterionConfig

    with caplog.at_level(logging.WARNING, logger="user_dir.criterions.elbo"):
        ElboCriterion(None, ElboCriterionConfig(best_checkpoint_metric="nll"))
        ElboCriterion(None, ElboCriterionConfig(best_checkpoint_metric="loss", kl_weight_start=1.0))
        assert not caplog.records
        ElboCriterion(None, ElboCriterionConfig(best_checkpoint_metric="loss"))
    assert len(caplog.records) == 1 and "--best-checkpoint-metric nll" in caplog.records[0].getMessage()

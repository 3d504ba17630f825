"""The real fairseq command-line tools with --user-dir user_dir, on tiny data."""
import math
import re
import subprocess

import pytest
import torch

from conftest import BIN, REPO, cli_env
from helpers import TINY_CLI, TINY_VAE_CLI, run_cli

TRAIN = ["--user-dir", "user_dir", "--cpu", "--optimizer", "adam", "--lr", "0.003", "--batch-size", "16",
         "--log-interval", "1", "--log-format", "simple", "--no-epoch-checkpoints", "--seed", "1"]


def perplexity(proc) -> float:
    found = re.findall(r"Perplexity: ([\d.]+|inf|nan)", proc.stdout + proc.stderr)
    assert found, proc.stdout[-2000:] + proc.stderr[-2000:]
    return float(found[-1])


def hypotheses(proc):
    return [line.split("\t")[-1] for line in (proc.stdout).splitlines() if line.startswith("H-")]


def test_dilated_cnn_lm_with_stock_language_modeling_task(tiny_data, tmp_path):
    save = tmp_path / "lm"
    run_cli("fairseq-train", tiny_data, "--task", "language_modeling", "--sample-break-mode", "eos",
            "--arch", "dilated_cnn_lm_lcnn", *TINY_CLI, "--criterion", "cross_entropy", "--max-update", "4",
            "--save-dir", save, *TRAIN)
    assert (save / "checkpoint_last.pt").exists()
    ev = run_cli("fairseq-eval-lm", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "language_modeling",
                 "--sample-break-mode", "eos", "--path", save / "checkpoint_last.pt", "--gen-subset", "valid")
    assert math.isfinite(perplexity(ev)) and perplexity(ev) > 1
    gen = run_cli("fairseq-generate", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "language_modeling",
                  "--sample-break-mode", "eos", "--path", save / "checkpoint_last.pt", "--gen-subset", "valid",
                  "--sampling", "--beam", "1", "--prefix-size", "1", "--max-len-b", "12", "--batch-size", "8")
    assert len(hypotheses(gen)) == 24
    prompts = "team match\ncomputer\n"
    inter = subprocess.run([str(BIN / "fairseq-interactive"), str(tiny_data), "--user-dir", "user_dir", "--cpu",
                            "--task", "language_modeling", "--path", str(save / "checkpoint_last.pt"), "--sampling",
                            "--beam", "1", "--max-len-b", "8"], input=prompts, cwd=REPO, env=cli_env(),
                           capture_output=True, text=True)
    continuations = hypotheses(inter)
    assert inter.returncode == 0 and len(continuations) == 2
    assert continuations[0].startswith("team match") and continuations[1].startswith("computer")


def test_dilated_cnn_lm_with_elbo_and_beam_search(tiny_data, tmp_path):
    save = tmp_path / "lm"
    run_cli("fairseq-train", tiny_data, "--task", "text_vae", "--arch", "dilated_cnn_lm_scnn", *TINY_CLI,
            "--criterion", "elbo", "--max-update", "3", "--save-dir", save, *TRAIN)
    gen = run_cli("fairseq-generate", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
                  "--path", save / "checkpoint_last.pt", "--gen-subset", "test", "--beam", "4", "--max-len-b", "10",
                  "--batch-size", "8")
    assert len(hypotheses(gen)) == 24


@pytest.mark.parametrize("arch", ["text_vae_scnn", "text_vae_lstm"])
def test_text_vae_train_validate_eval_generate(tiny_data, tmp_path, arch):
    save = tmp_path / arch
    train = run_cli("fairseq-train", tiny_data, "--task", "text_vae", "--arch", arch, *TINY_VAE_CLI,
                    "--criterion", "elbo", "--kl-anneal-updates", "4", "--max-update", "6", "--save-dir", save,
                    "--word-dropout", "0.3", *TRAIN)
    log = train.stdout + train.stderr
    valid = re.search(r"valid on 'valid' subset .*", log).group(0)
    for key in ("rec", "kl", "nll", "ppl"):
        assert re.search(rf"\| {key} [\d.]+ ", valid), (key, valid)
    # collapse is visible at every validation: active units (of 4) and the bound on I(x; z)
    assert re.search(r"valid on 'valid' subset .* au [0-4] \| mi_ub -?[\d.]+", log), log[-3000:]
    assert not re.search(r"train_inner .* au ", log)
    ckpt = save / "checkpoint_last.pt"
    val = run_cli("fairseq-validate", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
                  "--path", ckpt, "--valid-subset", "test", "--batch-size", "8")
    assert re.search(r"nll [\d.]+", val.stdout + val.stderr)
    ev = run_cli("fairseq-eval-lm", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
                 "--path", ckpt, "--gen-subset", "valid", "--batch-size", "8")
    assert math.isfinite(perplexity(ev))
    assert "ELBO (1 sample of z, analytic KL)" in ev.stdout + ev.stderr
    iw = run_cli("fairseq-eval-lm", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
                 "--path", ckpt, "--gen-subset", "valid", "--batch-size", "8", "--softmax-batch", "50",
                 "--model-overrides", "{'eval_bound_samples': 20}")
    assert "importance-weighted bound, K=20" in iw.stdout + iw.stderr
    assert math.isfinite(perplexity(iw))
    for source, extra in (("mean", ["--beam", "3"]), ("prior", ["--sampling", "--beam", "1"])):
        gen = run_cli("fairseq-generate", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
                      "--path", ckpt, "--gen-subset", "test", "--max-len-b", "10", "--batch-size", "8",
                      "--model-overrides", f"{{'latent_source': '{source}'}}", *extra)
        assert len(hypotheses(gen)) == 24


def logged_beta(proc, update: int) -> float:
    found = re.findall(rf"beta=([\d.]+).*num_updates={update}\b", proc.stdout + proc.stderr)
    found += re.findall(rf"beta ([\d.]+) .*num_updates {update}\b", proc.stdout + proc.stderr)
    assert found, (proc.stdout + proc.stderr)[-3000:]
    return float(found[0])


def test_kl_weight_resumes_from_checkpoint(tiny_data, tmp_path):
    common = ["--task", "text_vae", "--arch", "text_vae_scnn", *TINY_VAE_CLI, "--criterion", "elbo",
              "--kl-anneal-updates", "10", "--kl-weight-start", "0.01", *TRAIN, "--log-format", "simple"]
    straight = run_cli("fairseq-train", tiny_data, *common, "--max-update", "8", "--save-dir", tmp_path / "a")
    run_cli("fairseq-train", tiny_data, *common, "--max-update", "4", "--save-dir", tmp_path / "b")
    resumed = run_cli("fairseq-train", tiny_data, *common, "--max-update", "8", "--save-dir", tmp_path / "b")
    assert "Loaded checkpoint" in resumed.stdout + resumed.stderr
    # the 8th update is taken with update_num = 7: beta = 0.01 + 0.99 * 7 / 10
    assert logged_beta(straight, 8) == pytest.approx(0.703, abs=1e-3)
    assert logged_beta(resumed, 8) == logged_beta(straight, 8)


def test_lstm_lm_baseline_and_encoder_init(tiny_data, tmp_path):
    """fairseq's own lstm_lm (sizes matched to the encoder) loads in eval-lm, and '+ init' copies it."""
    from user_dir.models.components import load_lstm_lm_state

    lm = tmp_path / "lstm_lm"
    run_cli("fairseq-train", tiny_data, "--task", "text_vae", "--arch", "lstm_lm", "--decoder-embed-dim", "16",
            "--decoder-hidden-size", "24", "--decoder-out-embed-dim", "24", "--decoder-layers", "1",
            "--adaptive-softmax-cutoff", "0", "--criterion", "elbo", "--max-update", "3", "--save-dir", lm, *TRAIN)
    ev = run_cli("fairseq-eval-lm", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
                 "--path", lm / "checkpoint_last.pt", "--gen-subset", "valid")
    assert math.isfinite(perplexity(ev))
    vae = tmp_path / "vae"
    train = run_cli("fairseq-train", tiny_data, "--task", "text_vae", "--arch", "text_vae_scnn", *TINY_VAE_CLI,
                    "--criterion", "elbo", "--max-update", "1", "--save-dir", vae,
                    "--init-encoder-from", lm / "checkpoint_last.pt", *TRAIN, "--lr", "1e-12")
    assert "+ init: encoder initialised from" in train.stdout + train.stderr
    lm_state = load_lstm_lm_state(str(lm / "checkpoint_last.pt"))
    vae_state = torch.load(vae / "checkpoint_last.pt", weights_only=True)["model"]
    assert torch.allclose(vae_state["encoder.reader.lstm.weight_ih_l0"], lm_state["decoder.layers.0.weight_ih"],
                          atol=1e-6)
    assert torch.allclose(vae_state["encoder.reader.embed_tokens.weight"], lm_state["decoder.embed_tokens.weight"],
                          atol=1e-6)


def test_annealed_kl_with_loss_as_checkpoint_metric_warns(tiny_data, tmp_path):
    common = ["--task", "text_vae", "--arch", "text_vae_scnn", *TINY_VAE_CLI, "--criterion", "elbo",
              "--kl-anneal-updates", "10", "--max-update", "1", "--no-save", *TRAIN]
    warned = run_cli("fairseq-train", tiny_data, *common, "--best-checkpoint-metric", "loss",
                     "--save-dir", tmp_path / "a")
    quiet = run_cli("fairseq-train", tiny_data, *common, "--best-checkpoint-metric", "nll", "--save-dir", tmp_path / "b")
    assert "use --best-checkpoint-metric nll" in warned.stdout + warned.stderr
    assert "use --best-checkpoint-metric nll" not in quiet.stdout + quiet.stderr

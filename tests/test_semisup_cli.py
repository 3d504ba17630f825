"""Semi-supervised VAE, clustering and baselines through the real command-line tools (tiny data)."""
import json
import math
import re
import subprocess
import sys

import pytest

from conftest import REPO, cli_env
from helpers import TINY_VAE_CLI, run_cli

TRAIN = ["--user-dir", "user_dir", "--cpu", "--optimizer", "adam", "--lr", "0.003", "--batch-size", "16",
         "--log-interval", "1", "--log-format", "simple", "--no-epoch-checkpoints", "--seed", "1"]
SEMI = ["--task", "semisupervised_vae", "--criterion", "semisupervised_elbo", *TINY_VAE_CLI]
EVAL = ["--user-dir", "user_dir", "--cpu", "--task", "semisupervised_vae", "--batch-size", "8"]


def run_script(name, *args, check=True):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / name), *map(str, args)], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def log_of(proc):
    return proc.stdout + proc.stderr


def valid_metric(log, name):
    found = re.findall(rf"valid on 'valid' subset .*\| {name} ([\d.]+)", log)
    assert found, log[-3000:]
    return float(found[-1])


@pytest.fixture(scope="module")
def semisup(tiny_data, tmp_path_factory):
    save = tmp_path_factory.mktemp("semisup")
    train = run_cli("fairseq-train", tiny_data, *SEMI, "--arch", "semisup_vae_scnn", "--num-labelled", "20",
                    "--alpha", "5", "--kl-anneal-updates", "6", "--max-update", "6", "--save-dir", save, *TRAIN)
    return save / "checkpoint_last.pt", log_of(train)


def test_semisupervised_training_reports_validation_accuracy(semisup):
    _, log = semisup
    counts = re.search(r"train: 20 labelled documents .* per class: (\w+)=(\d+), (\w+)=(\d+)\n", log)
    assert counts and int(counts.group(2)) + int(counts.group(4)) == 20
    assert {counts.group(1), counts.group(3)} == {"sport", "tech"}
    assert re.search(r"train: 76 unlabelled documents \(labels hidden\)", log)
    assert 0.0 <= valid_metric(log, "accuracy") <= 100.0
    assert math.isfinite(valid_metric(log, "nll"))
    assert re.search(r"train_inner .*clf_nll=[\d.]+.*kl_y=[\d.]+.*accuracy=[\d.]+.*tau=[\d.]+", log)


def test_eval_lm_and_generate_on_a_semisup_checkpoint(semisup, tiny_data):
    ckpt, _ = semisup
    ev = run_cli("fairseq-eval-lm", tiny_data, *EVAL, "--path", ckpt, "--gen-subset", "valid")
    ppl = float(re.findall(r"Perplexity: ([\d.]+|inf|nan)", log_of(ev))[-1])
    assert math.isfinite(ppl) and ppl > 1
    assert "unlabelled bound U(x) (exact sum over labels" in log_of(ev)
    gen = run_cli("fairseq-generate", tiny_data, *EVAL, "--path", ckpt, "--gen-subset", "test", "--beam", "3",
                  "--max-len-b", "8", "--model-overrides", "{'latent_source': 'prior', 'fixed_label': 1}")
    assert len([line for line in gen.stdout.splitlines() if line.startswith("H-")]) == 24


def test_generate_by_label_prints_one_line_per_label(semisup):
    """z = posterior mean of a validation document, y = every label; beam search and sampling."""
    ckpt, _ = semisup
    out = run_script("generate_by_label.py", "--path", ckpt, "--split", "valid", "--index", "2", "--seed", "3",
                     "--beam", "10", "--max-len", "8")
    assert "# posterior mean of valid document 2" in out.stdout
    sections, current = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("# beam"):
            current = "beam"
        elif line.startswith("# sampling"):
            current = "sample"
        elif current and not line.startswith("#"):
            sections.setdefault(current, []).append(line.split("\t"))
    for kind in ("beam", "sample"):
        assert [row[0] for row in sections[kind]] == ["tech", "sport"], out.stdout
        assert all(len(row) == 2 for row in sections[kind])


def test_plot_latent(semisup, tmp_path):
    ckpt, _ = semisup
    png = tmp_path / "latent.png"
    out = run_script("plot_latent.py", "--path", ckpt, "--split", "test", "--out", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "24 documents, z of dimension 4" in out.stdout


def test_unsupervised_clustering_run(tiny_data, tmp_path):
    save = tmp_path / "cluster"
    train = run_cli("fairseq-train", tiny_data, *SEMI, "--arch", "semisup_vae_scnn", "--num-labelled", "0",
                    "--kl-y-floor", "0.5", "--max-update", "6", "--save-dir", save, *TRAIN)
    log = log_of(train)
    assert "train: 0 labelled documents" in log and "train: 96 unlabelled documents" in log
    assert re.search(r"train_inner .*kl_y=[\d.]+.*ent_marg=[\d.]+", log)
    assert "clf_nll" not in log.split("begin training")[-1].split("valid on")[0]  # no labelled documents
    assert 0.0 <= valid_metric(log, "accuracy") <= 100.0
    # majority-named cluster accuracy: at least the share of the most frequent label, at most 100
    assert 50.0 <= valid_metric(log, "cluster_acc") <= 100.0
    out = run_script("evaluate_clustering.py", "--path", save / "checkpoint_last.pt", "--json", tmp_path / "c.json")
    assert re.search(r"clustering accuracy on test: [\d.]+ %", out.stdout)
    result = json.loads((tmp_path / "c.json").read_text())
    assert 0 <= result["test_accuracy"] <= 100 and result["num_test"] == 24
    assert "majority naming (not the paper's protocol)" in out.stdout and 0 <= result["test_accuracy_majority"] <= 100
    assert set(result["cluster_labels"]) <= {"sport", "tech"} and sum(result["test_cluster_sizes"]) == 24


def logged(log, key, update):
    found = re.findall(rf"{key}=([\d.]+).*num_updates={update}\b", log)
    assert found, log[-3000:]
    return float(found[0])


def test_temperature_resumes_exact_sum_straight_through_lstm_decoder(tiny_data, tmp_path):
    """The Gumbel temperature comes from the update count, so it continues after a resume."""
    common = [*SEMI, "--arch", "semisup_vae_lstm", "--num-labelled", "20", "--unlabelled-bound", "exact",
              "--straight-through", "--gumbel-temperature-start", "1.0", "--gumbel-temperature-rate", "0.05",
              "--gumbel-temperature-min", "0.1", "--save-dir", tmp_path / "ck", *TRAIN]
    first = run_cli("fairseq-train", tiny_data, *common, "--max-update", "4")
    resumed = run_cli("fairseq-train", tiny_data, *common, "--max-update", "8")
    assert "Loaded checkpoint" in log_of(resumed)
    # update t + 1 is taken with the update count t
    assert logged(log_of(first), "tau", 4) == pytest.approx(math.exp(-0.05 * 3), abs=1e-4)
    assert logged(log_of(resumed), "tau", 5) == pytest.approx(math.exp(-0.05 * 4), abs=1e-4)
    assert logged(log_of(resumed), "tau", 8) == pytest.approx(math.exp(-0.05 * 7), abs=1e-4)
    assert valid_metric(log_of(resumed), "accuracy") >= 0


@pytest.fixture(scope="module")
def lstm_lm(tiny_data, tmp_path_factory):
    save = tmp_path_factory.mktemp("lstm_lm")
    run_cli("fairseq-train", tiny_data, "--task", "text_vae", "--arch", "lstm_lm", "--decoder-embed-dim", "16",
            "--decoder-hidden-size", "24", "--decoder-out-embed-dim", "24", "--decoder-layers", "1",
            "--adaptive-softmax-cutoff", "0", "--criterion", "elbo", "--max-update", "3", "--save-dir", save, *TRAIN)
    return save / "checkpoint_last.pt"


def test_lstm_and_lm_lstm_baselines(tiny_data, tmp_path, lstm_lm):
    common = ["--task", "semisupervised_vae", "--num-labelled", "20", "--train-on-labelled-only", "--arch",
              "lstm_classifier", "--encoder-embed-dim", "16", "--encoder-hidden-dim", "24", "--criterion",
              "document_classification", "--max-epoch", "2", *TRAIN, "--batch-size", "8"]
    lstm = run_cli("fairseq-train", tiny_data, *common, "--save-dir", tmp_path / "lstm")
    assert "train: 0 unlabelled documents" in log_of(lstm) and "(--train-on-labelled-only)" in log_of(lstm)
    assert re.search(r"\| epoch 002 \| loss [\d.]+ \| accuracy [\d.]+", log_of(lstm))  # 20 documents, 3 batches
    assert 0 <= valid_metric(log_of(lstm), "accuracy") <= 100
    lm_lstm = run_cli("fairseq-train", tiny_data, *common, "--save-dir", tmp_path / "lm_lstm",
                      "--init-encoder-from", lstm_lm)
    assert "+ init: encoder initialised from" in log_of(lm_lstm)
    assert 0 <= valid_metric(log_of(lm_lstm), "accuracy") <= 100


def test_gmm_baseline(tiny_data, tmp_path, lstm_lm):
    out = tmp_path / "gmm"
    run_script("gmm_baseline.py", "--data", tiny_data, "--features", "lstm_lm", "--path", lstm_lm,
               "--pca-dims", "2,4", "--runs", "3", "--out", out)
    result = json.loads(out.with_suffix(".json").read_text())
    assert [row["pca_dim"] for row in result["rows"]] == [2, 4]
    for row in result["rows"]:
        assert len(row["train_loglik_runs"]) == 3 and row["train_loglik_best"] == max(row["train_loglik_runs"])
        assert 0 <= row["test_accuracy"] <= 100
        # majority naming on 2 labels: the validation purity is at least the larger label's share
        assert 50 <= row["valid_accuracy_majority"] <= 100 and 0 <= row["test_accuracy_majority"] <= 100
    assert sum(row["selected"] for row in result["rows"]) == 1 == sum(row["selected_majority"] for row in result["rows"])
    assert "| PCA dim |" in out.with_suffix(".md").read_text()

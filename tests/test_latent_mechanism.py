"""The paper's mechanism on data where it must show: a VAE with a short-sighted decoder uses z and beats
its language-model twin (trained through the real fairseq-train)."""
import re

import pytest

from helpers import TINY_CLI, run_cli
from user_dir.preprocessing import prepare_topics

UPDATES = "2500"
COMMON = ["--user-dir", "user_dir", "--cpu", "--task", "text_vae", "--criterion", "elbo", "--optimizer", "adam",
          "--lr", "3e-3", "--adam-betas", "(0.5, 0.999)", "--batch-size", "32", "--max-update", UPDATES,
          "--decoder-dilations", "[1]", *TINY_CLI, "--log-format", "simple", "--log-interval", "500",
          "--no-save", "--seed", "1", "--validate-interval", "1000"]


@pytest.fixture(scope="module")
def topic_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("topics")
    prepare_topics(out, sizes=(3000, 300, 10), overwrite=True)  # the corpus of prepare_corpus.py topics
    return out / "data-bin"


def last_validation(proc) -> dict:
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "valid on 'valid' subset" in line]
    assert lines, (proc.stdout + proc.stderr)[-3000:]
    return {k: float(v) for k, v in re.findall(r"\| (nll|kl|au|mi_ub) (-?[\d.]+)", lines[-1])}


def test_vae_uses_z_and_beats_its_lm_where_a_topic_is_worth_knowing(topic_data):
    """10 topics: a code holding the topic is worth up to log 10 = 2.3 nats per document. Decoder sees
    one previous word (receptive field 3, dilation [1]); the KL weight rises 0.01 -> 1 over 200 updates."""
    lm = last_validation(run_cli("fairseq-train", topic_data, *COMMON, "--arch", "dilated_cnn_lm_scnn"))
    vae = last_validation(run_cli("fairseq-train", topic_data, *COMMON, "--arch", "text_vae_scnn",
                                  "--encoder-embed-dim", "16", "--encoder-hidden-dim", "24", "--latent-dim", "4",
                                  "--latent-proj-dim", "8", "--kl-anneal-updates", "200"))
    assert lm["kl"] == 0
    assert vae["kl"] > 0.5 and vae["au"] >= 1 and vae["mi_ub"] > 0.5, (vae, lm)  # collapsed runs: KL < 0.1
    assert vae["nll"] < lm["nll"] - 1.0, (vae, lm)  # the bound, KL included, beats the LM by over a nat
    print(f"LM {lm}, VAE {vae}")

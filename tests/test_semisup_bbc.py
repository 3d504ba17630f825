"""One short semi-supervised run on the real BBC News corpus (5 topics, N = 100 labelled documents)."""
import re

from helpers import TINY_VAE_CLI, run_cli

BBC_TOPICS = {"business", "entertainment", "politics", "sports", "tech"}


def test_semisupervised_vae_on_bbc(bbc_data, tmp_path):
    proc = run_cli("fairseq-train", bbc_data, "--user-dir", "user_dir", "--cpu", "--task", "semisupervised_vae",
                   "--num-labelled", "100", "--labelled-seed", "1", "--arch", "semisup_vae_scnn", *TINY_VAE_CLI,
                   "--criterion", "semisupervised_elbo", "--alpha", "5", "--labelled-fraction", "0.1",
                   "--optimizer", "adam", "--lr", "0.003",
                   "--batch-size", "16", "--max-update", "4", "--max-valid-steps", "2", "--max-doc-tokens", "100",
                   "--log-format", "simple", "--log-interval", "1", "--no-save", "--seed", "1")
    log = proc.stdout + proc.stderr
    per_class = re.search(r"train: 100 labelled documents .*per class: (.*)\n", log)
    assert per_class, log[-3000:]
    counts = dict(item.split("=") for item in per_class.group(1).split(", "))
    assert set(counts) == BBC_TOPICS and sum(map(int, counts.values())) == 100
    assert all(15 <= int(n) <= 25 for n in counts.values())  # stratified: 16-24 per topic
    assert re.search(r"documents also occur in a validation/test split: they are never labelled", log)
    assert re.search(r"each labelled document 8x per epoch", log)  # --labelled-fraction 0.1
    assert re.search(r"valid on 'valid' subset .*\| accuracy [\d.]+", log)

"""The hub interface (``TextVAE.from_pretrained``): tiny models trained by the real fairseq-train on a raw
corpus prepared by scripts/prepare_corpus.py, used from another working directory on raw text."""
import json
import logging
import math
import random
import re
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import REPO, cli_env
from helpers import TINY_VAE_CLI, run_cli
from tiny_corpus import make_documents

TRAIN = ["--user-dir", "user_dir", "--cpu", "--optimizer", "adam", "--lr", "0.003", "--batch-size", "16",
         "--log-format", "simple", "--no-epoch-checkpoints", "--seed", "1", "--max-update", "4"]


def raw_text(words, rng):
    """The tiny corpus's words as raw text: a capital, a comma, a full stop."""
    words = list(words)
    words[0] = words[0].capitalize()
    words[rng.randrange(len(words))] += ","
    return " ".join(words) + "."


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Raw labelled splits prepared with ``prepare_corpus.py text --tokenize``; returns the output folder."""
    root = tmp_path_factory.mktemp("hub")
    rng = random.Random(0)
    for seed, (split, n) in enumerate((("train", 96), ("valid", 24), ("test", 24))):
        docs, labels = make_documents(n, seed)
        (root / f"{split}.txt").write_text("".join(raw_text(d.split(), rng) + "\n" for d in docs))
        (root / f"{split}.label").write_text("".join(f"{label}\n" for label in labels))
    out = root / "prepared"
    subprocess.run([sys.executable, str(REPO / "scripts" / "prepare_corpus.py"), "text", "--tokenize",
                    "--out", str(out), *(f"--{s}={root / s}.txt" for s in ("train", "valid", "test"))],
                   check=True, capture_output=True, cwd=REPO, env=cli_env())
    return out


@pytest.fixture(scope="module")
def vae_dir(corpus, tmp_path_factory):
    save = tmp_path_factory.mktemp("vae")
    run_cli("fairseq-train", corpus / "data-bin", "--task", "text_vae", "--arch", "text_vae_scnn", *TINY_VAE_CLI,
            "--criterion", "elbo", "--save-dir", save, *TRAIN)
    return save


@pytest.fixture(scope="module")
def semisup_dir(corpus, tmp_path_factory):
    save = tmp_path_factory.mktemp("semisup")
    run_cli("fairseq-train", corpus / "data-bin", "--task", "semisupervised_vae", "--criterion", "semisupervised_elbo",
            "--arch", "semisup_vae_scnn", *TINY_VAE_CLI, "--num-labelled", "20", "--save-dir", save, *TRAIN)
    return save


@pytest.fixture
def vae(vae_dir, corpus, tmp_path, monkeypatch):
    from user_dir.models.text_vae import TextVAE

    monkeypatch.chdir(tmp_path)
    return TextVAE.from_pretrained(str(vae_dir), data_name_or_path=str(corpus / "data-bin"))


def test_preparation_records_its_text_steps_beside_the_dictionary(corpus):
    recipe = json.loads((corpus / "data-bin" / "preprocessing.json").read_text())
    assert recipe == {"tokenizer": "moses", "lang": "en", "lowercase": True, "max_tokens": None, "bpe_codes": None}


def test_raw_text_is_tokenised_as_the_preparation_did(vae, corpus):
    raw = (corpus.parent / "test.txt").read_text().splitlines()
    assert re.search(r"[A-Z].*,.*\.$", raw[0])
    assert vae.tokenize(raw) == (corpus / "test.txt").read_text().splitlines()
    assert vae.unknown_tokens == 0 or "<unk>" in (corpus / "test.txt").read_text()


def test_encode_is_deterministic_and_batched(vae, corpus):
    texts = (corpus.parent / "valid.txt").read_text().splitlines()
    mu, logvar = vae.encode(texts, batch_size=5)
    assert mu.shape == logvar.shape == (24, 4)
    again, _ = vae.encode(texts[:3])
    assert torch.allclose(again, mu[:3], atol=1e-6)
    assert torch.equal(vae.encode([texts[0]])[0], vae.encode([texts[0]])[0])


def test_score_is_the_bound_fairseq_eval_lm_reports(vae_dir, corpus, tmp_path, monkeypatch):
    """With z = the posterior mean (a deterministic bound) on both sides, the summed scores of the raw test
    documents equal fairseq-eval-lm's total on the binarised test split."""
    from user_dir.models.text_vae import TextVAE

    ev = run_cli("fairseq-eval-lm", corpus / "data-bin", "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
                 "--path", vae_dir / "checkpoint_best.pt", "--gen-subset", "test", "--batch-size", "8",
                 "--model-overrides", "{'latent_source': 'mean'}")
    log = ev.stdout + ev.stderr
    tokens = int(re.findall(r"Evaluated ([\d,]+) tokens", log)[-1].replace(",", ""))
    loss_bits = float(re.findall(r"Loss \(base 2\): ([\d.]+)", log)[-1])
    monkeypatch.chdir(tmp_path)
    hub = TextVAE.from_pretrained(str(vae_dir), data_name_or_path=str(corpus / "data-bin"), latent_source="mean")
    scores = hub.score((corpus.parent / "test.txt").read_text().splitlines(), batch_size=7)
    assert scores.shape == (24,)
    assert float(scores.sum()) == pytest.approx(loss_bits * math.log(2) * tokens, rel=1e-4)


def test_sampled_bounds_are_seeded(vae, corpus):
    texts = (corpus.parent / "test.txt").read_text().splitlines()[:4]
    assert torch.equal(vae.score(texts, seed=3), vae.score(texts, seed=3))
    iw = vae.score(texts, iw_samples=5, iw_chunk=2, seed=3)
    assert iw.shape == (4,) and torch.isfinite(iw).all() and (iw > 0).all()


def test_reconstruct_sample_interpolate_return_text(vae, corpus):
    texts = (corpus.parent / "test.txt").read_text().splitlines()[:3]
    recon = vae.reconstruct(texts, beam=3, max_len=10)
    assert len(recon) == 3 and all(isinstance(t, str) for t in recon)
    assert vae.reconstruct(texts, beam=3, max_len=10) == recon
    assert len(vae.reconstruct(texts, latent="sample", sampling=True, max_len=10, seed=1)) == 3
    samples = vae.sample(4, max_len=10, seed=2)
    assert len(samples) == 4 and samples == vae.sample(4, max_len=10, seed=2)
    assert len(vae.interpolate(texts[0], texts[1], steps=4, max_len=10)) == 4


def test_unknown_words_are_counted_and_empty_texts_refused(vae, caplog):
    with caplog.at_level(logging.WARNING):
        vae.encode(["The zyzzyva team, qwxq."])
    assert vae.unknown_tokens == 2
    assert "2 of 6 tokens of the 1 texts are not in the dictionary" in caplog.text
    with pytest.raises(ValueError, match="text 1 is empty or whitespace only"):
        vae.encode(["The team.", " \t "])
    with pytest.raises(ValueError, match="text 0 is empty"):
        vae.score([""])
    with pytest.raises(ValueError, match="no texts given"):
        vae.encode([])
    with pytest.raises(TypeError, match=r"pass \[text\]"):
        vae.encode("The team.")


def test_bpe_and_cut_are_replayed_on_raw_text_and_undone_on_output(tmp_path):
    """A recipe with BPE codes and a cut: raw text gets the prepared lines, and output loses its BPE."""
    from sacremoses import MosesDetokenizer

    from user_dir.preprocessing import prepare_text
    from user_dir.preprocessing.raw_text import RawText

    words = ["Lowering", "lowest,", "newer", "Wider", "newest.", "widest", "(low)"]
    raw = [" ".join(words[(i + j) % len(words)] for j in range(4 + i % 5)) for i in range(40)]
    (tmp_path / "x.txt").write_text("\n".join(raw) + "\n")
    out = tmp_path / "out"
    prepare_text(out, input=tmp_path / "x.txt", split="30,5,5", tokenize=True, bpe_merges=10, max_tokens=6)
    data_bin = out / "data-bin"
    recipe = json.loads((data_bin / "preprocessing.json").read_text())
    assert recipe["bpe_codes"] == "bpe.codes" and recipe["max_tokens"] == 6
    assert (data_bin / "bpe.codes").read_text() == (out / "bpe.codes").read_text()
    text = RawText(data_bin)
    by_words = dict(zip((out / "train.words.txt").read_text().splitlines(),
                        (out / "train.txt").read_text().splitlines()))
    tokenized = text.tokenize(raw)
    assert set(by_words.values()) <= set(tokenized) and any("@@ " in line for line in tokenized)
    detok = MosesDetokenizer(lang="en")
    for words_line, bpe_line in by_words.items():
        assert text.detokenize(bpe_line) == detok.detokenize(words_line.split())


def test_data_without_a_recipe_is_split_on_whitespace(vae_dir, corpus, tmp_path, monkeypatch, caplog):
    from user_dir.models.text_vae import TextVAE

    old = tmp_path / "old-data-bin"
    shutil.copytree(corpus / "data-bin", old)
    (old / "preprocessing.json").unlink()
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING):
        hub = TextVAE.from_pretrained(str(vae_dir), data_name_or_path=str(old))
    assert "has no preprocessing.json" in caplog.text
    assert hub.tokenize(["The team, won."]) == ["The team, won."]


def test_semisupervised_classify_generate_score(semisup_dir, corpus, tmp_path, monkeypatch):
    from user_dir.models.semisup_vae import SemiSupervisedVAE
    from user_dir.models.text_vae import TextVAE

    monkeypatch.chdir(tmp_path)
    hub = SemiSupervisedVAE.from_pretrained(str(semisup_dir), data_name_or_path=str(corpus / "data-bin"))
    texts = (corpus.parent / "test.txt").read_text().splitlines()[:5]
    labels = hub.classify(texts)
    assert len(labels) == 5 and set(labels) <= {"sport", "tech"} and set(hub.labels) == {"sport", "tech"}
    assert isinstance(hub.generate("tech", beam=10, max_len=8, seed=1), str)
    assert hub.generate("sport", z=torch.zeros(4), max_len=8) == hub.generate("sport", z=torch.zeros(1, 4), max_len=8)
    with pytest.raises(ValueError, match="unknown label 'art'"):
        hub.generate("art")
    assert hub.encode(texts)[0].shape == (5, 4)
    for scores in (hub.score(texts, seed=1), hub.score(texts, iw_samples=3, seed=1)):
        assert scores.shape == (5,) and torch.isfinite(scores).all()
    assert len(hub.reconstruct(texts[:2], max_len=8)) == 2 and len(hub.sample(2, max_len=8, seed=1)) == 2
    with pytest.raises(ValueError, match="holds a SemiSupervisedVAE, not a TextVAE"):
        TextVAE.from_pretrained(str(semisup_dir), data_name_or_path=str(corpus / "data-bin"))


def readme_python_example() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Using a trained model from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the section holds one Python example"
    return blocks[0]


def test_readme_python_example_runs(vae_dir, semisup_dir, corpus, tmp_path):
    code = readme_python_example()
    for placeholder, value in (("runs/vae", vae_dir), ("runs/semisup", semisup_dir),
                               ("data/mine/data-bin", corpus / "data-bin")):
        assert placeholder in code
        code = code.replace(placeholder, str(value))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]

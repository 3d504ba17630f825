"""Generic one-document-per-line corpora: reading, labels, splitting, outputs.

No fairseq binarisation here (``binarize=False``); the BBC tests cover it.
"""
import json
import sys
from collections import Counter

import pytest

from user_dir.preprocessing import (CorpusError, Tokenizer, ToolError, load_text_files, load_text_split,
                                    parse_split_spec, prepare_text, read_documents,
                                    read_labelled_documents, split_indices)
from user_dir.preprocessing.tools import run as run_tool


def write(path, lines, labels=None):
    """Write ``lines`` (str or bytes) one per line, and ``labels`` to path.label."""
    data = b"".join((ln if isinstance(ln, bytes) else ln.encode("utf-8")) + b"\n" for ln in lines)
    path.write_bytes(data)
    if labels is not None:
        path.with_suffix(".label").write_text("".join(f"{lab}\n" for lab in labels), encoding="utf-8")
    return path


def corpus(tmp_path, n_per_label=100, labels=("a", "b", "c"), name="all.txt"):
    lines, labs = [], []
    for lab in labels:  # sorted in blocks, like the Yahoo file
        for i in range(n_per_label):
            lines.append(f"document {i} about {lab} words")
            labs.append(lab)
    return write(tmp_path / name, lines, labs)


# ---------------------------------------------------------------- splitting

def test_split_reproducible_and_stratified(tmp_path):
    path = corpus(tmp_path)
    a, _ = load_text_split(path, "240,30,30", seed=3)
    b, _ = load_text_split(path, "240,30,30", seed=3)
    c, _ = load_text_split(path, "240,30,30", seed=4)
    key = lambda docs: {s: [d.line for d in docs[s]] for s in docs}  # noqa: E731
    assert key(a) == key(b)
    assert key(a) != key(c)
    for split, n in (("train", 80), ("valid", 10), ("test", 10)):
        assert Counter(d.label for d in a[split]) == {"a": n, "b": n, "c": n}
    lines = [d.line for s in a for d in a[s]]
    assert len(lines) == len(set(lines)) == 300
    # the split is shuffled, not in file order
    assert [d.line for d in a["train"]] != sorted(d.line for d in a["train"])


def test_split_unlabelled_and_fractions(tmp_path):
    path = write(tmp_path / "x.txt", [f"doc {i}" for i in range(50)])
    docs, stats = load_text_split(path, "0.8,0.1,0.1", seed=1)
    assert [len(docs[s]) for s in ("train", "valid", "test")] == [40, 5, 5]
    assert docs["train"][0].label is None
    assert stats["unused_documents"] == 0
    docs, stats = load_text_split(path, "30,5,5", seed=1)
    assert stats["unused_documents"] == 10


def test_split_indices_uneven_labels():
    labels = ["x"] * 70 + ["y"] * 20 + ["z"] * 10
    parts = split_indices(100, (80, 10, 10), seed=0, labels=labels)
    assert sorted(i for p in parts for i in p) == list(range(100))
    valid = Counter(labels[i] for i in parts[1])
    assert valid == {"x": 7, "y": 2, "z": 1}


def test_split_too_large(tmp_path):
    path = write(tmp_path / "x.txt", [f"doc {i}" for i in range(10)])
    with pytest.raises(CorpusError) as e:
        load_text_split(path, "8,2,2")
    assert e.value.path == str(path) and "12" in str(e.value)


@pytest.mark.parametrize("spec", ["1,2", "a,b,c", "0,1,1", "0.8,0.3,0.1", "1,,2"])
def test_bad_split_spec(spec):
    with pytest.raises(ValueError):
        parse_split_spec(spec)


# ---------------------------------------------------------------- reading

def test_invalid_utf8_error_names_file_and_line(tmp_path):
    path = write(tmp_path / "t.txt", ["fine", b"bad \xa3 byte", "fine"])
    with pytest.raises(CorpusError) as e:
        read_documents(path, invalid_utf8="error")
    assert (e.value.path, e.value.line) == (str(path), 2)
    assert str(e.value).startswith(f"{path}:2: invalid UTF-8")
    assert "0xa3" in str(e.value)


def test_invalid_utf8_replace_counts(tmp_path):
    path = write(tmp_path / "t.txt", ["fine", b"bad \xa3 byte", b"\xff\xfe", "fine"])
    docs, counts = read_documents(path, invalid_utf8="replace")
    assert counts.replaced_utf8 == 2 and counts.replaced_utf8_lines == [2, 3]
    assert docs[1].text == "bad \ufffd byte"
    assert (counts.read, counts.kept, counts.skipped_empty) == (4, 4, 0)


def test_empty_lines_skipped_labels_aligned(tmp_path):
    path = write(tmp_path / "t.txt", ["one", "", "   \t", "four", "\u3000", "six"],
                 ["A", "", "x", "B", "y", "C"])
    docs, counts = read_labelled_documents(path, path.with_suffix(".label"))
    assert [(d.text, d.label, d.line) for d in docs] == [("one", "A", 1), ("four", "B", 4), ("six", "C", 6)]
    assert (counts.read, counts.kept, counts.skipped_empty) == (6, 3, 3)


def test_crlf_bom_and_inner_line_separators(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xef\xbb\xbffirst\r\nsecond\rhalf \xe2\x80\xa8 x\x0by\r\nlast")
    docs, counts = read_documents(path)
    assert [d.text for d in docs] == ["first", "second half x y", "last"]
    assert counts.read == 3


def test_missing_input_file(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(CorpusError) as e:
        read_documents(missing)
    assert e.value.path == str(missing) and e.value.line is None
    assert str(e.value).startswith(f"{missing}: cannot read file")
    with pytest.raises(CorpusError):
        prepare_text(tmp_path / "out", input=missing, split="1,1,1", binarize=False)


# ---------------------------------------------------------------- labels

def test_label_count_mismatch(tmp_path):
    path = write(tmp_path / "t.txt", ["a", "b", "c"])
    label = tmp_path / "t.label"
    label.write_text("x\ny\n")
    with pytest.raises(CorpusError) as e:
        read_labelled_documents(path, label)
    msg = str(e.value)
    assert str(label) in msg and str(path) in msg and "2 lines" in msg and "has 3" in msg


def test_empty_label(tmp_path):
    path = write(tmp_path / "t.txt", ["a", "b", "c"], ["x", "", "y"])
    with pytest.raises(CorpusError) as e:
        read_labelled_documents(path, path.with_suffix(".label"))
    assert str(e.value) == f"{path.with_suffix('.label')}:2: empty label"


def test_label_with_space_or_reserved(tmp_path):
    path = write(tmp_path / "t.txt", ["a", "b"], ["x", "two words"])
    with pytest.raises(CorpusError, match=r"t\.label:2: .*whitespace"):
        read_labelled_documents(path, path.with_suffix(".label"))
    path = write(tmp_path / "u.txt", ["a", "b"], ["<unk>", "x"])
    with pytest.raises(CorpusError, match=r"u\.label:1: .*reserved"):
        read_labelled_documents(path, path.with_suffix(".label"))


def test_unseen_label_in_valid(tmp_path):
    train = write(tmp_path / "train.txt", ["a", "b"], ["x", "y"])
    valid = write(tmp_path / "valid.txt", ["c", "d", "e"], ["x", "y", "z"])
    test = write(tmp_path / "test.txt", ["f"], ["x"])
    with pytest.raises(CorpusError) as e:
        load_text_files(train, valid, test)
    assert (e.value.path, e.value.line) == (str(tmp_path / "valid.label"), 3)
    assert "'z'" in str(e.value)


def test_labels_for_some_splits_only(tmp_path):
    train = write(tmp_path / "train.txt", ["a"], ["x"])
    valid = write(tmp_path / "valid.txt", ["b"])
    test = write(tmp_path / "test.txt", ["c"], ["x"])
    with pytest.raises(CorpusError, match="valid.label"):
        load_text_files(train, valid, test)


# ---------------------------------------------------------------- tokenising

def test_tokenizer_moses_and_unk():
    tok = Tokenizer(tokenize=True)
    assert tok("Profits rose 76% (to $1bn) & <unk> said _UNK.") == \
        "profits rose 76 % ( to $ 1bn ) & <unk> said <unk> ."
    assert "<unk>" not in tok("MY_UNKNOWN x")  # a marker only counts as a word of its own
    plain = Tokenizer(tokenize=False)
    assert plain("What _UNK is <unk> , Here") == "What <unk> is <unk> , Here"


# ---------------------------------------------------------------- pipeline and output folder

def test_prepare_text_writes_outputs(tmp_path):
    path = corpus(tmp_path)
    out = tmp_path / "out"
    stats = prepare_text(out, input=path, split="240,30,30", seed=1, binarize=False)
    for split, n in (("train", 240), ("valid", 30), ("test", 30)):
        assert len((out / f"{split}.txt").read_text().splitlines()) == n
        assert len((out / f"{split}.label").read_text().splitlines()) == n
        assert stats["splits"][split]["labels"] == {k: n // 3 for k in "abc"}
    on_disk = json.loads((out / "prepare_stats.json").read_text())
    assert on_disk["inputs"][str(path)]["kept"] == 300
    assert on_disk["skipped"]["empty_lines"] == 0
    # the text lines of train and their labels still belong together
    pairs = zip((out / "train.txt").read_text().splitlines(), (out / "train.label").read_text().splitlines())
    assert all(text.endswith(f"about {lab} words") for text, lab in pairs)


def test_output_dir_holding_data(tmp_path):
    path = corpus(tmp_path, n_per_label=10)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.md").write_text("keep me")
    with pytest.raises(CorpusError) as e:
        prepare_text(out, input=path, split="24,3,3", binarize=False)
    assert e.value.path == str(out) and "--overwrite" in str(e.value)
    prepare_text(out, input=path, split="24,3,3", binarize=False, overwrite=True)
    (out / "data-bin").mkdir()
    (out / "data-bin" / "stale").write_text("x")
    prepare_text(out, input=path, split="20,5,5", binarize=False, overwrite=True)
    assert len((out / "train.txt").read_text().splitlines()) == 20
    assert (out / "notes.md").read_text() == "keep me"
    assert not (out / "data-bin").exists()
    with pytest.raises(CorpusError):
        prepare_text(out / "notes.md", input=path, split="24,3,3", binarize=False, overwrite=True)


def test_truncation_and_tokenize(tmp_path):
    path = write(tmp_path / "x.txt", ["Hello, World! " * 10] + [f"Doc {i}." for i in range(9)])
    stats = prepare_text(tmp_path / "out", input=path, split="6,2,2", tokenize=True,
                         max_tokens=5, binarize=False)
    assert stats["skipped"]["truncated"] == 1
    assert stats["inputs"][str(path)]["truncated"] == 1
    lines = [line for s in ("train", "valid", "test")
             for line in (tmp_path / "out" / f"{s}.txt").read_text().splitlines()]
    assert "hello , world ! hello" in lines
    assert all(line == line.lower() and len(line.split()) <= 5 for line in lines)


def test_bpe(tmp_path):
    words = ["lowering", "lowest", "newer", "wider", "newest", "widest", "_UNK"]
    lines = [" ".join(words[(i + j) % len(words)] for j in range(8)) for i in range(40)]
    path = write(tmp_path / "x.txt", lines)
    out = tmp_path / "out"
    stats = prepare_text(out, input=path, split="30,5,5", bpe_merges=10, binarize=False)
    assert (out / "bpe.codes").stat().st_size > 0
    bpe_text = (out / "train.txt").read_text()
    assert "@@ " in bpe_text and "<unk>" in bpe_text and "<@@" not in bpe_text
    words_text = (out / "train.words.txt").read_text()
    assert "@@" not in words_text
    assert bpe_text.replace("@@ ", "") == words_text
    assert stats["bpe_merges"] == 10


def test_tool_failure_reports_output_tail():
    with pytest.raises(ToolError) as e:
        run_tool([sys.executable, "-c", "import sys; print('some log'); sys.stderr.write('boom\\n'); sys.exit(3)"])
    assert "exit status 3" in str(e.value) and "boom" in str(e.value)

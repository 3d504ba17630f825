"""Property test of the reading/splitting layer: arbitrary input either reads with
consistent counts and aligned labels, or raises CorpusError - nothing else."""
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from user_dir.preprocessing import CorpusError, load_text_split, read_labelled_documents

WHITESPACE = " \t\r\x0b\x0c\x1c\x85\xa0\u2028\u3000"

valid_line = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
                     min_size=1, max_size=20).map(lambda s: s.encode("utf-8"))
empty_line = st.just(b"")
space_line = st.text(alphabet=WHITESPACE.replace("\r", ""), min_size=1, max_size=5).map(
    lambda s: s.encode("utf-8"))
invalid_line = st.binary(min_size=1, max_size=12).filter(lambda b: b"\n" not in b)
line = st.one_of(valid_line, empty_line, space_line, invalid_line)
# for the split test: mostly good lines, so that splits succeed often enough
mostly_valid_line = st.sampled_from([valid_line] * 4 + [empty_line, space_line, invalid_line]).flatmap(
    lambda strategy: strategy)
# mostly good labels, sometimes an empty one or one with a space (both errors for kept lines)
label = st.sampled_from(["a", "b", "c", "a", "b", "c", "a", "b", "c", "", "two words"])

# database=None: no example database is saved (tmp_path_factory is safe to share across examples)
SETTINGS = settings(max_examples=50, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def expected_text(raw, policy, first=False):
    """What the reader should make of one raw line (None: an error is due)."""
    if first and raw.startswith(b"\xef\xbb\xbf"):  # a byte-order mark opening the file is dropped
        raw = raw[3:]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return " ".join(raw.decode("utf-8").split())
    except UnicodeDecodeError:
        return None if policy == "error" else " ".join(raw.decode("utf-8", "replace").split())


@SETTINGS
@given(lines=st.lists(st.tuples(line, label), max_size=15),
       policy=st.sampled_from(["error", "replace"]), with_labels=st.booleans())
def test_reader_lines(tmp_path_factory, lines, policy, with_labels):
    tmp = tmp_path_factory.mktemp("p")
    text = tmp / "t.txt"
    text.write_bytes(b"".join(raw + b"\n" for raw, _ in lines))
    label_path = tmp / "t.label"
    label_path.write_text("".join(lab + "\n" for _, lab in lines), encoding="utf-8")
    try:
        docs, counts = read_labelled_documents(text, label_path if with_labels else None, policy)
    except CorpusError as e:
        event("CorpusError")
        assert e.path in (str(text), str(label_path)) and (e.line is None or 1 <= e.line <= len(lines))
        return
    event("read")
    assert counts.read == len(lines)
    assert counts.kept + counts.skipped_empty == counts.read == len(lines)
    assert counts.kept == len(docs)
    expected = [(i, expected_text(raw, policy, i == 1), lab) for i, (raw, lab) in enumerate(lines, 1)]
    assert None not in [t for _, t, _ in expected]  # policy "error" would have raised
    kept = [(i, t, lab) for i, t, lab in expected if t]
    assert [(d.line, d.text) for d in docs] == [(i, t) for i, t, _ in kept]
    if with_labels:
        assert [d.label for d in docs] == [lab for _, _, lab in kept]
    assert counts.replaced_utf8 == (0 if policy == "error" else
                                    sum(expected_text(raw, "error", i == 1) is None
                                        for i, (raw, _) in enumerate(lines, 1)))
    assert all("\n" not in d.text and "\r" not in d.text and d.text == d.text.strip() for d in docs)


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300),
                      st.lists(mostly_valid_line, min_size=8, max_size=25).map(b"\n".join)),
       policy=st.sampled_from(["error", "replace"]),
       sizes=st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(1, 2)), seed=st.integers(0, 5))
def test_reader_and_split_random_bytes(tmp_path_factory, data, policy, sizes, seed):
    tmp = tmp_path_factory.mktemp("r")
    text = tmp / "r.txt"
    text.write_bytes(data)
    try:
        docs, stats = load_text_split(text, ",".join(map(str, sizes)), seed=seed, invalid_utf8=policy,
                                      label_path=None)
    except CorpusError as e:
        event("CorpusError: " + ("invalid UTF-8" if "UTF-8" in e.message else "too few documents"))
        assert e.path == str(text)
        return
    event("split")
    counts = stats["inputs"][str(text)]
    assert counts.kept + counts.skipped_empty == counts.read
    assert [len(docs[s]) for s in ("train", "valid", "test")] == list(sizes)
    lines = [d.line for s in docs for d in docs[s]]
    assert len(set(lines)) == len(lines) == sum(sizes) <= counts.kept
    again, _ = load_text_split(text, ",".join(map(str, sizes)), seed=seed, invalid_utf8=policy,
                               label_path=None)
    assert {s: [d.line for d in again[s]] for s in again} == {s: [d.line for d in docs[s]] for s in docs}

"""Property test of the reading/splitting layer: arbitrary input either reads with
consistent counts and aligned labels, or raises CorpusError - nothing else."""
from hypothesis import HealthCheck, given, settings
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
label = st.one_of(st.sampled_from(["a", "b", "c"]), st.just(""), st.just("two words"))

# database=None: no .hypothesis folder is written into the repository
SETTINGS = settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def expected_text(raw, policy):
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
        assert e.path in (str(text), str(label_path)) and (e.line is None or 1 <= e.line <= len(lines))
        return
    assert counts.read == len(lines)
    assert counts.kept + counts.skipped_empty == counts.read == len(lines)
    assert counts.kept == len(docs)
    expected = [(i, expected_text(raw, policy), lab) for i, (raw, lab) in enumerate(lines, 1)]
    assert None not in [t for _, t, _ in expected]  # policy "error" would have raised
    kept = [(i, t, lab) for i, t, lab in expected if t]
    assert [(d.line, d.text) for d in docs] == [(i, t) for i, t, _ in kept]
    if with_labels:
        assert [d.label for d in docs] == [lab for _, _, lab in kept]
    assert counts.replaced_utf8 == (0 if policy == "error" else
                                    sum(expected_text(raw, "error") is None for raw, _ in lines))
    assert all("\n" not in d.text and "\r" not in d.text and d.text == d.text.strip() for d in docs)


@SETTINGS
@given(data=st.binary(max_size=300), policy=st.sampled_from(["error", "replace"]),
       sizes=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 5))
def test_reader_and_split_random_bytes(tmp_path_factory, data, policy, sizes, seed):
    tmp = tmp_path_factory.mktemp("r")
    text = tmp / "r.txt"
    text.write_bytes(data)
    try:
        docs, stats = load_text_split(text, ",".join(map(str, sizes)), seed=seed, invalid_utf8=policy,
                                      label_path=None)
    except CorpusError as e:
        assert e.path == str(text)
        return
    counts = stats["inputs"][str(text)]
    assert counts.kept + counts.skipped_empty == counts.read
    assert [len(docs[s]) for s in ("train", "valid", "test")] == list(sizes)
    lines = [d.line for s in docs for d in docs[s]]
    assert len(set(lines)) == len(lines) == sum(sizes) <= counts.kept
    again, _ = load_text_split(text, ",".join(map(str, sizes)), seed=seed, invalid_utf8=policy,
                               label_path=None)
    assert {s: [d.line for d in again[s]] for s in again} == {s: [d.line for d in docs[s]] for s in docs}

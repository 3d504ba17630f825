"""Parallel ``.label`` files: one label per line of the text file.

A label file must have exactly as many lines as its text file.  Lines whose text
was skipped as empty are skipped in the label file too, so documents and labels
stay aligned; every kept document needs a non-empty label that is a single
token (fairseq binarises labels like text, one token per line) and is not one
of fairseq's reserved symbols.  Labels of valid/test must all occur in train.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

from .errors import CorpusError, PathLike
from .reading import Document, ReadCounts, decode_line, read_bytes, read_documents, split_lines

#: fairseq's Dictionary reserves these; a label spelt like one would collide
RESERVED_LABELS = frozenset({"<s>", "<pad>", "</s>", "<unk>"})


def label_path_for(text_path: PathLike) -> Path:
    """The conventional label file next to a text file: same stem, ``.label``."""
    return Path(text_path).with_suffix(".label")


def read_label_lines(path: PathLike) -> List[str]:
    """All lines of a label file, stripped (empty lines kept as ``""``).

    Invalid UTF-8 in a label file is always an error.
    """
    return [decode_line(raw, path, number, "error")[0].strip()
            for number, raw in split_lines(read_bytes(path))]


def attach_labels(docs: Sequence[Document], counts: ReadCounts,
                  text_path: PathLike, label_path: PathLike) -> None:
    """Set ``doc.label`` for each document from the parallel label file.

    Raises CorpusError when the line counts differ (naming both files and both
    counts) or a kept document's label is empty, has inner whitespace or is
    reserved (naming the label file and line).
    """
    labels = read_label_lines(label_path)
    if len(labels) != counts.read:
        raise CorpusError(
            label_path, None,
            f"has {len(labels)} lines but the text file {text_path} has {counts.read}; "
            "they must be parallel (one label per text line)")
    for doc in docs:
        label = labels[doc.line - 1]
        if not label:
            raise CorpusError(label_path, doc.line, "empty label")
        if len(label.split()) != 1:
            raise CorpusError(label_path, doc.line, f"label {label!r} contains whitespace")
        if label in RESERVED_LABELS:
            raise CorpusError(label_path, doc.line, f"label {label!r} is a reserved fairseq symbol")
        doc.label = label
        doc.label_source = str(label_path)


def read_labelled_documents(text_path: PathLike, label_path: Optional[PathLike] = None,
                            invalid_utf8: str = "error") -> Tuple[List[Document], ReadCounts]:
    """:func:`read_documents` plus, when ``label_path`` is given, aligned labels."""
    docs, counts = read_documents(text_path, invalid_utf8=invalid_utf8)
    if label_path is not None:
        attach_labels(docs, counts, text_path, label_path)
    return docs, counts


def check_labels_known(docs: Iterable[Document], known: Iterable[str]) -> None:
    """Raise CorpusError (naming the document's label file and line) for the
    first document whose label is not in ``known``."""
    known = set(known)
    for doc in sorted(docs, key=lambda d: (d.label_source, d.line)):
        if doc.label not in known:
            raise CorpusError(doc.label_source or doc.source, doc.line,
                              f"label {doc.label!r} never occurs in the training data")

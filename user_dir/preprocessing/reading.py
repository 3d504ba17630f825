"""Read a one-document-per-line text file into documents.

The file is read as bytes and split on ``\\n`` only (a trailing ``\\r`` is dropped),
so line numbers match what ``sed -n Np`` shows.  Each line is decoded as UTF-8;
what happens to invalid UTF-8 is the caller's policy:

* ``"error"``: raise :class:`CorpusError` naming the file, the line and the byte;
* ``"replace"``: decode with ``errors="replace"`` (U+FFFD) and count the line.

Empty and whitespace-only lines are skipped and counted; the surviving documents
keep their source line number so that a parallel label file can be aligned with
them (see :mod:`user_dir.preprocessing.labels`).  All runs of whitespace inside a
document (any Unicode whitespace, including ``\\r``, ``\\x0b``, ``\\x85``,
``\\u2028``) become one space, so a document can never turn into two lines when
fairseq reads it back.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Tuple

from .errors import CorpusError, PathLike

INVALID_UTF8_POLICIES = ("error", "replace")
#: how many line numbers of replaced lines are kept for the report
MAX_REPORTED_LINES = 20


@dataclass
class Document:
    """One document: normalised text, 1-based line in ``source``, optional
    label (read from line ``line`` of ``label_source``)."""

    text: str
    line: int
    label: Optional[str] = None
    source: str = ""
    label_source: str = ""


@dataclass
class ReadCounts:
    """What happened to the lines of one input file.

    ``read == kept + skipped_empty`` always holds for a file that was read
    without error.  ``truncated`` is filled in later by the pipeline.
    """

    read: int = 0
    kept: int = 0
    skipped_empty: int = 0
    replaced_utf8: int = 0
    replaced_utf8_lines: List[int] = field(default_factory=list)
    truncated: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def read_bytes(path: PathLike) -> bytes:
    """Return the file's bytes; a missing/unreadable file becomes a CorpusError."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CorpusError(path, None, f"cannot read file: {e.strerror or e}") from None


def split_lines(data: bytes) -> Iterator[Tuple[int, bytes]]:
    """Yield ``(line_number, raw_line)`` for each ``\\n``-terminated line.

    A final line without ``\\n`` counts; the empty string after a final ``\\n``
    does not.  A UTF-8 byte-order mark at the start and a ``\\r`` before each
    ``\\n`` are dropped.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data:
        return
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        yield number, raw


def decode_line(raw: bytes, path: PathLike, line: int, invalid_utf8: str) -> Tuple[str, bool]:
    """Decode one line; return ``(text, was_replaced)`` or raise CorpusError."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError as e:
        if invalid_utf8 == "replace":
            return raw.decode("utf-8", errors="replace"), True
        bad = raw[e.start:e.start + 1].hex()
        raise CorpusError(
            path, line,
            f"invalid UTF-8 (byte 0x{bad} at byte {e.start + 1} of the line: {e.reason}); "
            "re-encode the file as UTF-8 or use --invalid-utf8 replace") from None


def check_policy(invalid_utf8: str) -> None:
    if invalid_utf8 not in INVALID_UTF8_POLICIES:
        raise ValueError(f"invalid_utf8 must be one of {INVALID_UTF8_POLICIES}, got {invalid_utf8!r}")


def normalize_whitespace(text: str) -> str:
    """Collapse every run of (Unicode) whitespace to one space and strip."""
    return " ".join(text.split())


def read_documents(path: PathLike, invalid_utf8: str = "error") -> Tuple[List[Document], ReadCounts]:
    """Read a one-document-per-line file.

    Returns the non-empty documents (whitespace-normalised, with their 1-based
    line numbers) and a :class:`ReadCounts`.  Raises :class:`CorpusError` for a
    missing/unreadable file or (policy ``"error"``) invalid UTF-8.
    """
    check_policy(invalid_utf8)
    counts = ReadCounts()
    docs: List[Document] = []
    source = str(path)
    for number, raw in split_lines(read_bytes(path)):
        counts.read += 1
        text, replaced = decode_line(raw, path, number, invalid_utf8)
        if replaced:
            counts.replaced_utf8 += 1
            if len(counts.replaced_utf8_lines) < MAX_REPORTED_LINES:
                counts.replaced_utf8_lines.append(number)
        text = normalize_whitespace(text)
        if not text:
            counts.skipped_empty += 1
            continue
        counts.kept += 1
        docs.append(Document(text=text, line=number, source=source))
    return docs, counts

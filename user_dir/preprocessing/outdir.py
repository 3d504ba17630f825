"""The output folder: refuse to clobber it, clear it on ``--overwrite``, write files.

Layout written by the pipeline::

    OUT/{train,valid,test}.txt         one document per line (what was binarised)
    OUT/{train,valid,test}.label       one label per line (when there are labels)
    OUT/{train,valid,test}.words.txt   the text before BPE (only with BPE)
    OUT/bpe.codes                      BPE codes (only with BPE)
    OUT/data-bin/                      fairseq-preprocess output (+ data-bin/label/), the text
                                       steps in preprocessing.json (+ a copy of bpe.codes)
    OUT/prepare_stats.json             every count

``--overwrite`` removes only these names; anything else in OUT is left alone.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterable, List

from .errors import CorpusError, PathLike
from .reading import Document

SPLITS = ("train", "valid", "test")
STATS_FILE = "prepare_stats.json"
ARTEFACTS = tuple(f"{s}{ext}" for s in SPLITS for ext in (".txt", ".label", ".words.txt")) + (
    "bpe.codes", STATS_FILE, "data-bin")


def check_output_dir(out: PathLike, overwrite: bool) -> Path:
    """Raise CorpusError if ``out`` is a file, or a folder that holds anything
    and ``overwrite`` is false.  Nothing is created or removed here."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CorpusError(out, None, "output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        held = sorted(p.name for p in out.iterdir())
        shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
        raise CorpusError(out, None, f"output folder already holds data ({shown}); "
                                     "pass --overwrite to replace it")
    return out


def clear_outputs(out: Path) -> List[str]:
    """Create ``out`` and remove this pipeline's earlier artefacts from it."""
    out.mkdir(parents=True, exist_ok=True)
    removed = []
    for name in ARTEFACTS:
        path = out / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            continue
        removed.append(name)
    return removed


def write_lines(path: Path, lines: Iterable[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")


def write_split(out: Path, split: str, docs: List[Document], with_labels: bool) -> None:
    """Write ``OUT/split.txt`` (and ``.label``), one document per line."""
    write_lines(out / f"{split}.txt", (d.text for d in docs))
    if with_labels:
        write_lines(out / f"{split}.label", (str(d.label) for d in docs))


def write_stats(out: Path, stats: dict) -> Path:
    path = out / STATS_FILE
    with open(path, "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return path

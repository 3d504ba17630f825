"""Binarise prepared text with ``fairseq-preprocess --only-source``.

Text goes to ``OUT/data-bin`` (dictionary capped at ``vocab_size`` words),
labels, when present, to ``OUT/data-bin/label`` with their own dictionary, the
layout of fairseq's sentence_prediction data.  Both commands run at once, with
paths relative to ``OUT`` (fairseq splits ``--validpref`` on commas, so
absolute paths with commas would break).  The sentence counts fairseq reports
are checked against the number of documents written.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional

from .errors import ToolError
from .tools import find_tool, finish, start

SPLITS = ("train", "valid", "test")
_SUMMARY = re.compile(r"\] (\S+): (\d+) sents, (\d+) tokens(?:, ([0-9.eE+-]+)% replaced)?")


def preprocess_command(ext: str, destdir: str, vocab_size: Optional[int], workers: int = 1) -> List[str]:
    cmd = [find_tool("fairseq-preprocess", "Install fairseq (see setup.py)."), "--only-source",
           "--trainpref", f"train.{ext}", "--validpref", f"valid.{ext}", "--testpref", f"test.{ext}",
           "--destdir", destdir, "--workers", str(workers)]
    if vocab_size:
        cmd += ["--nwordssrc", str(vocab_size)]
    return cmd


def parse_summary(output: str) -> Dict[str, dict]:
    """``{"train.txt": {"sents": n, "tokens": m, "unk_percent": p}, ...}`` from fairseq's log."""
    found = {}
    for m in _SUMMARY.finditer(output):
        found[Path(m.group(1)).name] = {"sents": int(m.group(2)), "tokens": int(m.group(3)),
                                        "unk_percent": float(m.group(4)) if m.group(4) else None}
    return found


def binarize(out_dir: Path, doc_counts: Dict[str, int], vocab_size: Optional[int],
             with_labels: bool) -> dict:
    """Run fairseq-preprocess on ``OUT/{split}.txt`` (and ``.label``); return its summaries."""
    jobs = [("txt", "data-bin", vocab_size)]
    if with_labels:
        jobs.append(("label", "data-bin/label", None))
    running = []
    for ext, dest, vocab in jobs:
        cmd = preprocess_command(ext, dest, vocab)
        running.append((ext, dest, cmd, start(cmd, cwd=out_dir)))
    result = {}
    errors = []
    for ext, dest, cmd, proc in running:
        try:
            summary = parse_summary(finish(proc, cmd))
        except ToolError as e:
            errors.append(str(e))
            continue
        for split in SPLITS:
            got = summary.get(f"{split}.{ext}", {}).get("sents")
            if got != doc_counts[split]:
                errors.append(f"fairseq-preprocess reported {got} sentences for {split}.{ext}, "
                              f"expected {doc_counts[split]}")
        result[dest] = summary
    if errors:
        raise ToolError("\n".join(errors))
    for dest in result:
        if not (out_dir / dest / "dict.txt").is_file():
            raise ToolError(f"fairseq-preprocess wrote no {out_dir / dest / 'dict.txt'}")
    return result

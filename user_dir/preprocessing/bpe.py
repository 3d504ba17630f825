"""Optional BPE: learn codes on train with fastBPE's ``learnbpe`` tool, apply
them with the ``fastBPE`` Python module.  ``<unk>`` tokens are kept whole."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import List, Sequence

from .errors import ToolError
from .tokenizing import UNK
from .tools import find_tool, finish, start

BUILD_HINT = ("Build it with: python scripts/build_fastbpe_tool.py --out "
              "$(dirname $(python -c 'import sys; print(sys.executable)'))/fastbpe")


def learn_codes(train_text: Path, merges: int, codes_path: Path) -> None:
    """``fastbpe learnbpe MERGES train_text > codes_path``."""
    if merges <= 0:
        raise ValueError("the number of BPE merges must be positive")
    cmd = [find_tool("fastbpe", BUILD_HINT), "learnbpe", str(merges), str(train_text)]
    with open(codes_path, "w", encoding="utf-8") as out:
        finish(start(cmd, stdout=out), cmd)
    if codes_path.stat().st_size == 0:
        raise ToolError(f"fastbpe learnbpe wrote no codes to {codes_path}")


@contextlib.contextmanager
def _quiet_stdout():
    """Silence fastBPE's C++ "Loading codes ..." lines (written to file descriptor 1)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def apply_codes(codes_path: Path, lines: Sequence[str]) -> List[str]:
    """Apply BPE codes to each line, leaving ``<unk>`` tokens intact."""
    import fastBPE

    with _quiet_stdout():
        bpe = fastBPE.fastBPE(str(codes_path), "")
    # cut every line at its <unk> tokens, BPE all the pieces in one call, reassemble
    pieces: List[str] = []
    layout: List[List[object]] = []
    for line in lines:
        parts: List[object] = []
        run: List[str] = []
        for tok in line.split(" "):
            if tok == UNK:
                if run:
                    parts.append(len(pieces))
                    pieces.append(" ".join(run))
                    run = []
                parts.append(UNK)
            else:
                run.append(tok)
        if run:
            parts.append(len(pieces))
            pieces.append(" ".join(run))
        layout.append(parts)
    coded = bpe.apply(pieces) if pieces else []
    return [" ".join(coded[p] if isinstance(p, int) else p for p in parts) for parts in layout]

"""Find and run external commands, turning failures into :class:`ToolError`."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from .errors import ToolError

TAIL_LINES = 25


def find_tool(name: str, hint: str = "") -> str:
    """Path of ``name``: next to ``sys.executable`` (the venv's bin/) first, then PATH."""
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise ToolError(f"cannot find the {name!r} command next to {sys.executable} or on PATH. {hint}".strip())


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def start(cmd: Sequence[str], cwd: Optional[Path] = None, stdout=subprocess.PIPE) -> subprocess.Popen:
    try:
        return subprocess.Popen(list(cmd), cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise ToolError(f"cannot run {cmd[0]}: {e}") from None


def finish(proc: subprocess.Popen, cmd: Sequence[str]) -> str:
    """Wait for ``proc``; return its stdout+stderr, or raise ToolError with their tail."""
    out, err = proc.communicate()
    text = (out or "") + (err or "")
    if proc.returncode != 0:
        raise ToolError(f"command failed with exit status {proc.returncode}: {' '.join(map(str, cmd))}\n"
                        f"--- last lines of its output ---\n{tail(text)}")
    return text


def run(cmd: List[str], cwd: Optional[Path] = None) -> str:
    return finish(start(cmd, cwd=cwd), cmd)

"""Errors raised while preparing a corpus.

``CorpusError`` is for problems with the *input* (a bad byte, a missing label, an
output folder that already holds data): it names the file and, where there is
one, the 1-based line, so a user can go and fix it.  ``ToolError`` is for an
external tool (``fairseq-preprocess``, fastBPE's ``learnbpe``) that failed.
"""
from __future__ import annotations

import os
from typing import Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


class PrepareError(Exception):
    """Base class of every error this package raises on purpose."""


class CorpusError(PrepareError):
    """A problem with an input or output file, located by path and line.

    ``str(err)`` is ``"PATH:LINE: message"``, or ``"PATH: message"`` when
    ``line`` is None (a problem with the file as a whole).
    """

    def __init__(self, path: PathLike, line: Optional[int], message: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"

    def __reduce__(self):  # keep pickling (e.g. across processes) working
        return (type(self), (self.path, self.line, self.message))


class ToolError(PrepareError):
    """An external command failed; the message carries the tail of its output."""

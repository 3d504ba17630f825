"""Turn raw document text into space-separated tokens.

With ``tokenize=True`` text goes through sacremoses' ``MosesTokenizer(lang="en")``
(``escape=False``, so ``&`` stays ``&``) and is lower-cased.  With
``tokenize=False`` (already-tokenised corpora such as Yahoo) the text is only
split on whitespace.  In both modes the unknown-word markers ``_UNK`` and
``<unk>`` (also ``<UNK>``) become fairseq's ``<unk>``; they are protected from
Moses, which would otherwise cut ``<unk>`` into ``< unk >``.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

UNK = "<unk>"
UNK_MARKERS = ("_UNK", "<unk>", "<UNK>")
# a marker counts only as a word of its own (``MY_UNKNOWN`` is left alone)
_UNK_RE = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(m) for m in UNK_MARKERS) + r")(?![A-Za-z0-9_])")


class Tokenizer:
    """Callable ``text -> "tok tok tok"`` (see the module docstring)."""

    def __init__(self, tokenize: bool = True, lowercase: Optional[bool] = None, lang: str = "en") -> None:
        self.tokenize = tokenize
        self.lowercase = tokenize if lowercase is None else lowercase
        self.lang = lang
        self._moses = None
        if tokenize:
            from sacremoses import MosesTokenizer
            self._moses = MosesTokenizer(lang=lang)

    def tokens(self, text: str) -> List[str]:
        if self._moses is None:
            out = [UNK if t in UNK_MARKERS else t for t in text.split()]
            return [t.lower() for t in out] if self.lowercase else out
        out: List[str] = []
        for piece in _UNK_RE.split(text):
            if piece in UNK_MARKERS:  # re.split puts the captured markers at odd positions
                out.append(UNK)
            elif piece.strip():
                toks = self._moses.tokenize(piece, escape=False)
                out.extend(t.lower() for t in toks) if self.lowercase else out.extend(toks)
        return [t for tok in out for t in tok.split()]

    def __call__(self, text: str) -> str:
        return " ".join(self.tokens(text))


def tokenize_text(tokenizer: Tokenizer, text: str, max_tokens: Optional[int] = None) -> Tuple[List[str], bool]:
    """The tokens of ``text`` cut to ``max_tokens`` if given, and whether it was cut (the step the
    preparation applies to every document and the hub interface to raw input)."""
    tokens = tokenizer.tokens(text)
    cut = max_tokens is not None and len(tokens) > max_tokens
    return (tokens[:max_tokens] if cut else tokens), cut

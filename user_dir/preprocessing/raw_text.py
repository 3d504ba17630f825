"""Raw text to and from a model's token lines, by the recipe of its data-bin folder (:mod:`.recipe`).

The steps are the preparation's own functions: ``normalize_whitespace`` (reading),
``tokenize_text`` (Moses or whitespace tokeniser, lower-casing, the cut to
``max_tokens``) and ``apply_codes`` (BPE). On the way out BPE is undone and Moses
output detokenised (lower-casing cannot be undone).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Sequence

from fairseq.data.data_utils import post_process

from .bpe import apply_codes
from .errors import PathLike
from .reading import normalize_whitespace
from .recipe import RECIPE_FILE, TextRecipe, read_recipe
from .tokenizing import tokenize_text

logger = logging.getLogger(__name__)


def check_texts(texts: Sequence[str]) -> None:
    """Raise TypeError unless ``texts`` is a sequence of str (a bare str is refused: it would be read
    as one text per character)."""
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got one str: pass [text]")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is a {type(text).__name__}, not a str")


class RawText:
    """``tokenize``: raw texts -> the token lines the preparation would have written for them;
    ``detokenize``: a line of model output -> text. Without a recipe in the data folder (prepared
    before recipes were written) texts are split on whitespace only, with a warning."""

    def __init__(self, data_bin: PathLike):
        recipe = read_recipe(data_bin)
        if recipe is None:
            logger.warning(f"the data folder has no {RECIPE_FILE} (prepared by an older version): raw text is "
                           "split on whitespace only, without lower-casing, Moses tokenisation or BPE")
            recipe = TextRecipe()
        self.recipe = recipe
        self.tokenizer = recipe.build_tokenizer()
        self.bpe_codes = Path(data_bin) / recipe.bpe_codes if recipe.bpe_codes else None
        self._detokenizer = None
        if recipe.tokenizer == "moses":
            from sacremoses import MosesDetokenizer
            self._detokenizer = MosesDetokenizer(lang=recipe.lang)

    def tokenize(self, texts: Sequence[str]) -> List[str]:
        """One line of space-separated tokens per text; ValueError names the first text (by index)
        that is empty, whitespace only, or has no tokens left after tokenisation."""
        check_texts(texts)
        lines = []
        for i, text in enumerate(texts):
            text = normalize_whitespace(text)
            if not text:
                raise ValueError(f"text {i} is empty or whitespace only: every text needs at least one word")
            tokens, _ = tokenize_text(self.tokenizer, text, self.recipe.max_tokens)
            if not tokens:
                raise ValueError(f"text {i} has no tokens after tokenisation ({self.recipe.tokenizer})")
            lines.append(" ".join(tokens))
        return apply_codes(self.bpe_codes, lines) if self.bpe_codes else lines

    def detokenize(self, line: str) -> str:
        """Undo BPE and tokenisation on one line of tokens."""
        if self.bpe_codes:
            line = post_process(line, "subword_nmt")
        return self._detokenizer.detokenize(line.split()) if self._detokenizer else line

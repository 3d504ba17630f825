"""The record of what corpus preparation did to the text, kept beside the dictionary.

``DATA-BIN/preprocessing.json`` (written by the pipeline when it binarises)::

    {"tokenizer": "moses" | "whitespace", "lang": "en", "lowercase": true,
     "max_tokens": null | N, "bpe_codes": null | "bpe.codes"}

``bpe_codes`` names a copy of the codes inside the data-bin folder, so the folder
can be moved as a whole. :mod:`.raw_text` replays the record on new text.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import PathLike
from .tokenizing import Tokenizer

RECIPE_FILE = "preprocessing.json"
BPE_CODES_FILE = "bpe.codes"
TOKENIZERS = ("moses", "whitespace")


@dataclass
class TextRecipe:
    """The text steps of a data-bin folder; the default is whitespace tokenisation only."""

    tokenizer: str = "whitespace"
    lang: str = "en"
    lowercase: bool = False
    max_tokens: Optional[int] = None
    bpe_codes: Optional[str] = None

    def __post_init__(self):
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"{RECIPE_FILE}: unknown tokenizer {self.tokenizer!r} (expected one of {TOKENIZERS})")

    def build_tokenizer(self) -> Tokenizer:
        """The ``Tokenizer`` the preparation used."""
        return Tokenizer(tokenize=self.tokenizer == "moses", lowercase=self.lowercase, lang=self.lang)


def write_recipe(data_bin: Path, tokenizer: Tokenizer, max_tokens: Optional[int],
                 bpe_codes: Optional[Path]) -> Path:
    """Record ``tokenizer``, ``max_tokens`` and the BPE codes (copied in) in ``data_bin``; returns the file."""
    recipe = TextRecipe(tokenizer="moses" if tokenizer.tokenize else "whitespace", lang=tokenizer.lang,
                        lowercase=tokenizer.lowercase, max_tokens=max_tokens,
                        bpe_codes=BPE_CODES_FILE if bpe_codes else None)
    if bpe_codes:
        shutil.copyfile(bpe_codes, data_bin / BPE_CODES_FILE)
    path = data_bin / RECIPE_FILE
    path.write_text(json.dumps(dataclasses.asdict(recipe), indent=2) + "\n", encoding="utf-8")
    return path


def read_recipe(data_bin: PathLike) -> Optional[TextRecipe]:
    """The recipe of a data-bin folder, or None if it has none (prepared before recipes were written)."""
    path = Path(data_bin) / RECIPE_FILE
    if not path.is_file():
        return None
    fields = json.loads(path.read_text(encoding="utf-8"))
    known = {f.name for f in dataclasses.fields(TextRecipe)}
    return TextRecipe(**{k: v for k, v in fields.items() if k in known})

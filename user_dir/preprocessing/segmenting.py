"""Cut a long article into paragraph-sized documents (about 40-150 words).

Rules, applied in order over the article's paragraphs:

* the title is joined to the first paragraph;
* consecutive short paragraphs are merged until the document has ``>= min_words``;
* when adding a paragraph would pass ``max_words``, the pending text plus that
  paragraph is cut at sentence boundaries into balanced chunks of at most
  ``max_words`` (a single sentence longer than that is cut between words);
* a short tail (``< min_words``) is merged into the article's previous document.

Words are whitespace-separated tokens of the raw text.
"""
from __future__ import annotations

import math
import re
from typing import List, Sequence

MIN_WORDS = 40
MAX_WORDS = 150

Sentence = List[str]

_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_START = re.compile(r"^[\"'\u201c\u2018(\[]*[A-Z0-9]")


def split_sentences(words: Sequence[str]) -> List[Sentence]:
    """Split a word list after words ending in ``.``/``!``/``?`` (optionally
    followed by closing quotes/brackets) when the next word starts a sentence
    (capital letter or digit, optionally after an opening quote/bracket)."""
    sentences: List[Sentence] = []
    current: Sentence = []
    for i, word in enumerate(words):
        current.append(word)
        if i + 1 < len(words) and _END.search(word) and _START.match(words[i + 1]):
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _n(sentences: Sequence[Sentence]) -> int:
    return sum(len(s) for s in sentences)


def _cut_long(sentence: Sentence, max_words: int) -> List[Sentence]:
    """Cut one over-long sentence into balanced pieces of <= max_words words."""
    k = math.ceil(len(sentence) / max_words)
    size = math.ceil(len(sentence) / k)
    return [sentence[i:i + size] for i in range(0, len(sentence), size)]


def pack_sentences(sentences: Sequence[Sentence], max_words: int) -> List[Sentence]:
    """Group sentences into about ``ceil(total / max_words)`` chunks of similar
    size, none above ``max_words`` (each chunk is returned as one word list)."""
    pieces: List[Sentence] = []
    for s in sentences:
        pieces.extend(_cut_long(s, max_words) if len(s) > max_words else [s])
    total = _n(pieces)
    target = total / max(1, math.ceil(total / max_words))
    chunks: List[Sentence] = []
    current: Sentence = []
    for s in pieces:
        if current and len(current) + len(s) > max_words:
            chunks.append(current)
            current = []
        current = current + s
        if len(current) >= target:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def segment_article(title: str, paragraphs: Sequence[str],
                    min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> List[str]:
    """Return the article's documents as strings (see the module docstring)."""
    paras = [split_sentences(p.split()) for p in paragraphs if p.split()]
    title_words = title.split()
    if title_words:
        if paras:
            paras[0] = [title_words] + paras[0]
        else:
            paras = [[title_words]]
    docs: List[Sentence] = []
    pending: List[Sentence] = []
    for para in paras:
        if _n(pending) + _n(para) <= max_words:
            pending = pending + para
        else:
            chunks = pack_sentences(pending + para, max_words)
            docs.extend(chunks[:-1])
            pending = [chunks[-1]]
        if _n(pending) >= min_words:
            docs.append([w for s in pending for w in s])
            pending = []
    if pending:
        tail = [w for s in pending for w in s]
        if docs and len(tail) < min_words:
            docs[-1] = docs[-1] + tail
        else:
            docs.append(tail)
    return [" ".join(d) for d in docs]

"""Reading and splitting layer: from input files to train/valid/test documents.

Nothing here tokenises, writes or binarises; :mod:`.pipeline` does that.  The
loaders return ``(docs_by_split, stats)`` where ``docs_by_split`` maps
``"train"``, ``"valid"``, ``"test"`` to lists of :class:`Document` and
``stats`` is a JSON-ready dict of counts.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .bbc import read_bbc_articles
from .errors import CorpusError, PathLike
from .labels import check_labels_known, label_path_for, read_labelled_documents
from .reading import Document, ReadCounts
from .segmenting import MAX_WORDS, MIN_WORDS, segment_article
from .splitting import Sizes, parse_split_spec, split_indices

SPLITS = ("train", "valid", "test")
Splits = Dict[str, List[Document]]


def _label_counts(docs: Sequence[Document]) -> Dict[str, int]:
    return dict(sorted(Counter(d.label for d in docs if d.label is not None).items()))


def _check_splits(docs: Splits, where: Dict[str, str]) -> None:
    """Every split non-empty; valid/test labels all seen in train."""
    for split in SPLITS:
        if not docs[split]:
            raise CorpusError(where[split], None, f"no documents for the {split} split")
    if docs["train"][0].label is not None:
        known = {d.label for d in docs["train"]}
        check_labels_known(docs["valid"], known)
        check_labels_known(docs["test"], known)


def _totals(counts: Sequence[ReadCounts]) -> Dict[str, int]:
    return {k: sum(getattr(c, k) for c in counts)
            for k in ("read", "kept", "skipped_empty", "replaced_utf8")}


def load_text_files(train: PathLike, valid: PathLike, test: PathLike,
                    invalid_utf8: str = "error") -> Tuple[Splits, dict]:
    """Read three given files; labels come from ``.label`` files next to them
    (same stem), which must exist for all three or for none."""
    paths = {"train": Path(train), "valid": Path(valid), "test": Path(test)}
    label_paths = {s: label_path_for(p) for s, p in paths.items()}
    have = {s: lp.is_file() for s, lp in label_paths.items()}
    if any(have.values()) and not all(have.values()):
        missing = next(s for s in SPLITS if not have[s])
        present = next(s for s in SPLITS if have[s])
        raise CorpusError(label_paths[missing], None,
                          f"label file missing (but {label_paths[present]} exists): "
                          "give labels for all three splits or none")
    docs: Splits = {}
    inputs = {}
    for split in SPLITS:
        lp = label_paths[split] if have[split] else None
        docs[split], counts = read_labelled_documents(paths[split], lp, invalid_utf8)
        inputs[str(paths[split])] = counts
    _check_splits(docs, {s: str(p) for s, p in paths.items()})
    stats = {"mode": "files", "invalid_utf8": invalid_utf8,
             "label_files": [str(label_paths[s]) for s in SPLITS if have[s]],
             "inputs": inputs, "input_totals": _totals(list(inputs.values()))}
    return docs, stats


def load_text_split(input: PathLike, split: Union[str, Sizes], seed: int = 1,
                    invalid_utf8: str = "error",
                    label_path: Optional[PathLike] = "auto") -> Tuple[Splits, dict]:
    """Read one file (+ its ``.label`` when present, or ``label_path``; None
    for no labels) and split it with ``split`` (e.g. ``"8000,1000,1000"``),
    stratified by label when there are labels, shuffled with ``seed``."""
    sizes = parse_split_spec(split) if isinstance(split, str) else tuple(split)
    if label_path == "auto":
        auto = label_path_for(input)
        label_path = auto if auto.is_file() else None
    docs, counts = read_labelled_documents(input, label_path, invalid_utf8)
    labels = [d.label for d in docs] if label_path is not None else None
    try:
        parts = split_indices(len(docs), sizes, seed, labels)
    except ValueError as e:
        raise CorpusError(input, None, f"{e} (non-empty lines)") from None
    by_split = {s: [docs[i] for i in idx] for s, idx in zip(SPLITS, parts)}
    _check_splits(by_split, {s: str(input) for s in SPLITS})
    stats = {"mode": "split", "invalid_utf8": invalid_utf8, "split": list(sizes), "seed": seed,
             "label_files": [str(label_path)] if label_path is not None else [],
             "inputs": {str(input): counts}, "input_totals": _totals([counts]),
             "unused_documents": len(docs) - sum(len(p) for p in parts)}
    return by_split, stats


def load_bbc(seed: int = 1, fractions: Sizes = (0.8, 0.1, 0.1), root: Optional[PathLike] = None,
             min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> Tuple[Splits, dict]:
    """Read the BBC articles, split them by article (stratified by topic, seeded),
    then cut each article into documents labelled with its topic."""
    articles, report = read_bbc_articles(root)
    topics = [a.topic for a in articles]
    parts = split_indices(len(articles), fractions, seed, topics)
    docs: Splits = {}
    split_stats = {}
    for split, idx in zip(SPLITS, parts):
        chosen = sorted((articles[i] for i in idx), key=lambda a: a.name)
        docs[split] = []
        for a in chosen:
            for text in segment_article(a.title, a.paragraphs, min_words, max_words):
                docs[split].append(Document(text=text, line=0, label=a.topic,
                                            source=a.name, label_source=a.name))
        words = [len(d.text.split()) for d in docs[split]]
        split_stats[split] = {
            "articles": len(chosen),
            "articles_per_topic": dict(sorted(Counter(a.topic for a in chosen).items())),
            "article_names": [a.name for a in chosen],
            "raw_words": {"min": min(words), "max": max(words), "mean": round(sum(words) / len(words), 2),
                          "within_min_max": sum(min_words <= w <= max_words for w in words),
                          "below_min": sum(w < min_words for w in words),
                          "above_max": sum(w > max_words for w in words)},
        }
    _check_splits(docs, {s: report.root for s in SPLITS})
    stats = {"source": report.root, "files_read": report.files, "articles": len(articles),
             "articles_per_topic": dict(sorted(Counter(topics).items())),
             "empty_files": report.empty_files, "cp1252_fallback": report.cp1252_fallback,
             "split_fractions": list(fractions), "seed": seed,
             "segmenting": {"min_words": min_words, "max_words": max_words},
             "bbc_splits": split_stats}
    return docs, stats

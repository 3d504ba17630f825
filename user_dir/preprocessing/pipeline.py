"""End-to-end preparation: load -> tokenise -> (BPE) -> write -> binarise -> stats.

With binarisation, what was done to the text is recorded beside the dictionary
(``data-bin/preprocessing.json``, see :mod:`.recipe`) for the hub interface.

Public entry points: :func:`prepare_bbc` and :func:`prepare_text`.  Both return
the stats dict that is also written to ``OUT/prepare_stats.json``.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import bpe as bpe_mod
from .binarize import binarize as run_binarize
from .corpus import SPLITS, Splits, load_bbc, load_text_files, load_text_split
from .errors import CorpusError, PathLike
from .outdir import check_output_dir, clear_outputs, write_lines, write_split, write_stats
from .reading import Document, ReadCounts
from .recipe import write_recipe
from .synthetic import topic_corpus_splits
from .tokenizing import UNK, Tokenizer, tokenize_text


def tokenize_documents(docs: List[Document], tokenizer: Tokenizer,
                       max_tokens: Optional[int] = None) -> Tuple[List[Document], List[Document], int]:
    """Tokenise every document; cut it to ``max_tokens`` tokens if given.

    Returns ``(documents, truncated_documents, dropped)``; a document with no
    tokens left is dropped (with its label) and counted in ``dropped``.
    """
    if max_tokens is not None and max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    out, truncated, dropped = [], [], 0
    for d in docs:
        toks, cut = tokenize_text(tokenizer, d.text, max_tokens)
        if not toks:
            dropped += 1
            continue
        new = Document(text=" ".join(toks), line=d.line,
                       label=d.label, source=d.source, label_source=d.label_source)
        if cut:
            truncated.append(new)
        out.append(new)
    return out, truncated, dropped


def _split_summary(docs: List[Document]) -> dict:
    tokens = [len(d.text.split()) for d in docs]
    unk = sum(d.text.split().count(UNK) for d in docs)
    info = {"documents": len(docs), "tokens": sum(tokens), "unk_tokens_in_text": unk,
            "mean_tokens": round(sum(tokens) / max(1, len(tokens)), 2),
            "longest": max(tokens, default=0)}
    if docs and docs[0].label is not None:
        info["labels"] = dict(sorted(Counter(d.label for d in docs).items()))
    return info


def finish_corpus(out: Path, docs: Splits, stats: dict, tokenizer: Tokenizer,
                  max_tokens: Optional[int], bpe_merges: Optional[int],
                  vocab_size: Optional[int], binarize: bool, started: float) -> dict:
    """Tokenise, clear and write OUT, optionally BPE and binarise; return stats."""
    timings = stats.setdefault("timings_s", {})
    t = time.time()
    split_info: Dict[str, dict] = {}
    inputs: Dict[str, ReadCounts] = stats.get("inputs", {})
    for split in SPLITS:
        where = docs[split][0].source
        docs[split], truncated, dropped = tokenize_documents(docs[split], tokenizer, max_tokens)
        if not docs[split]:
            raise CorpusError(where, None, f"no documents left in the {split} split after tokenisation")
        split_info[split] = {"truncated": len(truncated), "dropped_empty_after_tokenize": dropped}
        for d in truncated:
            if d.source in inputs:
                inputs[d.source].truncated += 1
    timings["tokenize"] = round(time.time() - t, 2)

    with_labels = docs["train"][0].label is not None
    clear_outputs(out)
    if bpe_merges:
        t = time.time()
        for split in SPLITS:
            write_lines(out / f"{split}.words.txt", (d.text for d in docs[split]))
        codes = out / "bpe.codes"
        bpe_mod.learn_codes(out / "train.words.txt", bpe_merges, codes)
        every = [d for split in SPLITS for d in docs[split]]
        for d, text in zip(every, bpe_mod.apply_codes(codes, [d.text for d in every])):
            d.text = text
        timings["bpe"] = round(time.time() - t, 2)
    for split in SPLITS:
        write_split(out, split, docs[split], with_labels)
        split_info[split].update(_split_summary(docs[split]))
    stats["splits"] = split_info
    stats["skipped"] = {
        "empty_lines": sum(c.skipped_empty for c in inputs.values()),
        "empty_after_tokenize": sum(i["dropped_empty_after_tokenize"] for i in split_info.values()),
        "truncated": sum(i["truncated"] for i in split_info.values()),
        "replaced_utf8_lines": sum(c.replaced_utf8 for c in inputs.values()),
    }
    stats["inputs"] = {p: c.as_dict() for p, c in inputs.items()}
    stats.update({"tokenize": tokenizer.tokenize, "lowercase": tokenizer.lowercase,
                  "max_tokens": max_tokens, "bpe_merges": bpe_merges, "vocab_size": vocab_size,
                  "labels": with_labels, "out": str(out)})
    recipe = None
    if binarize:
        t = time.time()
        stats["fairseq_preprocess"] = run_binarize(
            out, {s: len(docs[s]) for s in SPLITS}, vocab_size, with_labels)
        timings["binarize"] = round(time.time() - t, 2)
        recipe = write_recipe(out / "data-bin", tokenizer, max_tokens, out / "bpe.codes" if bpe_merges else None)
    stats["outputs"] = {
        "text": [str(out / f"{s}.txt") for s in SPLITS],
        "labels": [str(out / f"{s}.label") for s in SPLITS] if with_labels else [],
        "data_bin": str(out / "data-bin") if binarize else None,
        "label_bin": str(out / "data-bin" / "label") if binarize and with_labels else None,
        "bpe_codes": str(out / "bpe.codes") if bpe_merges else None,
        "recipe": str(recipe) if recipe else None,
    }
    timings["total"] = round(time.time() - started, 2)
    stats["outputs"]["stats"] = str(write_stats(out, stats))
    return stats


def prepare_bbc(out_dir: PathLike, seed: int = 1, vocab_size: Optional[int] = 20000,
                overwrite: bool = False, bpe_merges: Optional[int] = None,
                max_tokens: Optional[int] = None, root: Optional[PathLike] = None,
                binarize: bool = True) -> dict:
    """Prepare the BBC News corpus (Moses-tokenised, lower-cased, labels = topics)."""
    started = time.time()
    out = check_output_dir(out_dir, overwrite)
    docs, stats = load_bbc(seed=seed, root=root)
    stats = {"corpus": "bbc", **stats, "timings_s": {"load": round(time.time() - started, 2)}}
    return finish_corpus(out, docs, stats, Tokenizer(tokenize=True), max_tokens, bpe_merges,
                         vocab_size, binarize, started)


def prepare_text(out_dir: PathLike, *, train: Optional[PathLike] = None,
                 valid: Optional[PathLike] = None, test: Optional[PathLike] = None,
                 input: Optional[PathLike] = None, split: Optional[str] = None,
                 tokenize: bool = False, invalid_utf8: str = "error", seed: int = 1,
                 vocab_size: Optional[int] = 20000, bpe_merges: Optional[int] = None,
                 max_tokens: Optional[int] = None, overwrite: bool = False,
                 binarize: bool = True) -> dict:
    """Prepare a one-document-per-line corpus: three files, or one file + ``split``."""
    started = time.time()
    given = [p is not None for p in (train, valid, test)]
    if input is not None and any(given):
        raise ValueError("give either input (+ split) or train/valid/test, not both")
    if input is None and not all(given):
        raise ValueError("give train, valid and test, or input and split")
    if input is not None and split is None:
        raise ValueError("input needs split (e.g. '8000,1000,1000')")
    out = check_output_dir(out_dir, overwrite)
    if input is not None:
        docs, stats = load_text_split(input, split, seed=seed, invalid_utf8=invalid_utf8)
    else:
        docs, stats = load_text_files(train, valid, test, invalid_utf8=invalid_utf8)
        stats["seed"] = seed
    stats = {"corpus": "text", **stats, "timings_s": {"load": round(time.time() - started, 2)}}
    return finish_corpus(out, docs, stats, Tokenizer(tokenize=tokenize), max_tokens, bpe_merges,
                         vocab_size, binarize, started)


def prepare_topics(out_dir: PathLike, seed: int = 1, sizes=(3000, 300, 300), overwrite: bool = False,
                   binarize: bool = True, vocab_size: Optional[int] = None, bpe_merges: Optional[int] = None,
                   max_tokens: Optional[int] = None) -> dict:
    """Prepare the synthetic topic corpus of ``synthetic.py`` (already tokenised; labels = topics)."""
    started = time.time()
    out = check_output_dir(out_dir, overwrite)
    docs = topic_corpus_splits(sizes, seed)
    stats = {"corpus": "topics", "seed": seed, "timings_s": {"load": round(time.time() - started, 2)}}
    return finish_corpus(out, docs, stats, Tokenizer(tokenize=False), max_tokens, bpe_merges, vocab_size,
                         binarize, started)

"""Labelled/unlabelled splits of a training set for semi-supervised learning.

``select_labelled`` draws the labelled subset (pure numpy, reproducible for a
seed); ``SemiSupervisedDataset`` serves labelled and unlabelled documents in one
epoch, with the labels of the unlabelled documents hidden (label -1).
"""
import hashlib
import logging
from typing import Dict, Iterable, Optional, Sequence

import numpy as np
import torch
from fairseq.data import FairseqDataset

logger = logging.getLogger(__name__)

UNLABELLED = -1


def select_labelled(labels: np.ndarray, num_labelled: int, seed: int, stratified: bool = True,
                    candidates: Optional[np.ndarray] = None) -> np.ndarray:
    """Indices (sorted) of ``num_labelled`` documents drawn from ``candidates`` (default: all).

    ``stratified``: per-class quotas proportional to the class frequencies among
    the candidates (largest-remainder rounding, so they add up to N exactly; a
    quota never exceeds its class), drawn uniformly within each class.
    Otherwise N documents are drawn uniformly. Depends only on (labels,
    candidates, N, seed, stratified): the same arguments give the same subset.
    """
    labels = np.asarray(labels)
    candidates = np.arange(len(labels)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    if num_labelled < 0:
        raise ValueError(f"--num-labelled must be >= 0, got {num_labelled}")
    if num_labelled > len(candidates):
        raise ValueError(
            f"--num-labelled {num_labelled} is larger than the {len(candidates)} training documents that can be "
            f"labelled (training set: {len(labels)} documents)"
        )
    if num_labelled == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.RandomState(seed)
    if not stratified:
        return np.sort(rng.choice(candidates, size=num_labelled, replace=False)).astype(np.int64)
    cand_labels = labels[candidates]
    classes, counts = np.unique(cand_labels, return_counts=True)
    exact = num_labelled * counts / counts.sum()
    quota = np.floor(exact).astype(np.int64)
    # largest remainders first; ties broken by class index (deterministic)
    for i in np.argsort(-(exact - quota), kind="mergesort"):
        if quota.sum() == num_labelled:
            break
        if quota[i] < counts[i]:
            quota[i] += 1
    chosen = []
    for cls, q in zip(classes, quota):
        members = candidates[cand_labels == cls]
        chosen.append(rng.choice(members, size=int(q), replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def subset_fingerprint(indices: Iterable[int]) -> str:
    """Short hash of a set of document indices (logged, so runs can be compared)."""
    data = np.asarray(sorted(int(i) for i in indices), dtype=np.int64).tobytes()
    return hashlib.sha1(data).hexdigest()[:12]


def document_keys(documents) -> list:
    """Hashable token tuples of an indexed dataset (to detect documents shared between splits)."""
    return [tuple(documents[i].tolist()) for i in range(len(documents))]


def class_counts(labels: Sequence[int], num_classes: int) -> Dict[int, int]:
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
    return {c: int(counts[c]) for c in range(num_classes)}


def labelled_copies(num_labelled: int, num_unlabelled: int, fraction: float) -> int:
    """How many times each labelled document appears per epoch.

    k = max(1, round(f * U / ((1 - f) * N))), so that labelled documents make up
    about ``fraction`` f of the epoch's N * k + U documents (exactly every
    labelled document k times). f = 0 (or no unlabelled data) gives k = 1.
    """
    if num_labelled == 0:
        return 0
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"--labelled-fraction must be in [0, 1), got {fraction}")
    if fraction == 0.0 or num_unlabelled == 0:
        return 1
    return max(1, int(round(fraction * num_unlabelled / ((1.0 - fraction) * num_labelled))))


class SemiSupervisedDataset(FairseqDataset):
    """One training epoch of labelled and unlabelled documents.

    ``unlabelled`` and ``labelled`` are ``DocumentDataset``s (they may be the
    same dataset); ``unlabelled_ids`` / ``labelled_ids`` pick documents from
    them, and ``labelled_targets`` are the labels of the labelled documents.
    Item j < U is unlabelled document ``unlabelled_ids[j]`` with ``label = -1``
    (its true label is never read); item U + m is labelled document
    ``labelled_ids[m % N]`` with its label, m < N * copies. Batches are drawn
    from the whole epoch by fairseq's length-bucketed shuffling, so each batch
    mixes both kinds in about the epoch's proportion.
    """

    LENGTH_BUCKET = 8

    def __init__(self, unlabelled, unlabelled_ids, labelled, labelled_ids, labelled_targets, copies: int,
                 seed: int = 1):
        self.unlabelled = unlabelled
        self.labelled = labelled
        self.unlabelled_ids = np.asarray(unlabelled_ids, dtype=np.int64)
        self.labelled_ids = np.asarray(labelled_ids, dtype=np.int64)
        self.labelled_targets = np.asarray(labelled_targets, dtype=np.int64)
        if len(self.labelled_targets) != len(self.labelled_ids):
            raise ValueError("one label per labelled document")
        if (self.labelled_targets < 0).any():
            raise ValueError("labelled documents need labels >= 0")
        self.copies = copies if len(self.labelled_ids) else 0
        self.seed = seed
        self.epoch = 1
        self.num_unlabelled = len(self.unlabelled_ids)
        self.num_labelled_items = len(self.labelled_ids) * self.copies
        self._sizes = np.concatenate([
            np.asarray(unlabelled.sizes)[self.unlabelled_ids],
            np.tile(np.asarray(labelled.sizes)[self.labelled_ids], self.copies),
        ]).astype(np.int64)
        self.dictionary = unlabelled.dictionary

    @property
    def labelled_fraction(self) -> float:
        return self.num_labelled_items / max(1, len(self))

    def __len__(self):
        return self.num_unlabelled + self.num_labelled_items

    def _source(self, index):
        if index < self.num_unlabelled:
            return self.unlabelled, int(self.unlabelled_ids[index]), UNLABELLED
        m = (index - self.num_unlabelled) % len(self.labelled_ids)
        return self.labelled, int(self.labelled_ids[m]), int(self.labelled_targets[m])

    def __getitem__(self, index):
        dataset, doc, label = self._source(index)
        item = dict(dataset[doc])
        item["id"] = index
        item["label"] = label  # -1: unlabelled (the document's label is hidden)
        return item

    def collater(self, samples):
        if not samples:
            return {}
        batch = self.unlabelled.collater([{k: v for k, v in s.items() if k != "label"} for s in samples])
        batch["label"] = torch.LongTensor([s["label"] for s in samples])
        return batch

    @property
    def sizes(self):
        return self._sizes

    def num_tokens(self, index):
        return int(self._sizes[index])

    def size(self, index):
        return int(self._sizes[index])

    def ordered_indices(self):
        """Shuffled, then stably sorted by length bucket (``LENGTH_BUCKET`` tokens wide), so the k copies
        of a labelled document spread over several batches instead of sitting side by side."""
        from fairseq.data import data_utils

        with data_utils.numpy_seed(self.seed, self.epoch):
            order = np.random.permutation(len(self))
        return order[np.argsort(self._sizes[order] // self.LENGTH_BUCKET, kind="mergesort")]

    def set_epoch(self, epoch):
        self.epoch = epoch
        for dataset in (self.unlabelled, self.labelled):
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)

    @property
    def supports_prefetch(self):
        return False

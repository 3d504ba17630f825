"""Deterministic (optionally stratified) train/valid/test splits.

Sizes are either absolute counts (``"8000,1000,1000"``) or fractions
(``"0.8,0.1,0.1"``).  With labels, items of each label are shuffled and spread
evenly over one global order (item of rank ``r`` among ``c`` items of its label
gets key ``(r + 0.5) / c``), which is then cut into consecutive parts: every
part holds each label in proportion, to within one item.  Each part is then
shuffled.  Everything is driven by one ``random.Random(seed)``, so the same
seed and input give the same split.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Dict, Hashable, List, Optional, Sequence, Tuple, Union

Sizes = Tuple[Union[int, float], ...]


def parse_split_spec(spec: str) -> Sizes:
    """Parse ``"a,b,c"`` into three non-negative ints or three fractions.

    Raises ValueError with a readable message for anything else.
    """
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"--split needs three comma-separated sizes (train,valid,test), got {spec!r}")
    try:
        if all(p.isdigit() for p in parts):
            sizes: Sizes = tuple(int(p) for p in parts)
        else:
            sizes = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"--split sizes must be integers or fractions, got {spec!r}") from None
    if any(s <= 0 for s in sizes):
        raise ValueError(f"--split sizes must all be positive, got {spec!r}")
    if isinstance(sizes[0], float) and sum(sizes) > 1.0 + 1e-9:
        raise ValueError(f"--split fractions must add up to at most 1, got {spec!r}")
    return sizes


def resolve_sizes(sizes: Sizes, n: int) -> Tuple[int, int, int]:
    """Turn fractions into counts for ``n`` items (train takes the rounding rest
    when the fractions add up to 1); counts pass through unchanged."""
    if all(isinstance(s, int) for s in sizes):
        return tuple(sizes)  # type: ignore[return-value]
    valid, test = round(sizes[1] * n), round(sizes[2] * n)
    train = n - valid - test if abs(sum(sizes) - 1.0) < 1e-9 else round(sizes[0] * n)
    return train, valid, test


def stratified_order(n: int, labels: Optional[Sequence[Hashable]], rng: random.Random) -> List[int]:
    """A permutation of ``range(n)`` in which every prefix is label-balanced."""
    if labels is None:
        order = list(range(n))
        rng.shuffle(order)
        return order
    groups: Dict[Hashable, List[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    keyed = []
    for label in sorted(groups, key=str):
        members = groups[label]
        rng.shuffle(members)
        for rank, i in enumerate(members):
            keyed.append(((rank + 0.5) / len(members), rng.random(), i))
    keyed.sort()
    return [i for _, _, i in keyed]


def split_indices(n: int, sizes: Sizes, seed: int,
                  labels: Optional[Sequence[Hashable]] = None) -> List[List[int]]:
    """Indices of the train, valid and test parts of ``n`` items.

    Items beyond ``sum(sizes)`` are left out.  Raises ValueError when the sizes
    ask for more than ``n`` items.
    """
    if labels is not None and len(labels) != n:
        raise ValueError("labels must have one entry per item")
    counts = resolve_sizes(sizes, n)
    if sum(counts) > n:
        raise ValueError(f"the split asks for {sum(counts)} items ({counts}) but there are only {n}")
    rng = random.Random(seed)
    order = stratified_order(n, labels, rng)
    parts, start = [], 0
    for size in counts:
        part = order[start:start + size]
        rng.shuffle(part)
        parts.append(part)
        start += size
    return parts

"""The first n documents of a dataset, in file order (evaluation on a prefix of a split)."""
import numpy as np
from fairseq.data import BaseWrapperDataset


class FirstDocuments(BaseWrapperDataset):
    """Documents 0 .. n-1 of ``dataset`` (all of them if it has fewer), still batched by length: the
    wrapped dataset's length-sorted order restricted to those indices."""

    def __init__(self, dataset, n: int):
        super().__init__(dataset)
        self.n = min(int(n), len(dataset))

    def __len__(self):
        return self.n

    def ordered_indices(self):
        order = np.asarray(self.dataset.ordered_indices())
        return order[order < self.n]

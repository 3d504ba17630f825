"""One document per sample, for document-level language modelling and VAEs."""
import numpy as np
import torch
from fairseq.data import FairseqDataset, data_utils


class DocumentDataset(FairseqDataset):
    """Wraps an indexed dataset of documents (one line each, ending in </s>).

    Sample i: ``source = [</s>, w_1..w_n]``, ``target = [w_1..w_n, </s>]``, with
    documents longer than ``max_doc_tokens`` words cut to that length (the
    count is in ``num_truncated``). ``labels`` (optional) is a sequence of
    class indices, one per document. Batches never mix parts of documents.
    """

    def __init__(self, documents, dictionary, max_doc_tokens: int, labels=None, shuffle: bool = True,
                 seed: int = 1):
        if labels is not None and len(labels) != len(documents):
            raise ValueError(f"{len(labels)} labels for {len(documents)} documents")
        self.documents = documents
        self.dictionary = dictionary
        self.max_doc_tokens = max_doc_tokens
        self.labels = labels
        self.shuffle = shuffle
        self.seed = seed
        words = np.asarray(documents.sizes) - 1  # minus the trailing </s>
        self.num_truncated = int((words > max_doc_tokens).sum())
        self._sizes = np.minimum(words, max_doc_tokens) + 1
        self.epoch = 1

    @property
    def sizes(self):
        return self._sizes

    def __len__(self):
        return len(self.documents)

    def __getitem__(self, index):
        words = self.documents[index][:-1][: self.max_doc_tokens]
        eos = words.new_tensor([self.dictionary.eos()])
        item = {"id": index, "source": torch.cat([eos, words]), "target": torch.cat([words, eos])}
        if self.labels is not None:
            item["label"] = int(self.labels[index])
        return item

    def collater(self, samples):
        if not samples:
            return {}
        pad, eos = self.dictionary.pad(), self.dictionary.eos()
        src = data_utils.collate_tokens([s["source"] for s in samples], pad, eos, left_pad=False)
        tgt = data_utils.collate_tokens([s["target"] for s in samples], pad, eos, left_pad=False)
        lengths = torch.LongTensor([s["source"].numel() for s in samples])
        batch = {
            "id": torch.LongTensor([s["id"] for s in samples]),
            "nsentences": len(samples),
            "ntokens": int(lengths.sum()),
            "net_input": {"src_tokens": src, "src_lengths": lengths},
            "target": tgt,
        }
        if self.labels is not None:
            batch["label"] = torch.LongTensor([s["label"] for s in samples])
        return batch

    def num_tokens(self, index):
        return int(self._sizes[index])

    def size(self, index):
        return int(self._sizes[index])

    def ordered_indices(self):
        """Shuffled (seeded by epoch), then stably sorted by length for efficient batches."""
        if self.shuffle:
            with data_utils.numpy_seed(self.seed, self.epoch):
                order = np.random.permutation(len(self))
        else:
            order = np.arange(len(self))
        return order[np.argsort(self._sizes[order], kind="mergesort")]

    def set_epoch(self, epoch):
        self.epoch = epoch

    @property
    def supports_prefetch(self):
        return getattr(self.documents, "supports_prefetch", False)

    def prefetch(self, indices):
        self.documents.prefetch(indices)

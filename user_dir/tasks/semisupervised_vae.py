"""``semisupervised_vae`` task: a few labelled documents and many unlabelled ones
(Yang et al. 2017, Sec. 2.4 and 3.4; Kingma et al. 2014, M2), or none (clustering, Sec. 3.5)."""
import logging
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from fairseq import utils
from fairseq.data import data_utils
from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from omegaconf import II

from ..data import DocumentDataset
from ..data.semisupervised import (
    SemiSupervisedDataset,
    class_counts,
    document_keys,
    labelled_copies,
    select_labelled,
    subset_fingerprint,
)
from .text_vae import TextVAETask, TextVAETaskConfig, load_labels

logger = logging.getLogger(__name__)


@dataclass
class SemiSupervisedVAETaskConfig(TextVAETaskConfig):
    num_labelled: int = field(
        default=100,
        metadata={"help": "N training documents that keep their labels (paper: 100/500/1000/2000); "
                  "0 = unsupervised clustering"},
    )
    labelled_seed: int = field(default=1, metadata={"help": "seed of the draw of the labelled subset"})
    labelled_sampling: ChoiceEnum(["stratified", "uniform"]) = field(
        default="stratified",
        metadata={"help": "stratified: per-class counts proportional to the class frequencies; uniform: N "
                  "documents drawn uniformly"},
    )
    labelled_split: Optional[str] = field(
        default=None,
        metadata={"help": "read the labelled documents from this binarised split (DATA/NAME + DATA/label/NAME) "
                  "instead of drawing them from the training split; all its documents are used and the whole "
                  "training split is unlabelled"},
    )
    labelled_fraction: float = field(
        default=0.5,
        metadata={"help": "upsample the labelled documents to about this fraction of every training epoch "
                  "(each one repeated k = round(f U / ((1 - f) N)) >= 1 times); 0 = each once. With 0.1 only "
                  "about 3 documents of a batch of 32 are labelled and the shared encoder learns too little "
                  "from them for q(y|x) to leave uniform; 0.5 with --alpha 10 was best on validation (see --alpha)"},
    )
    train_on_labelled_only: bool = field(
        default=False,
        metadata={"help": "the training split is the N labelled documents only (supervised baselines)"},
    )
    train_subset: str = II("dataset.train_subset")
    valid_subset: str = II("dataset.valid_subset")


@register_task("semisupervised_vae", dataclass=SemiSupervisedVAETaskConfig)
class SemiSupervisedVAETask(TextVAETask):
    """Semi-supervised document modelling.

    Training split: the labelled subset (N documents drawn from the training
    split with ``--labelled-seed``, stratified by class or uniformly, or the
    separate split ``--labelled-split``) and the unlabelled rest. Training
    documents that also occur verbatim in a validation/test split are never
    labelled (they stay unlabelled), so the labelled subset never holds
    validation/test documents.

    Mixing: one epoch is every unlabelled document once plus every labelled
    document k times, k = max(1, round(f U / ((1 - f) N))) for
    ``--labelled-fraction`` f, so labelled documents make up about f of the
    epoch; fairseq's shuffled length buckets mix both kinds in every batch
    (about f of each batch is labelled). Unlabelled documents carry
    ``label = -1`` in the batch: their labels are never loaded into it.

    ``--num-labelled 0``: unsupervised (clustering); the labels are still
    needed for the number of classes and for evaluation.
    ``--train-on-labelled-only``: the epoch is the N labelled documents
    (for the supervised LSTM / LM-LSTM baselines).

    Validation/test splits keep their labels (``label`` in the batch); the
    ``semisupervised_elbo`` criterion uses them only to count the accuracy of
    q(y|x), next to the unlabelled bound -U(x).
    """

    def __init__(self, args, dictionary, output_dictionary=None, targets=None):
        super().__init__(args, dictionary, output_dictionary, targets)
        if self.label_dictionary is None:
            data = utils.split_paths(args.data)[0]
            raise FileNotFoundError(
                f"semisupervised_vae needs labels: no {os.path.join(data, args.label_dir, 'dict.txt')} (binarise "
                "one label per line of each split with fairseq-preprocess --only-source into DATA/label, as "
                "scripts/prepare_corpus.py does)"
            )
        if self.num_classes < 2:
            raise ValueError(f"semisupervised_vae needs at least 2 classes, the label dictionary has {self.num_classes}")
        self.labelled_ids = None
        self.unlabelled_ids = None
        self.labelled_targets = None

    def _eval_splits(self):
        names = [s for s in str(getattr(self.args, "valid_subset", "valid") or "valid").split(",") if s]
        return sorted(set(names) | {"valid", "test"})

    def _load_documents(self, data_path: str, split: str):
        return data_utils.load_indexed_dataset(os.path.join(data_path, split), self.dictionary,
                                               self.args.dataset_impl)

    def _load_labels(self, data_path: str, split: str, num_documents: int, purpose: str) -> np.ndarray:
        label_path = os.path.join(data_path, self.args.label_dir, split)
        labels = load_labels(label_path, self.label_dictionary, self.args.dataset_impl)
        if labels is None:
            raise FileNotFoundError(f"{purpose} needs labels: no binarised labels at {label_path}.bin/.idx")
        if len(labels) != num_documents:
            raise ValueError(f"{label_path}: {len(labels)} labels for {num_documents} documents")
        return labels

    def _held_out_keys(self, data_path: str) -> set:
        """Token sequences of every validation/test document on disk."""
        keys = set()
        for split in self._eval_splits():
            docs = self._load_documents(data_path, split)
            if docs is not None:
                keys.update(document_keys(docs))
        return keys

    def load_dataset(self, split: str, epoch=1, combine=False, **kwargs):
        train_subset = getattr(self.args, "train_subset", "train") or "train"
        if split != train_subset:
            return super().load_dataset(split, epoch=epoch, combine=combine, **kwargs)
        a = self.args
        if a.train_on_labelled_only and a.num_labelled == 0 and not a.labelled_split:
            raise ValueError("--train-on-labelled-only needs labelled documents (--num-labelled > 0 or --labelled-split)")
        paths = utils.split_paths(a.data)
        data_path = paths[(epoch - 1) % len(paths)]
        documents = self._load_documents(data_path, split)
        if documents is None:
            raise FileNotFoundError(f"semisupervised_vae: no binarised split '{split}' in {data_path}")
        train_docs = DocumentDataset(documents, self.dictionary, a.max_doc_tokens, labels=None, shuffle=True,
                                     seed=a.seed)
        held_out = self._held_out_keys(data_path)
        names = self.label_names

        if a.labelled_split:
            if a.labelled_split in self._eval_splits() or a.labelled_split == split:
                raise ValueError(f"--labelled-split {a.labelled_split} is a validation/test/training split name")
            labelled_documents = self._load_documents(data_path, a.labelled_split)
            if labelled_documents is None:
                raise FileNotFoundError(f"--labelled-split: no binarised split '{a.labelled_split}' in {data_path}")
            targets = self._load_labels(data_path, a.labelled_split, len(labelled_documents), "--labelled-split")
            shared = sum(key in held_out for key in document_keys(labelled_documents))
            if shared:
                raise ValueError(f"--labelled-split {a.labelled_split}: {shared} of its documents also occur in a "
                                 "validation/test split")
            labelled_docs = DocumentDataset(labelled_documents, self.dictionary, a.max_doc_tokens, labels=None,
                                            shuffle=True, seed=a.seed)
            labelled_ids = np.arange(len(labelled_documents))
            unlabelled_ids = np.arange(len(documents))
            source = f"split '{a.labelled_split}'"
            if a.num_labelled not in (0, len(labelled_ids)):
                logger.info(f"--labelled-split given: all {len(labelled_ids)} of its documents are labelled "
                            f"(--num-labelled {a.num_labelled} ignored)")
        else:
            labelled_docs = train_docs
            if a.num_labelled > len(documents):
                raise ValueError(f"--num-labelled {a.num_labelled} is larger than the training set "
                                 f"({len(documents)} documents in {split})")
            if a.num_labelled > 0:
                labels = self._load_labels(data_path, split, len(documents), f"--num-labelled {a.num_labelled}")
                keys = document_keys(documents)
                candidates = np.array([i for i, key in enumerate(keys) if key not in held_out], dtype=np.int64)
                if len(candidates) < len(documents):
                    logger.info(f"{len(documents) - len(candidates)} training documents also occur in a "
                                "validation/test split: they are never labelled")
                labelled_ids = select_labelled(labels, a.num_labelled, a.labelled_seed,
                                               stratified=a.labelled_sampling == "stratified", candidates=candidates)
                targets = labels[labelled_ids]
            else:
                labelled_ids = np.zeros(0, dtype=np.int64)
                targets = np.zeros(0, dtype=np.int64)
            unlabelled_ids = np.setdiff1d(np.arange(len(documents)), labelled_ids)
            source = f"drawn from '{split}' ({a.labelled_sampling}, seed {a.labelled_seed})"

        if a.train_on_labelled_only:
            unlabelled_ids = np.zeros(0, dtype=np.int64)
        copies = labelled_copies(len(labelled_ids), len(unlabelled_ids), a.labelled_fraction)
        dataset = SemiSupervisedDataset(train_docs, unlabelled_ids, labelled_docs, labelled_ids, targets, copies,
                                        seed=a.seed)
        self.labelled_ids, self.labelled_targets, self.unlabelled_ids = labelled_ids, targets, unlabelled_ids
        per_class = class_counts(targets, self.num_classes)
        logger.info(
            f"{split}: {len(labelled_ids)} labelled documents ({source}; fingerprint "
            f"{subset_fingerprint(labelled_ids)}), per class: "
            + ", ".join(f"{names[c]}={n}" for c, n in per_class.items())
        )
        logger.info(
            f"{split}: {len(unlabelled_ids)} unlabelled documents (labels hidden); each labelled document "
            f"{copies}x per epoch -> {len(dataset)} documents per epoch, labelled fraction "
            f"{dataset.labelled_fraction:.3f}" + (" (--train-on-labelled-only)" if a.train_on_labelled_only else "")
        )
        self.datasets[split] = dataset
        return dataset

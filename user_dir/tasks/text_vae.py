"""``text_vae`` task: document-level language modelling, one document per sample."""
import logging
import os
import re
from dataclasses import dataclass, field

import numpy as np
from fairseq import utils
from fairseq.data import Dictionary, data_utils
from fairseq.tasks import register_task
from fairseq.tasks.language_modeling import LanguageModelingConfig, LanguageModelingTask

from ..data import DocumentDataset

logger = logging.getLogger(__name__)


@dataclass
class TextVAETaskConfig(LanguageModelingConfig):
    max_doc_tokens: int = field(
        default=400, metadata={"help": "documents longer than this many words are cut (and counted in the log)"}
    )
    label_dir: str = field(
        default="label",
        metadata={"help": "subfolder of the data folder holding binarised labels (loaded when present)"},
    )


def label_names(label_dictionary) -> list:
    """Label symbols in class-index order, without fairseq-preprocess's dictionary padding
    (``madeupwordNNNN`` symbols of count 0 appended after the real labels)."""
    d = label_dictionary
    if d is None:
        return []
    return [sym for sym, count in zip(d.symbols[d.nspecial:], d.count[d.nspecial:])
            if not (count == 0 and re.fullmatch(r"madeupword\d{4}", sym))]


def load_labels(label_path: str, label_dict: Dictionary, impl) -> np.ndarray:
    """Binarised one-label-per-line file -> class indices (label symbol order of ``label_dict``)."""
    dataset = data_utils.load_indexed_dataset(label_path, label_dict, impl)
    if dataset is None:
        return None
    labels = np.empty(len(dataset), dtype=np.int64)
    for i in range(len(dataset)):
        tokens = dataset[i]
        if tokens.numel() != 2:
            raise ValueError(f"{label_path}: line {i + 1} must hold exactly one label, found {tokens.numel() - 1}")
        labels[i] = int(tokens[0]) - label_dict.nspecial
    if (labels < 0).any():
        bad = int(np.nonzero(labels < 0)[0][0])
        raise ValueError(f"{label_path}: line {bad + 1} holds a special symbol instead of a label")
    return labels


@register_task("text_vae", dataclass=TextVAETaskConfig)
class TextVAETask(LanguageModelingTask):
    """Documents (one per line of the binarised data) as samples, with optional labels
    from ``DATA/label`` (binarised like fairseq's sentence_prediction labels).

    Works with fairseq-train / -validate / -eval-lm / -generate. In generation
    no prefix is forced: an LM samples from scratch, a VAE decodes from the z
    chosen by its ``latent_source`` (posterior sample or mean of the source
    document, or a prior sample).
    """

    def __init__(self, args, dictionary, output_dictionary=None, targets=None):
        super().__init__(args, dictionary, output_dictionary, targets)
        label_dict = os.path.join(utils.split_paths(args.data)[0], args.label_dir, "dict.txt")
        self.label_dictionary = Dictionary.load(label_dict) if os.path.exists(label_dict) else None

    @property
    def label_names(self):
        """Class names in class-index order."""
        return label_names(self.label_dictionary)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def load_dataset(self, split: str, epoch=1, combine=False, **kwargs):
        paths = utils.split_paths(self.args.data)
        data_path = paths[(epoch - 1) % len(paths)]
        split_path = os.path.join(data_path, split)
        documents = data_utils.load_indexed_dataset(split_path, self.dictionary, self.args.dataset_impl,
                                                    combine=combine)
        if documents is None:
            raise FileNotFoundError(f"text_vae: no binarised split '{split}' in {data_path} (looked for {split_path}.bin/.idx)")
        labels = None
        if self.label_dictionary is not None:
            label_path = os.path.join(data_path, self.args.label_dir, split)
            labels = load_labels(label_path, self.label_dictionary, self.args.dataset_impl)
            if labels is not None and len(labels) != len(documents):
                raise ValueError(f"{label_path}: {len(labels)} labels for {len(documents)} documents in {split_path}")
        dataset = DocumentDataset(documents, self.dictionary, self.args.max_doc_tokens, labels=labels,
                                  shuffle=True, seed=self.args.seed)
        logger.info(
            f"{split}: {len(dataset)} documents, {dataset.num_truncated} cut to {self.args.max_doc_tokens} words"
            + (f", {self.num_classes} classes" if labels is not None else "")
        )
        self.datasets[split] = dataset
        return dataset

    def build_model(self, cfg, from_checkpoint=False):
        model = super().build_model(cfg, from_checkpoint)
        path = getattr(cfg, "init_encoder_from", None)
        if path and not from_checkpoint:
            copied = model.init_encoder_from_lstm_lm(path)
            logger.info(f"+ init: encoder initialised from {path} ({len(copied)} tensors: {', '.join(copied)})")
        return model

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        """As fairseq's, with two additions:

        - annealing schedules in the criterion follow the trainer's update count,
          so they resume exactly from a checkpoint;
        - the random numbers of a batch (z samples, dropout, Gumbel noise) are a
          function of (seed, update, first document id) only, so one process with
          ``--update-freq k`` and k data-parallel workers draw the same noise for
          the same documents, and a resumed run draws what the uninterrupted one did.
        """
        if hasattr(criterion, "set_num_updates"):
            criterion.set_num_updates(update_num)
        if "id" not in sample or len(sample["id"]) == 0:
            return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad)
        batch_seed = (self.args.seed * 1_000_003 + update_num) * 1_000_003 + int(sample["id"][0])
        with utils.set_torch_seed(batch_seed % (2**31 - 1)):
            return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad)

    def eval_lm_dataloader(self, dataset, *args, context_window: int = 0, **kwargs):
        if context_window > 0:
            raise ValueError("text_vae scores whole documents: --context-window is not supported")
        return super().eval_lm_dataloader(dataset, *args, context_window=0, **kwargs)

    def inference_step(self, generator, models, sample, prefix_tokens=None, constraints=None):
        return generator.generate(models, sample, prefix_tokens=prefix_tokens, constraints=constraints,
                                  bos_token=self.source_dictionary.eos())

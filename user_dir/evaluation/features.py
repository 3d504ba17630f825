"""Document features for the evaluation scripts: q(y|x), posterior means of z, LSTM-LM states.

Reads a binarised split directly (DATA/SPLIT, DATA/label/SPLIT), so any
checkpoint can be evaluated on any data folder with the same dictionary.
"""
import os
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F
from fairseq.data import Dictionary, data_utils

from ..data import DocumentDataset
from ..models.semisup_vae import SemiSupervisedVAE
from ..tasks.text_vae import label_names, load_labels


def load_split(data: str, split: str, max_doc_tokens: int = 400, label_dir: str = "label"):
    """(DocumentDataset with labels or None, dictionary, label names)."""
    dictionary = Dictionary.load(os.path.join(data, "dict.txt"))
    documents = data_utils.load_indexed_dataset(os.path.join(data, split), dictionary, None)
    if documents is None:
        raise FileNotFoundError(f"no binarised split '{split}' in {data}")
    labels, names = None, []
    label_dict_path = os.path.join(data, label_dir, "dict.txt")
    if os.path.exists(label_dict_path):
        label_dict = Dictionary.load(label_dict_path)
        names = label_names(label_dict)
        labels = load_labels(os.path.join(data, label_dir, split), label_dict, None)
    dataset = DocumentDataset(documents, dictionary, max_doc_tokens, labels=labels, shuffle=False)
    return dataset, dictionary, names


def batches(dataset: DocumentDataset, batch_size: int = 32):
    """Collated batches in length order (``sample["id"]`` gives the document index)."""
    order = np.argsort(dataset.sizes, kind="mergesort")
    for start in range(0, len(order), batch_size):
        yield dataset.collater([dataset[int(i)] for i in order[start: start + batch_size]])


@torch.no_grad()
def vae_features(model, dataset: DocumentDataset, batch_size: int = 32) -> Dict[str, np.ndarray]:
    """Per document (dataset order): ``mu`` (N, D), the mean of q(z|x) (for a semi-supervised VAE
    q(z|x, y) with y = argmax q(y|x)); ``log_qy`` (N, C) for a semi-supervised VAE; ``labels``."""
    n = len(dataset)
    mu_all, qy_all = None, None
    for sample in batches(dataset, batch_size):
        ids = sample["id"].numpy()
        src, lengths = sample["net_input"]["src_tokens"], sample["net_input"]["src_lengths"]
        if isinstance(model, SemiSupervisedVAE):
            h, log_qy = model.encoder.classify(src, lengths)
            y = F.one_hot(log_qy.argmax(-1), log_qy.size(-1)).float()
            mu, _ = model.encoder.posterior_given(h, y)
            if qy_all is None:
                qy_all = np.zeros((n, log_qy.size(-1)), dtype=np.float64)
            qy_all[ids] = log_qy.double().numpy()
        else:
            mu = model.encoder(src, lengths)["mu"][0]
        if mu_all is None:
            mu_all = np.zeros((n, mu.size(-1)), dtype=np.float64)
        mu_all[ids] = mu.double().numpy()
    out = {"mu": mu_all, "labels": None if dataset.labels is None else np.asarray(dataset.labels)}
    if qy_all is not None:
        out["log_qy"] = qy_all
    return out


@torch.no_grad()
def lstm_lm_features(checkpoint: str, dataset: DocumentDataset, batch_size: int = 32) -> np.ndarray:
    """Final hidden state (N, H) of a fairseq ``lstm_lm`` after reading each document ([</s>, w_1..w_n]).

    The LM's embeddings and LSTM are copied into an ``LSTMDocumentEncoder`` (the
    mapping used by "+ init"), whose last hidden state is the LM's.
    """
    from ..models.components import load_lstm_lm_state
    from ..modules import LSTMDocumentEncoder

    state = load_lstm_lm_state(checkpoint)
    embed = state["decoder.embed_tokens.weight"]
    layers = sum(1 for k in state if k.startswith("decoder.layers.") and k.endswith(".weight_hh"))
    hidden = state["decoder.layers.0.weight_hh"].size(1)
    if embed.size(0) != len(dataset.dictionary):
        raise ValueError(f"{checkpoint}: vocabulary of {embed.size(0)} but the data's dictionary has "
                         f"{len(dataset.dictionary)} symbols")
    reader = LSTMDocumentEncoder(embed.size(0), dataset.dictionary.pad(), embed.size(1), hidden, num_layers=layers)
    reader.load_from_lstm_lm(state, source=checkpoint)
    reader.eval()
    feats = np.zeros((len(dataset), hidden), dtype=np.float64)
    for sample in batches(dataset, batch_size):
        h = reader(sample["net_input"]["src_tokens"], sample["net_input"]["src_lengths"])
        feats[sample["id"].numpy()] = h.double().numpy()
    return feats

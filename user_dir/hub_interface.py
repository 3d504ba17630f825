"""A trained VAE from Python, on raw text (fairseq's ``from_pretrained`` / hub-interface way).

    hub = TextVAE.from_pretrained("runs/vae", data_name_or_path="data/bbc/data-bin")
    mu, logvar = hub.encode(["First document.", "Second one."])       # (2, D) each
    hub.score(["First document."])                                   # negative ELBO, nats per document

Raw text goes through the steps the corpus preparation recorded in the data-bin folder
(``preprocessing/recipe.py``, replayed by ``preprocessing/raw_text.py``), and model output is
detokenised. Bounds come from the model's own ``forward`` and importance-weighted bound methods
(``modules/bounds.py``), the numbers fairseq-eval-lm reports; decoding is
``evaluation.latent_decoding.decode_latents`` (fairseq's SequenceGenerator).
"""
import contextlib
import logging
import os
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from fairseq import hub_utils, utils
from fairseq.data import ListDataset
from torch import Tensor, nn

from .data import DocumentDataset
from .evaluation.latent_decoding import decode_latents
from .models.semisup_vae import SemiSupervisedVAE
from .preprocessing.raw_text import RawText

logger = logging.getLogger(__name__)


def from_pretrained(model_class, model_dir, checkpoint_file: str = "checkpoint_best.pt",
                    data_name_or_path: str = ".", **overrides) -> "TextVAEHubInterface":
    """Load ``model_dir/checkpoint_file`` with fairseq's ``hub_utils.from_pretrained`` and wrap it.

    ``data_name_or_path`` is the data-bin folder the model was trained on (its dictionary, labels and
    text recipe); as in fairseq, a path starting with ``.`` is taken relative to ``model_dir``.
    ``overrides`` replace configuration values by name, like fairseq's ``--model-overrides``
    (e.g. ``eval_bound_chunk=10``).
    """
    model_dir, data_name_or_path = os.fspath(model_dir), os.fspath(data_name_or_path)
    checkpoint = Path(model_dir) / checkpoint_file
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: no such checkpoint file")
    data = Path(model_dir) / data_name_or_path if data_name_or_path.startswith(".") else Path(data_name_or_path)
    if not (data / "dict.txt").is_file():
        raise FileNotFoundError(f"{data}: no dict.txt; pass data_name_or_path= the data-bin folder the model "
                                "was trained on")
    loaded = hub_utils.from_pretrained(model_dir, checkpoint_file, data_name_or_path,
                                       archive_map=model_class.hub_models(), **overrides)
    model = loaded["models"][0]
    if not isinstance(model, model_class):
        raise ValueError(f"{checkpoint_file} holds a {type(model).__name__}, not a {model_class.__name__}: "
                         f"use {type(model).__name__}.from_pretrained")
    hub_class = SemiSupervisedVAEHubInterface if isinstance(model, SemiSupervisedVAE) else TextVAEHubInterface
    return hub_class(loaded["args"], loaded["task"], model)


class TextVAEHubInterface(nn.Module):
    """A trained document VAE on raw text: ``encode``, ``score``, ``reconstruct``, ``interpolate``,
    ``sample``.

    Every method takes a list of texts (or returns one), works in batches of ``batch_size`` documents
    on the device of the model (``.to(device)`` / ``.cuda()`` move it) in eval mode; those that draw
    random numbers take ``seed`` (the same seed, the same result; the global random state is left as
    it was). ``unknown_tokens``: how many tokens of the texts of the last call were not in the
    dictionary and became ``<unk>`` (also logged as a warning).
    """

    def __init__(self, cfg, task, model):
        super().__init__()
        self.cfg = cfg
        self.task = task
        self.model = model
        self.model.prepare_for_inference_(cfg)
        self.eval()
        self.dictionary = task.source_dictionary
        self.raw_text = RawText(utils.split_paths(cfg.task.data)[0])
        self.unknown_tokens = 0

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def latent_dim(self) -> int:
        return self.model.cfg.latent_dim

    # ---- text in and out
    def tokenize(self, texts: Sequence[str]) -> List[str]:
        """Raw texts -> token lines, exactly as the corpus preparation tokenised its documents."""
        return self.raw_text.tokenize(texts)

    def _batches(self, texts: Sequence[str], batch_size: int) -> Iterator[dict]:
        """Collated batches (``DocumentDataset``: source [</s>, w_1..w_n], target [w_1..w_n, </s>],
        documents cut to the task's ``max_doc_tokens``) of the texts in their order, on the device."""
        lines = self.tokenize(texts)
        if not lines:
            raise ValueError("no texts given")
        self.unknown_tokens = sum(tok not in self.dictionary for line in lines for tok in line.split())
        if self.unknown_tokens:
            total = sum(len(line.split()) for line in lines)
            logger.warning(f"{self.unknown_tokens} of {total} tokens of the {len(lines)} texts are not in the "
                           "dictionary and became <unk>")
        documents = [self.dictionary.encode_line(line, add_if_not_exist=False).long() for line in lines]
        dataset = DocumentDataset(ListDataset(documents, np.array([len(d) for d in documents])), self.dictionary,
                                  self.cfg.task.max_doc_tokens, shuffle=False)
        for start in range(0, len(dataset), batch_size):
            batch = dataset.collater([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
            yield utils.apply_to_sample(lambda t: t.to(self.device), batch)

    def _decode(self, latents: Tensor, max_len: int, beam: int, sampling: bool) -> List[str]:
        """Decoder latents (B, .) -> B detokenised texts."""
        return [self.raw_text.detokenize(line) for line in decode_latents(self.model, latents, max_len, beam, sampling)]

    @staticmethod
    def _seeded(seed: Optional[int]):
        return contextlib.nullcontext() if seed is None else utils.set_torch_seed(seed)

    # ---- latent codes
    def _encoder_out(self, net_input: dict, latent: str) -> dict:
        """The encoder's output with z chosen by ``latent`` ("mean", "sample" or "prior": the model's
        ``latent_source``, as fairseq-generate's --model-overrides sets it)."""
        encoder = self.model.encoder
        saved, encoder.latent_source = encoder.latent_source, latent
        try:
            return encoder(**net_input)
        finally:
            encoder.latent_source = saved

    def _latents(self, texts: Sequence[str], latent: str, batch_size: int) -> Tensor:
        """The decoder latents (B, .) of the texts (the encoder's ``z``)."""
        return torch.cat([self._encoder_out(b["net_input"], latent)["z"][0] for b in self._batches(texts, batch_size)])

    def _prior_latents(self, n: int) -> Tensor:
        """n decoder latents (n, D) drawn from the prior p(z) = N(0, I)."""
        return torch.randn(n, self.latent_dim, device=self.device)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x), each (B, D)."""
        outs = [self._encoder_out(b["net_input"], "mean") for b in self._batches(texts, batch_size)]
        return torch.cat([o["mu"][0] for o in outs]), torch.cat([o["logvar"][0] for o in outs])

    # ---- bounds
    def _importance_weighted_bound(self, batch: dict, num_samples: int, chunk: int) -> Tensor:
        net_input = batch["net_input"]
        return self.model.importance_weighted_bound(net_input["src_tokens"], net_input["src_lengths"],
                                                    batch["target"], num_samples, chunk)

    @torch.no_grad()
    def score(self, texts: Sequence[str], iw_samples: int = 0, iw_chunk: int = 50, batch_size: int = 32,
              seed: Optional[int] = None) -> Tensor:
        """Negative bound on log p(x) per document (B,), nats, EOS included: with ``iw_samples`` = 0 the bound
        of the model's ``forward`` (what fairseq-eval-lm sums: the negative ELBO, one z sample and the
        analytic KL, unless the checkpoint's ``eval_bound_samples`` says otherwise), with K > 0 the
        importance-weighted bound with K samples of z (decoded ``iw_chunk`` at a time)."""
        scores = []
        with self._seeded(seed):
            for batch in self._batches(texts, batch_size):
                if iw_samples > 0:
                    bound = self._importance_weighted_bound(batch, iw_samples, iw_chunk)
                else:
                    bound = self.model(**batch["net_input"])[1]["bound"]
                scores.append(-bound.float())
        return torch.cat(scores)

    # ---- decoding
    def reconstruct(self, texts: Sequence[str], beam: int = 5, sampling: bool = False, latent: str = "mean",
                    max_len: int = 100, batch_size: int = 32, seed: Optional[int] = None) -> List[str]:
        """Decode each text's code: ``latent`` "mean" (the posterior mean) or "sample" (a draw of
        q(z|x)); beam search with ``beam`` hypotheses, or ancestral sampling."""
        if latent not in ("mean", "sample"):
            raise ValueError(f"latent must be 'mean' or 'sample', got {latent!r}")
        with self._seeded(seed), torch.no_grad():
            return self._decode(self._latents(texts, latent, batch_size), max_len, beam, sampling)

    def interpolate(self, text_a: str, text_b: str, steps: int = 5, beam: int = 5, sampling: bool = False,
                    max_len: int = 100, seed: Optional[int] = None) -> List[str]:
        """Texts decoded at ``steps`` evenly spaced points of the line from the posterior mean of ``text_a``
        to that of ``text_b`` (both ends included)."""
        if steps < 2:
            raise ValueError(f"steps must be at least 2 (the two ends), got {steps}")
        with self._seeded(seed), torch.no_grad():
            ends = self._latents([text_a, text_b], "mean", 2)
            alphas = torch.linspace(0, 1, steps, device=ends.device).unsqueeze(1)
            return self._decode((1 - alphas) * ends[0] + alphas * ends[1], max_len, beam, sampling)

    def sample(self, n: int, max_len: int = 100, beam: int = 1, sampling: bool = True,
               seed: Optional[int] = None) -> List[str]:
        """n texts decoded from codes drawn from the prior."""
        with self._seeded(seed), torch.no_grad():
            return self._decode(self._prior_latents(n), max_len, beam, sampling)


class SemiSupervisedVAEHubInterface(TextVAEHubInterface):
    """A trained semi-supervised VAE (M2): the methods of ``TextVAEHubInterface`` (with y = argmax q(y|x)
    for ``encode`` and mean reconstructions and interpolations, y ~ q(y|x) for sampled ones, y ~ p(y)
    uniform for prior samples; ``score`` sums over labels exactly), plus ``classify`` and ``generate``."""

    @property
    def labels(self) -> List[str]:
        """Label names in class-index order (the data's label dictionary)."""
        return self.task.label_names

    def _prior_latents(self, n: int) -> Tensor:
        y = torch.randint(self.model.num_classes, (n,), device=self.device)
        return torch.cat([super()._prior_latents(n), F.one_hot(y, self.model.num_classes).float()], dim=-1)

    def _importance_weighted_bound(self, batch: dict, num_samples: int, chunk: int) -> Tensor:
        net_input = batch["net_input"]
        return self.model.importance_weighted_bound_over_labels(net_input["src_tokens"], net_input["src_lengths"],
                                                                batch["target"], num_samples, chunk)

    @torch.no_grad()
    def classify(self, texts: Sequence[str], batch_size: int = 32) -> List[str]:
        """argmax q(y|x) of each text, as label names."""
        log_qy = torch.cat([self.model.encoder.classify(**b["net_input"])[1] for b in self._batches(texts, batch_size)])
        return [self.labels[i] for i in log_qy.argmax(-1).tolist()]

    def generate(self, label: str, z: Optional[Tensor] = None, beam: int = 10, sampling: bool = False,
                 max_len: int = 100, seed: Optional[int] = None) -> str:
        """A text decoded from [z; onehot(label)]: ``z`` (D,) or (1, D), by default drawn from the prior
        (with ``seed``); beam search (paper: beam 10) or sampling."""
        if label not in self.labels:
            raise ValueError(f"unknown label {label!r}; the labels are {', '.join(self.labels)}")
        device = self.device
        with self._seeded(seed), torch.no_grad():
            if z is None:
                z = torch.randn(1, self.latent_dim, device=device)
            z = torch.as_tensor(z, dtype=torch.float, device=device).reshape(1, -1)
            if z.size(1) != self.latent_dim:
                raise ValueError(f"z has {z.size(1)} dimensions, the model's code has {self.latent_dim}")
            y = F.one_hot(torch.tensor([self.labels.index(label)], device=device), self.model.num_classes).float()
            return self._decode(torch.cat([z, y], dim=-1), max_len, beam, sampling)[0]

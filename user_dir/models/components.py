"""Configs, builders and the base class shared by the plugin's models (no model is registered here).

* ``DilatedCNNDecoderConfig`` / ``build_dilated_decoder``: the paper's dilated CNN decoder (Sec. 2.3);
* ``LatentVariableConfig``, ``build_document_encoder``, ``build_latent_decoder``: encoder, z and
  decoder settings of the VAEs (Sec. 2.2);
* ``LatentVariableModel``: the forward contract of every model with a Gaussian z (``document_terms``,
  bound scores for fairseq-eval-lm), log p(x|z) without the (B, T, V) tensor, the importance-weighted
  bound;
* ``LabelClassifier``: the q(y|x) MLP of the semi-supervised VAE and of the LSTM classifiers.
"""
import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from fairseq import utils
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.models import BaseFairseqModel, FairseqEncoder
from torch import Tensor, nn

from ..modules import (
    DilatedCNNDecoder,
    LatentConditionedDecoder,
    LSTMConditionedDecoder,
    LSTMDocumentEncoder,
    importance_weighted_bound,
    reparameterize,
    target_log_probs,
)
from .architectures import DILATIONS

logger = logging.getLogger(__name__)

def parse_int_list(value: str, option: str) -> List[int]:
    """Parse a Python list expression such as ``"[1, 2, 4] * 2"`` into ints."""
    try:
        parsed = utils.eval_str_list(value, type=int)
    except Exception as exc:  # eval of user text: report which option was bad
        raise ValueError(f"--{option.replace('_', '-')}: cannot parse {value!r} as a list of ints ({exc})")
    if not parsed or any(d < 1 for d in parsed):
        raise ValueError(f"--{option.replace('_', '-')}: needs positive ints, got {value!r}")
    return parsed


@dataclass
class DilatedCNNDecoderConfig(FairseqDataclass):
    """Sizes of the dilated CNN decoder (defaults: the paper's, Sec. 2.3 / 3.2)."""

    decoder_embed_dim: int = field(default=512, metadata={"help": "word embedding size"})
    decoder_channels: int = field(default=1024, metadata={"help": "external channels of the residual blocks"})
    decoder_inner_channels: int = field(default=512, metadata={"help": "internal channels of the residual blocks"})
    decoder_kernel_size: int = field(default=3, metadata={"help": "filter width k"})
    decoder_dilations: str = field(
        default=DILATIONS["scnn"], metadata={"help": "dilation of each block, a Python list, e.g. '[1,2,4]*2'"}
    )
    dropout: float = field(default=0.1, metadata={"help": "dropout at every layer"})
    adaptive_softmax_cutoff: Optional[str] = field(
        default=None, metadata={"help": "comma-separated cutoffs for fairseq's AdaptiveSoftmax, e.g. '2000,10000'"}
    )
    adaptive_softmax_dropout: float = field(default=0.0, metadata={"help": "dropout in the adaptive softmax tails"})


def build_dilated_decoder(cfg: DilatedCNNDecoderConfig, dictionary, conditioning_dim: int = 0) -> DilatedCNNDecoder:
    cutoff = None
    if cfg.adaptive_softmax_cutoff:
        cutoff = utils.eval_str_list(cfg.adaptive_softmax_cutoff, type=int)
    return DilatedCNNDecoder(
        dictionary,
        embed_dim=cfg.decoder_embed_dim,
        channels=cfg.decoder_channels,
        inner_channels=cfg.decoder_inner_channels,
        kernel_size=cfg.decoder_kernel_size,
        dilations=parse_int_list(cfg.decoder_dilations, "decoder_dilations"),
        dropout=cfg.dropout,
        conditioning_dim=conditioning_dim,
        adaptive_softmax_cutoff=cutoff,
        adaptive_softmax_dropout=cfg.adaptive_softmax_dropout,
    )


LATENT_SOURCES = ChoiceEnum(["sample", "mean", "prior"])

# logits (floats) per output-layer block when scoring on a CPU: 4 MiB
CPU_LOGITS_PER_BLOCK = 2 ** 20


@dataclass
class DocumentEncoderConfig(FairseqDataclass):
    """The document encoder (LSTM, last hidden state) of the VAEs and of the LSTM classifiers."""

    encoder_embed_dim: int = field(default=512, metadata={"help": "encoder word embedding size"})
    encoder_hidden_dim: int = field(default=1024, metadata={"help": "encoder LSTM size"})
    encoder_layers: int = field(default=1, metadata={"help": "encoder LSTM layers"})
    encoder_dropout: float = field(default=0.0, metadata={"help": "dropout on the encoder's embeddings"})
    init_encoder_from: Optional[str] = field(
        default=None, metadata={"help": "fairseq lstm_lm checkpoint to initialise the encoder from (the paper's "
                                "'+ init'; for lstm_classifier: LM-LSTM)"}
    )


@dataclass
class LabelClassifierConfig(FairseqDataclass):
    """q(y|x): the two-layer MLP on the encoder's last state (semi-supervised VAE and LSTM classifiers)."""

    num_classes: int = field(default=0, metadata={"help": "number of classes C (0: from the task's labels)"})
    classifier_hidden_dim: int = field(
        default=0, metadata={"help": "hidden size of the two-layer MLP of q(y|x) (0: --encoder-hidden-dim)"}
    )
    classifier_dropout: float = field(default=0.0, metadata={"help": "dropout before each layer of the q(y|x) MLP"})


@dataclass
class LatentVariableConfig(DilatedCNNDecoderConfig, DocumentEncoderConfig):
    """Encoder, latent and LSTM-decoder settings shared by the VAE models."""

    decoder_type: ChoiceEnum(["cnn", "lstm"]) = field(default="cnn", metadata={"help": "dilated CNN or LSTM decoder"})
    latent_dim: int = field(default=32, metadata={"help": "size of z (paper: 32 or 64)"})
    latent_proj_dim: int = field(default=512, metadata={"help": "output size of the MLP applied to z"})
    decoder_hidden_dim: int = field(default=1024, metadata={"help": "LSTM decoder size"})
    decoder_layers: int = field(default=1, metadata={"help": "LSTM decoder layers"})
    lstm_dropout: float = field(default=0.3, metadata={"help": "LSTM decoder dropout (paper grid 0.3, 0.5)"})
    word_dropout: float = field(default=0.0, metadata={"help": "LSTM decoder word dropout (paper grid 0-0.7)"})
    latent_source: LATENT_SOURCES = field(
        default="sample",
        metadata={"help": "z used by the encoder output: a posterior sample (training, ELBO), the posterior "
                  "mean (reconstruction with fairseq-generate) or a prior sample (sampling)"},
    )
    eval_bound_samples: int = field(
        default=1,
        metadata={"help": "K for the bound fairseq-eval-lm reports: 1 = ELBO (one z sample, analytic KL, as in "
                  "the paper); K > 1 = importance-weighted bound of Burda et al. 2016 / He et al. 2019"},
    )
    eval_bound_chunk: int = field(default=50, metadata={"help": "samples of z decoded at once for K > 1"})


def build_latent_decoder(cfg: LatentVariableConfig, dictionary, latent_dim: int) -> LatentConditionedDecoder:
    """p(x | latent) with the configured decoder (CNN reused from dilated_cnn_lm, or LSTM)."""
    if cfg.decoder_type == "cnn":
        inner = build_dilated_decoder(cfg, dictionary, conditioning_dim=cfg.latent_proj_dim)
    else:
        inner = LSTMConditionedDecoder(
            dictionary, embed_dim=cfg.decoder_embed_dim, hidden_dim=cfg.decoder_hidden_dim,
            num_layers=cfg.decoder_layers, dropout=cfg.lstm_dropout, word_dropout=cfg.word_dropout,
            conditioning_dim=cfg.latent_proj_dim,
        )
    return LatentConditionedDecoder(dictionary, latent_dim, inner)


def build_document_encoder(cfg: DocumentEncoderConfig, dictionary) -> LSTMDocumentEncoder:
    return LSTMDocumentEncoder(
        len(dictionary), dictionary.pad(), cfg.encoder_embed_dim, cfg.encoder_hidden_dim,
        num_layers=cfg.encoder_layers, dropout=cfg.encoder_dropout,
    )


def targets_from_source(src_tokens: Tensor, src_lengths: Tensor, eos: int, pad: int) -> Tensor:
    """The document task's target: ``src = [</s>, w_1..w_n]`` -> ``tgt = [w_1..w_n, </s>]``.

    (B, T) -> (B, T), right padding kept.
    """
    target = src_tokens.new_full(src_tokens.shape, pad)
    target[:, :-1] = src_tokens[:, 1:]
    rows = torch.arange(src_tokens.size(0), device=src_tokens.device)
    target[rows, src_lengths - 1] = eos
    return target


def choose_latent(mu: Tensor, logvar: Tensor, latent_source: str) -> Tensor:
    """z for ``latent_source``: a reparameterised posterior sample, the posterior mean, or a prior draw."""
    if latent_source == "mean":
        return mu
    if latent_source == "prior":
        return torch.randn_like(mu)
    return reparameterize(mu, logvar)


def load_lstm_lm_state(path: str) -> dict:
    """State dict of a fairseq ``lstm_lm`` checkpoint (read with ``weights_only``; the
    plugin allows argparse.Namespace, see ``user_dir/__init__.py``)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"--init-encoder-from: no such checkpoint: {path}")
    except Exception as exc:
        raise RuntimeError(f"--init-encoder-from: cannot read checkpoint {path}: {exc}") from exc
    if "model" not in state:
        raise ValueError(f"--init-encoder-from: {path} is not a fairseq checkpoint (no 'model' entry)")
    return state["model"]


class LatentEncoder(FairseqEncoder):
    """Base of the VAEs' encoders: ``forward`` returns a dict of one-element lists of (B, .) tensors
    (fairseq's encoder-output convention), which beam search reorders together."""

    def reorder_encoder_out(self, encoder_out: Dict[str, List[Tensor]], new_order: Tensor):
        return {key: [value[0].index_select(0, new_order)] for key, value in encoder_out.items()}

    def max_positions(self):
        return int(1e6)


def document_terms(net_output) -> Optional[Dict[str, Tensor]]:
    """The per-document terms of the bound that a latent-variable model's ``forward`` returns in
    ``net_output[1]["terms"]`` (see ``TextVAE`` and ``SemiSupervisedVAE``); None for a language model,
    whose ``forward`` returns plain decoder output. What the criterions and evaluations read."""
    extra = net_output[1] if len(net_output) > 1 else None
    return extra.get("terms") if isinstance(extra, dict) else None


class LatentVariableModel(BaseFairseqModel):
    """The base of the models with a Gaussian code z and a document decoder.

    The forward contract: ``forward(src_tokens, src_lengths, ...)`` returns ``(decoder_out, extra)``
    like a fairseq language model, where ``decoder_out`` (B, T, .) is the decoder's output for the z (and
    y) it used, ``extra["terms"]`` the per-document terms of the bound (``document_terms``),
    ``extra["bound"]`` (B,) the bound itself on log p(x) and ``extra["bound_name"]`` which bound it is.
    ``get_normalized_probs`` turns that output into per-position scores whose sum over a document's
    targets is its bound (what fairseq-eval-lm sums); the sequence generator, which calls the decoder
    directly, gets the decoder's probabilities.
    """

    supported_targets = {"future"}

    def __init__(self, cfg, encoder, decoder):
        super().__init__()
        self.cfg = cfg
        self.encoder = encoder
        self.decoder = decoder

    @classmethod
    def from_pretrained(cls, model_name_or_path, checkpoint_file: str = "checkpoint_best.pt",
                        data_name_or_path: str = ".", **overrides):
        """A hub interface (``user_dir/hub_interface.py``: encode, score, reconstruct, interpolate, sample
        raw text; classify and generate by label for a semi-supervised VAE) to the checkpoint
        ``model_name_or_path/checkpoint_file``, with the dictionary, labels and text recipe of the data-bin
        folder ``data_name_or_path`` (a path starting with "." is relative to the model folder, as in
        fairseq); ``overrides`` replace configuration values by name."""
        from ..hub_interface import from_pretrained

        return from_pretrained(cls, model_name_or_path, checkpoint_file, data_name_or_path, **overrides)

    def max_positions(self):
        return self.decoder.max_positions()

    def max_decoder_positions(self):
        return self.decoder.max_positions()

    def init_encoder_from_lstm_lm(self, path: str) -> list:
        """The paper's "+ init": copy embeddings and LSTM weights of an lstm_lm into the encoder."""
        return self.encoder.reader.load_from_lstm_lm(load_lstm_lm_state(path), source=path)

    def get_normalized_probs(self, net_output, log_probs: bool, sample=None):
        """Decoder (log-)probabilities; for a ``forward`` output (which carries ``bound``), those plus its
        ``score_offsets``: scores whose sum at a document's targets is its bound. fairseq-eval-lm's ``--softmax-batch`` hands a batch over as consecutive slices
        of its flattened positions (``SequenceScorer``): each slice gets the next positions' offsets."""
        lprobs = self.decoder.get_normalized_probs(net_output, log_probs=True, sample=sample).float()
        extra = net_output[1] if len(net_output) > 1 else None
        if isinstance(extra, dict) and "bound" in extra:
            offsets = extra["score_offsets"]
            if lprobs.shape[:2] == offsets.shape:
                lprobs = lprobs + offsets.unsqueeze(-1)
            else:  # a slice of the flattened batch (1, n, V)
                start = extra.get("scored_positions", 0)
                flat = offsets.reshape(1, -1)[:, start: start + lprobs.size(1)]
                if flat.shape != lprobs.shape[:2]:
                    raise ValueError(f"bound scores: log-probs {tuple(lprobs.shape[:2])} do not match the batch's "
                                     f"{tuple(offsets.shape)} positions (from position {start})")
                extra["scored_positions"] = start + lprobs.size(1)
                lprobs = lprobs + flat.unsqueeze(-1)
            self.log_bound_once(extra["bound_name"])
        return lprobs if log_probs else lprobs.exp()

    def log_bound_once(self, bound_name: str) -> None:
        """Says once per model which bound fairseq-eval-lm's perplexity is made of."""
        if not getattr(self, "_bound_logged", False):
            logger.info(f"per-token scores are spread document bounds: {bound_name}; "
                        "exp(-sum / tokens) is an upper bound on the perplexity")
            self._bound_logged = True

    def document_reconstruction(self, net_output, target: Tensor) -> Tensor:
        """log p(x|z) per document (B,) in fp32 from the decoder's output (differentiable)."""
        return target_log_probs(self.decoder, net_output, target).sum(-1)

    def score_offsets(self, target: Tensor, bound: Tensor, reconstruction: Tensor) -> Tensor:
        """Per-position offsets (B, T) that turn the decoder's log-probabilities into scores whose sum at a
        document's targets is its ``bound`` (B,): ``(bound - reconstruction) / n`` at each of the document's
        n scored positions (EOS included), 0 at padding, ``reconstruction`` (B,) being log p(x|.) of the
        decoder output returned with them. fairseq-eval-lm, which sums target log-probabilities, then sums
        to the bound; every entry of a position's row gets the same offset."""
        mask = target.ne(self.decoder.dictionary.pad())
        per_token = (bound.float() - reconstruction.float()) / mask.sum(-1).clamp(min=1)
        return (per_token[:, None] * mask).detach()

    def reconstruction(self, tokens: Tensor, target: Tensor, latent: Tensor) -> Tensor:
        """log p(x|z) per document (B,) in fp32, without the (B, T, V) tensor of log-probabilities.

        The decoder's features at the scored (non-pad) positions go through the
        output layer and log-softmax a block of rows at a time (on a CPU blocks
        of ``CPU_LOGITS_PER_BLOCK`` logits, on a GPU one block), so memory does
        not grow with B x T x V: decoding 50 samples of z for 16 documents of 80
        tokens at once would otherwise hold 2 x 5 GB of logits and log-probs at a
        20k vocabulary. Same numbers as ``document_reconstruction``.
        """
        features, _ = self.decoder(tokens, latent=latent, features_only=True)
        mask = target.ne(self.decoder.dictionary.pad())
        features, scored = features[mask], target[mask]
        rows = features.size(0) if features.is_cuda else max(16, CPU_LOGITS_PER_BLOCK // len(self.decoder.dictionary))
        token_lprobs = torch.cat([self._target_log_probs(features[i: i + rows], scored[i: i + rows])
                                  for i in range(0, features.size(0), rows)])
        document = torch.arange(target.size(0), device=target.device).unsqueeze(1).expand_as(target)[mask]
        return token_lprobs.new_zeros(target.size(0)).index_add_(0, document, token_lprobs)

    def _target_log_probs(self, features: Tensor, target: Tensor) -> Tensor:
        """log p(target_i | features_i) (N,) fp32 for features (N, C); works with adaptive softmax."""
        net_output = (self.decoder.output_layer(features.unsqueeze(0)), None)
        return target_log_probs(self.decoder, net_output, target.unsqueeze(0))[0]

    def latent_log_likelihoods(self, src_tokens: Tensor, target: Tensor, latents: Tensor,
                               chunk_size: int) -> Tensor:
        """log p(x|z_k) (B, K) for latents (B, K, D): ``chunk_size`` latents of every document are
        decoded as one batch of B*chunk documents; chunk_size=1 is the plain loop over samples
        (same numbers up to floating-point summation order)."""
        bsz, num, _ = latents.shape
        length = src_tokens.size(1)
        out = []
        for start in range(0, num, chunk_size):
            z = latents[:, start: start + chunk_size]
            k = z.size(1)
            rows = (bsz * k, length)
            out.append(self.reconstruction(src_tokens.unsqueeze(1).expand(bsz, k, length).reshape(rows),
                                           target.unsqueeze(1).expand(bsz, k, length).reshape(rows),
                                           z.reshape(bsz * k, -1)).view(bsz, k))
        return torch.cat(out, dim=1)

    @torch.no_grad()
    def importance_weighted_bound(self, src_tokens: Tensor, src_lengths: Tensor, target: Tensor,
                                  num_samples: int, chunk_size: int = 50, posterior=None) -> Tensor:
        """``bounds.importance_weighted_bound`` with K = ``num_samples`` samples of q(z|x) (``posterior``
        (mu, logvar), else the encoder's), all drawn first, then decoded ``chunk_size`` at a time
        (``latent_log_likelihoods``). Returns (B,) nats."""
        if posterior is None:
            out = self.encoder(src_tokens, src_lengths)
            posterior = (out["mu"][0], out["logvar"][0])
        mu, logvar = posterior
        z = reparameterize(mu, logvar, num_samples=num_samples)  # (B, K, D), drawn up front
        return importance_weighted_bound(self.latent_log_likelihoods(src_tokens, target, z, chunk_size), z, mu, logvar)


def build_label_classifier(cfg, num_classes: int) -> "LabelClassifier":
    """q(y|x) for a config with ``LabelClassifierConfig`` and ``DocumentEncoderConfig`` fields."""
    hidden = cfg.classifier_hidden_dim or cfg.encoder_hidden_dim
    return LabelClassifier(cfg.encoder_hidden_dim, hidden, num_classes, cfg.classifier_dropout)


class LabelClassifier(nn.Module):
    """q(y|x) logits: h (B, H) -> Linear -> ReLU -> Linear -> (B, C) (softmax applied by the caller)."""

    def __init__(self, input_dim: int, hidden_dim: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_dim, num_classes),
        )

    def forward(self, features: Tensor) -> Tensor:
        return self.mlp(features)

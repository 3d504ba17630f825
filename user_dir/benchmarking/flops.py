"""Analytic FLOP counts of the models, per token, for training and for the forward pass.

Conventions
-----------
* A multiply-add counts as 2 FLOPs; a ``Linear(n_in -> n_out)`` applied to one
  row costs ``2 * n_in * n_out``.
* Only the weight matrix products are counted. Biases, activations (ReLU,
  sigmoid, tanh), dropout, residual additions, embedding look-ups and the
  exponentials of the softmax are O(d) per token against the O(d^2) of the
  products, and are left out (as in the usual "6 N" style accounting).
* **Training = 3 x forward**: the backward pass costs two products per forward
  product (gradient with respect to the input and to the weight).
* Some products are done once per *document* rather than per token (the VAE
  posterior, the latent MLP, the conditioning projection of the CNN decoder,
  the LSTM decoder's initial state). They are kept apart in ``per_document``
  and spread over a document's tokens by ``tokens_per_document``.
* "Tokens" are the scored positions of a document: its words plus EOS (the
  decoder runs on ``[</s>, w_1 .. w_n]``, the encoder reads the same n + 1 tokens).

Per layer (forward, FLOPs per token unless "per document")
----------------------------------------------------------
========================================  =============================================================
layer                                     FLOPs
========================================  =============================================================
CNN input projection [e_t; c] -> C        ``2 E C`` per token + ``2 P C`` per document (W_c c is
                                          computed once per document; P = conditioning size, 0 for LMs)
residual block: 1x1 conv C -> I           ``2 C I``
residual block: dilated k-tap conv I -> I ``2 k I I`` (one product per tap)
residual block: 1x1 conv I -> C           ``2 I C``
LSTM layer, input X, hidden H             ``2 * 4H * (X + H)`` (input and recurrent products, 4 gates)
VAE encoder                               LSTM(E -> H_enc) per token; posterior ``2 H_enc 2D`` per doc.
latent MLP z -> P                         ``2 D P`` per document
LSTM decoder (Bowman et al.)              LSTM(E + P -> H_dec) per token; initial state
                                          ``2 P (L H_dec)`` per document
output layer, full softmax                ``2 C V``
output layer, adaptive softmax            head ``2 C (c_0 + n)`` per token, with n tail clusters;
(fairseq ``AdaptiveSoftmax``, factor f)   tail i: ``2 C d_i + 2 d_i (c_{i+1} - c_i)``, d_i = C // f^(i+1),
                                          counted for the fraction of targets in cluster i when
                                          training (fairseq only runs a tail on its own targets:
                                          Zipf(1) fractions unless given), for every token when full
                                          normalised probabilities are needed (evaluation/generation)
========================================  =============================================================
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

TRAINING_MULTIPLIER = 3  # forward + backward (2 x forward)


def linear_flops(n_in: int, n_out: int) -> int:
    """One row through ``Linear(n_in -> n_out)``: ``2 n_in n_out`` (bias not counted)."""
    return 2 * n_in * n_out


def lstm_flops(input_dim: int, hidden_dim: int, num_layers: int = 1) -> int:
    """Per token: ``sum_l 2 * 4H * (X_l + H)``, X_0 = input_dim, X_l = H above (4 gates, W_ih x + W_hh h)."""
    total, x = 0, input_dim
    for _ in range(num_layers):
        total += 2 * 4 * hidden_dim * (x + hidden_dim)
        x = hidden_dim
    return total


def residual_block_flops(channels: int, inner: int, kernel_size: int) -> Dict[str, int]:
    """Per token: 1x1 ``2 C I``, dilated conv ``2 k I I``, 1x1 ``2 I C`` (paper Sec. 2.3 block)."""
    return {"conv1x1_reduce": 2 * channels * inner, "conv_dilated": 2 * kernel_size * inner * inner,
            "conv1x1_expand": 2 * inner * channels}


def zipf_cluster_fractions(vocab_size: int, cutoff: Sequence[int]) -> List[float]:
    """Fraction of tokens in each adaptive-softmax tail cluster if word ranks follow Zipf's law
    p(r) ~ 1/r (r = 1..V): ``(H(c_{i+1}) - H(c_i)) / H(V)`` with H the harmonic numbers."""
    import math

    def harmonic(n: int) -> float:  # H(n) ~ ln n + gamma + 1/(2n)
        return 0.0 if n <= 0 else math.log(n) + 0.5772156649 + 1.0 / (2 * n)

    bounds = list(cutoff) + ([vocab_size] if cutoff[-1] < vocab_size else [])
    total = harmonic(vocab_size)
    return [(harmonic(bounds[i + 1]) - harmonic(bounds[i])) / total for i in range(len(bounds) - 1)]


def output_layer_flops(input_dim: int, vocab_size: int, adaptive_softmax_cutoff: Optional[Sequence[int]] = None,
                       factor: float = 4.0, cluster_fractions: Optional[Sequence[float]] = None,
                       all_clusters: bool = False) -> int:
    """Per token. Full softmax: ``2 C V``. Adaptive softmax (fairseq's): head ``2 C (c_0 + n)``
    plus, per tail i, ``2 C d_i + 2 d_i (c_{i+1} - c_i)`` (d_i = C // factor^(i+1)) weighted by the
    fraction of targets in cluster i, or by 1 with ``all_clusters`` (full normalised probabilities)."""
    if not adaptive_softmax_cutoff:
        return linear_flops(input_dim, vocab_size)
    cutoff = list(adaptive_softmax_cutoff)
    if cutoff[-1] < vocab_size:
        cutoff.append(vocab_size)
    n_tails = len(cutoff) - 1
    total = linear_flops(input_dim, cutoff[0] + n_tails)
    if cluster_fractions is None:
        cluster_fractions = zipf_cluster_fractions(vocab_size, cutoff)
    for i in range(n_tails):
        dim = int(input_dim // factor ** (i + 1))
        tail = linear_flops(input_dim, dim) + linear_flops(dim, cutoff[i + 1] - cutoff[i])
        total += tail * (1.0 if all_clusters else cluster_fractions[i])
    return total


@dataclass
class FlopCount:
    """Forward FLOPs of a model by layer: ``per_token`` and ``per_document`` dicts."""

    per_token: Dict[str, float] = field(default_factory=dict)
    per_document: Dict[str, float] = field(default_factory=dict)

    def add(self, other: "FlopCount", prefix: str = "") -> "FlopCount":
        for key, value in other.per_token.items():
            self.per_token[prefix + key] = self.per_token.get(prefix + key, 0) + value
        for key, value in other.per_document.items():
            self.per_document[prefix + key] = self.per_document.get(prefix + key, 0) + value
        return self

    def forward_per_token(self, tokens_per_document: float) -> float:
        """Forward FLOPs per token, per-document products spread over ``tokens_per_document``."""
        return sum(self.per_token.values()) + sum(self.per_document.values()) / tokens_per_document

    def training_per_token(self, tokens_per_document: float) -> float:
        """Forward + backward = 3 x forward, per token."""
        return TRAINING_MULTIPLIER * self.forward_per_token(tokens_per_document)

    def forward_per_document(self, tokens_per_document: float) -> float:
        return self.forward_per_token(tokens_per_document) * tokens_per_document

    def breakdown(self) -> Dict[str, float]:
        return {**{f"{k} (per token)": v for k, v in self.per_token.items()},
                **{f"{k} (per document)": v for k, v in self.per_document.items()}}


def dilated_cnn_decoder_flops(embed_dim: int, channels: int, inner_channels: int, kernel_size: int, num_blocks: int,
                              vocab_size: int, conditioning_dim: int = 0,
                              adaptive_softmax_cutoff: Optional[Sequence[int]] = None, adaptive_factor: float = 4.0,
                              cluster_fractions: Optional[Sequence[float]] = None,
                              all_clusters: bool = False, output_layer: bool = True) -> FlopCount:
    """The dilated CNN decoder (``DilatedCNNDecoder``): input projection, ``num_blocks`` residual
    blocks, output layer. See the module docstring for each formula."""
    count = FlopCount()
    count.per_token["input_proj"] = linear_flops(embed_dim, channels)
    if conditioning_dim:
        count.per_document["input_proj_conditioning"] = linear_flops(conditioning_dim, channels)
    for key, value in residual_block_flops(channels, inner_channels, kernel_size).items():
        count.per_token[key] = num_blocks * value
    if output_layer:
        count.per_token["output"] = output_layer_flops(channels, vocab_size, adaptive_softmax_cutoff, adaptive_factor,
                                                       cluster_fractions, all_clusters)
    return count


def lstm_decoder_flops(embed_dim: int, hidden_dim: int, vocab_size: int, num_layers: int = 1,
                       conditioning_dim: int = 0, out_embed_dim: Optional[int] = None,
                       adaptive_softmax_cutoff: Optional[Sequence[int]] = None, adaptive_factor: float = 4.0,
                       cluster_fractions: Optional[Sequence[float]] = None, all_clusters: bool = False,
                       output_layer: bool = True) -> FlopCount:
    """An LSTM decoder: LSTM over [e_t; c] (``conditioning_dim`` = P, 0 for an LM), an optional
    projection H -> out_embed_dim (fairseq ``lstm_lm``'s ``additional_fc``), the output layer,
    and with conditioning the initial state ``tanh(W_h c)``: ``2 P (L H)`` per document."""
    count = FlopCount()
    count.per_token["lstm"] = lstm_flops(embed_dim + conditioning_dim, hidden_dim, num_layers)
    if conditioning_dim:
        count.per_document["init_hidden"] = linear_flops(conditioning_dim, num_layers * hidden_dim)
    out_dim = hidden_dim
    if out_embed_dim is not None and out_embed_dim != hidden_dim:
        count.per_token["additional_fc"] = linear_flops(hidden_dim, out_embed_dim)
        out_dim = out_embed_dim
    if output_layer:
        count.per_token["output"] = output_layer_flops(out_dim, vocab_size, adaptive_softmax_cutoff, adaptive_factor,
                                                       cluster_fractions, all_clusters)
    return count


def vae_encoder_flops(embed_dim: int, hidden_dim: int, latent_dim: int, num_layers: int = 1) -> FlopCount:
    """q(z|x): LSTM(E -> H_enc) per token, posterior Linear(H_enc -> 2D) per document."""
    return FlopCount(per_token={"lstm": lstm_flops(embed_dim, hidden_dim, num_layers)},
                     per_document={"posterior": linear_flops(hidden_dim, 2 * latent_dim)})


def text_vae_flops(embed_dim: int, encoder_hidden_dim: int, latent_dim: int, latent_proj_dim: int, vocab_size: int,
                   decoder: str = "cnn", channels: int = 0, inner_channels: int = 0, kernel_size: int = 3,
                   num_blocks: int = 0, decoder_hidden_dim: int = 0, encoder_layers: int = 1,
                   decoder_layers: int = 1, **output_kwargs) -> FlopCount:
    """Encoder + latent MLP (``2 D P`` per document) + CNN or LSTM decoder conditioned on P."""
    count = FlopCount()
    count.add(vae_encoder_flops(embed_dim, encoder_hidden_dim, latent_dim, encoder_layers), "encoder.")
    count.per_document["decoder.latent_mlp"] = linear_flops(latent_dim, latent_proj_dim)
    if decoder == "cnn":
        dec = dilated_cnn_decoder_flops(embed_dim, channels, inner_channels, kernel_size, num_blocks, vocab_size,
                                        conditioning_dim=latent_proj_dim, **output_kwargs)
    elif decoder == "lstm":
        dec = lstm_decoder_flops(embed_dim, decoder_hidden_dim, vocab_size, decoder_layers,
                                 conditioning_dim=latent_proj_dim, **output_kwargs)
    else:
        raise ValueError(f"decoder must be 'cnn' or 'lstm', got {decoder!r}")
    return count.add(dec, "decoder.")


def generation_flops(count: FlopCount, length: int) -> Dict[str, float]:
    """Forward FLOPs to sample one document of ``length`` tokens from a decoder's ``count``.

    Incremental decoding runs every layer at one new position per step:
    ``L (F + O) + P``, with F the per-token feature FLOPs, O the output layer,
    P the per-document products. Full recomputation runs the features of the
    whole prefix at every step and the output layer at its last position only:
    ``F L (L + 1) / 2 + L (O + P)``. Their ratio is what incremental decoding
    would gain if both ran at the same FLOP rate.
    """
    output = count.per_token.get("output", 0.0)
    features = sum(count.per_token.values()) - output
    once = sum(count.per_document.values())
    return {"incremental": length * (features + output) + once,
            "full": features * length * (length + 1) / 2 + length * (output + once)}


# --------------------------------------------------------------------------- from built models


def _output_kwargs(adaptive_softmax, all_clusters: bool):
    if adaptive_softmax is None:
        return {}
    return dict(adaptive_softmax_cutoff=list(adaptive_softmax.cutoff), adaptive_factor=adaptive_softmax.factor,
                all_clusters=all_clusters)


def decoder_flops(decoder, all_clusters: bool = False) -> FlopCount:
    """FLOPs of a built decoder: ``DilatedCNNDecoder``, ``LSTMConditionedDecoder``,
    ``LatentConditionedDecoder`` (latent MLP + the wrapped one) or fairseq's ``LSTMDecoder``."""
    from user_dir.modules import DilatedCNNDecoder, LatentConditionedDecoder, LSTMConditionedDecoder

    vocab = len(decoder.dictionary)
    if isinstance(decoder, LatentConditionedDecoder):
        mlp = decoder.latent_proj[0]
        count = FlopCount(per_document={"latent_mlp": linear_flops(mlp.in_features, mlp.out_features)})
        return count.add(decoder_flops(decoder.inner, all_clusters))
    if isinstance(decoder, DilatedCNNDecoder):
        block = decoder.blocks[0]
        return dilated_cnn_decoder_flops(
            decoder.embed_dim, decoder.input_proj.out_features, block.reduce.out_features, decoder.kernel_size,
            len(decoder.blocks), vocab, decoder.conditioning_dim,
            **_output_kwargs(decoder.adaptive_softmax, all_clusters))
    if isinstance(decoder, LSTMConditionedDecoder):
        return lstm_decoder_flops(decoder.embed_tokens.embedding_dim, decoder.hidden_dim, vocab, decoder.num_layers,
                                  decoder.conditioning_dim)
    from fairseq.models.lstm import LSTMDecoder

    if isinstance(decoder, LSTMDecoder):
        cell = decoder.layers[0]
        fc = getattr(decoder, "additional_fc", None)
        return lstm_decoder_flops(cell.input_size, decoder.hidden_size, vocab, decoder.num_layers,
                                  out_embed_dim=fc.out_features if fc is not None else None,
                                  **_output_kwargs(decoder.adaptive_softmax, all_clusters))
    raise TypeError(f"no FLOP model for decoder {type(decoder).__name__}")


def model_flops(model, all_clusters: bool = False) -> FlopCount:
    """FLOPs of a built model: a plugin ``TextVAE`` / ``dilated_cnn_lm`` or fairseq's ``lstm_lm``."""
    from user_dir.models.text_vae import TextVAE

    count = FlopCount()
    if isinstance(model, TextVAE):
        lstm = model.encoder.reader.lstm
        proj = model.encoder.posterior.proj
        count.add(vae_encoder_flops(lstm.input_size, lstm.hidden_size, proj.out_features // 2, lstm.num_layers),
                  "encoder.")
    return count.add(decoder_flops(model.decoder, all_clusters), "decoder.")

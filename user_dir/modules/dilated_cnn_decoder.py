"""The dilated convolutional decoder of Yang et al. (2017), Sec. 2.3."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from fairseq.models import FairseqIncrementalDecoder
from fairseq.modules import AdaptiveSoftmax
from torch import Tensor, nn

from .causal_dilated_conv import CausalDilatedConv1d


class DilatedResidualBlock(nn.Module):
    """ByteNet-style residual block (Yang et al. 2017, Sec. 2.3, Fig. 1):

        h = x + Dropout(W_3 ReLU(Conv_{k,d}(ReLU(W_1 ReLU(x)))))

    W_1: 1x1 conv ``channels -> inner`` (paper 1024 -> 512), Conv_{k,d}: causal
    dilated conv ``inner -> inner``, W_3: 1x1 conv ``inner -> channels``.
    Shapes: (B, T, channels) -> (B, T, channels); with ``time_major=True``
    (T, B, channels) -> (T, B, channels), the layout the decoder uses (every
    dilated tap is then a contiguous block of rows, see CausalDilatedConv1d).
    """

    def __init__(self, channels: int, inner: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.reduce = nn.Linear(channels, inner)
        self.conv = CausalDilatedConv1d(inner, inner, kernel_size, dilation)
        self.expand = nn.Linear(inner, channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, incremental_state=None, time_major: bool = False) -> Tensor:
        """x: (B, T, channels), or (T, B, channels) with ``time_major``."""
        if not time_major:
            return self.forward(x.transpose(0, 1), incremental_state, time_major=True).transpose(0, 1)
        T, B, C = x.shape
        if incremental_state is not None:
            return self.step(x.reshape(T * B, C), incremental_state).view(T, B, C) if T == 1 else \
                torch.stack([self.step(x_t, incremental_state) for x_t in x.unbind(0)])
        return self.forward_rows(x.reshape(T * B, C), B).view(T, B, C)

    def forward_rows(self, x: Tensor, batch_size: int) -> Tensor:
        """Full sequences as time-major rows: x (T * B, channels), row t * B + b -> same shape.

        All tensors stay 2-D, so the ReLUs after the linear layers and the convolution run
        in place on their outputs (which their backward passes do not need) without autograd
        view bookkeeping.
        """
        h = F.relu(self.reduce(F.relu(x)), inplace=True)
        h = F.relu(self.conv.forward_rows(h, batch_size), inplace=True)
        h = self.expand(h)
        return x + self.dropout(h)

    def step(self, x: Tensor, incremental_state, weights_t: Optional[Sequence[Tensor]] = None) -> Tensor:
        """One position of incremental decoding: (B, channels) -> (B, channels).

        The same computation as ``forward`` on 2-D tensors with the module calls unrolled
        (per-step Python work is what a decoding step costs at small batch sizes).
        ``weights_t``: optionally contiguous W^T copies of (reduce, conv, expand), see
        ``DilatedCNNDecoder.step_weights``.
        """
        reduce_t, conv_t, expand_t = weights_t or (self.reduce.weight.t(), None, self.expand.weight.t())
        h = torch.addmm(self.reduce.bias, F.relu(x), reduce_t).relu_()
        h = self.conv.step(h, incremental_state, conv_t).relu_()
        h = torch.addmm(self.expand.bias, h, expand_t)
        if self.training and self.dropout.p > 0:
            h = F.dropout(h, self.dropout.p, True)
        return x + h


def receptive_field(kernel_size: int, dilations: Sequence[int]) -> int:
    """(k - 1) * sum(d_i) + 1 input positions seen by one output (paper Sec. 2.3)."""
    return (kernel_size - 1) * sum(dilations) + 1


class DilatedCNNDecoder(FairseqIncrementalDecoder):
    """Causal dilated CNN over ``prev_output_tokens`` (B, T) -> logits (B, T, V).

    An optional conditioning vector ``c`` (B, conditioning_dim), e.g. the
    projected latent code of a VAE, is concatenated to every input embedding
    (paper Sec. 2.3). The concatenation is computed without materialising it:
    ``W [e_t; c] = W_e e_t + W_c c`` and ``W_c c`` is computed once per sequence.

    Layers: embedding (embed_dim) -> [e_t; c] -> linear to ``channels`` ->
    residual blocks with the given dilations -> ReLU -> output layer (a linear
    layer to the vocabulary, or fairseq's AdaptiveSoftmax).
    """

    def __init__(
        self,
        dictionary,
        embed_dim: int = 512,
        channels: int = 1024,
        inner_channels: int = 512,
        kernel_size: int = 3,
        dilations: Sequence[int] = (1, 2, 4),
        dropout: float = 0.1,
        conditioning_dim: int = 0,
        adaptive_softmax_cutoff: Optional[List[int]] = None,
        adaptive_softmax_dropout: float = 0.0,
        max_positions: int = int(1e6),
    ):
        super().__init__(dictionary)
        self.padding_idx = dictionary.pad()
        self.embed_dim = embed_dim
        self.conditioning_dim = conditioning_dim
        self.kernel_size = kernel_size
        self.dilations = list(dilations)
        self._max_positions = max_positions
        self.embed_tokens = nn.Embedding(len(dictionary), embed_dim, padding_idx=self.padding_idx)
        nn.init.normal_(self.embed_tokens.weight, mean=0, std=embed_dim ** -0.5)
        nn.init.zeros_(self.embed_tokens.weight[self.padding_idx])
        self.input_proj = nn.Linear(embed_dim + conditioning_dim, channels)
        self.blocks = nn.ModuleList(
            DilatedResidualBlock(channels, inner_channels, kernel_size, d, dropout) for d in self.dilations
        )
        self.dropout = nn.Dropout(dropout)
        if adaptive_softmax_cutoff:
            self.adaptive_softmax = AdaptiveSoftmax(
                len(dictionary), channels, adaptive_softmax_cutoff, dropout=adaptive_softmax_dropout
            )
            self.output_proj = None
        else:
            self.adaptive_softmax = None
            self.output_proj = nn.Linear(channels, len(dictionary))

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.kernel_size, self.dilations)

    def forward(
        self,
        prev_output_tokens: Tensor,
        encoder_out=None,
        incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None,
        conditioning: Optional[Tensor] = None,
        features_only: bool = False,
        **kwargs,
    ):
        x, extra = self.extract_features(prev_output_tokens, incremental_state, conditioning)
        if not features_only:
            weights_t = self.step_weights(incremental_state) if incremental_state is not None else None
            if weights_t is not None and self.output_proj is not None:
                x = torch.addmm(self.output_proj.bias, x.view(-1, x.size(-1)), weights_t["output"]).view(
                    x.size(0), x.size(1), -1)
            else:
                x = self.output_layer(x)
        return x, extra

    def extract_features(self, prev_output_tokens, incremental_state=None, conditioning=None, **kwargs):
        """prev_output_tokens (B, T), conditioning (B, conditioning_dim) -> features (B, T, channels).

        Internally the activations are time-major rows (T * B, channels), row t * B + b: the
        embeddings are looked up in that order, every dilated tap is a contiguous block of
        rows (see CausalDilatedConv1d), and the features are transposed back to (B, T, C)
        once, before the output layer.
        """
        if incremental_state is not None:
            return self._extract_features_step(prev_output_tokens[:, -1], incremental_state, conditioning)
        bsz, length = prev_output_tokens.shape
        emb = self.dropout(self.embed_tokens(prev_output_tokens.t().reshape(-1)))  # (T * B, E), row t * B + b
        w, b = self.input_proj.weight, self.input_proj.bias
        x = F.linear(emb, w[:, : self.embed_dim], b)
        if self.conditioning_dim:
            if conditioning is None:
                raise ValueError("this decoder was built with conditioning_dim > 0: pass `conditioning`")
            cond = F.linear(conditioning.to(x.dtype), w[:, self.embed_dim:])  # (B, C), once per sequence
            x = (x.view(length, bsz, -1) + cond).view(length * bsz, -1)
        for block in self.blocks:
            x = block.forward_rows(x, bsz)
        x = self.dropout(F.relu(x)).view(length, bsz, -1).transpose(0, 1)
        if length > 1 and bsz > 1:
            x = x.contiguous()
        return x, {"attn": [None], "inner_states": None}

    def step_weights(self, incremental_state) -> Optional[Dict[str, Tensor]]:
        """Contiguous copies of W^T of every linear map used by a decoding step, or None.

        On a CPU, MKL multiplies a few rows (one position of B documents) by W^T 25-35 %
        faster from a row-major copy of W^T than from W itself, so incremental decoding
        without gradients makes these copies once and keeps them in ``incremental_state``:
        they live as long as one generation (fairseq starts a fresh state per batch), during
        which the weights cannot change. Same numbers, one extra copy of the weights while
        generating. Not used on GPUs or when gradients are needed.
        """
        w = self.input_proj.weight
        if w.device.type != "cpu" or (torch.is_grad_enabled() and w.requires_grad):
            return None
        cached = self.get_incremental_state(incremental_state, "weights_t")
        if cached is None:
            with torch.no_grad():
                cached = {"input_e": w[:, : self.embed_dim].t().contiguous(),
                          "input_c": w[:, self.embed_dim:].t().contiguous()}
                for i, block in enumerate(self.blocks):
                    cached[f"{i}.reduce"] = block.reduce.weight.t().contiguous()
                    cached[f"{i}.conv"] = block.conv.proj.weight.t().contiguous()
                    cached[f"{i}.expand"] = block.expand.weight.t().contiguous()
                if self.output_proj is not None:
                    cached["output"] = self.output_proj.weight.t().contiguous()
            self.set_incremental_state(incremental_state, "weights_t", cached)
        return cached

    def _extract_features_step(self, tokens: Tensor, incremental_state, conditioning=None):
        """Incremental decoding of one position: tokens (B,) -> features (B, 1, channels)."""
        emb = F.embedding(tokens, self.embed_tokens.weight, self.padding_idx)
        if self.training and self.dropout.p > 0:
            emb = F.dropout(emb, self.dropout.p, True)
        w, b = self.input_proj.weight, self.input_proj.bias
        weights_t = self.step_weights(incremental_state)
        x = torch.addmm(b, emb, weights_t["input_e"] if weights_t else w[:, : self.embed_dim].t())
        if self.conditioning_dim:
            if conditioning is None:
                raise ValueError("this decoder was built with conditioning_dim > 0: pass `conditioning`")
            x = torch.addmm(x, conditioning.to(x.dtype), weights_t["input_c"] if weights_t else w[:, self.embed_dim:].t())
        for i, block in enumerate(self.blocks):
            block_t = (weights_t[f"{i}.reduce"], weights_t[f"{i}.conv"], weights_t[f"{i}.expand"]) if weights_t else None
            x = block.step(x, incremental_state, block_t)
        x = F.relu(x)
        if self.training and self.dropout.p > 0:
            x = F.dropout(x, self.dropout.p, True)
        return x.unsqueeze(1), {"attn": [None], "inner_states": None}

    def output_layer(self, features: Tensor) -> Tensor:
        """features (B, T, channels) -> logits (B, T, V); identity with adaptive softmax."""
        if self.adaptive_softmax is not None:
            return features
        return self.output_proj(features)

    def max_positions(self):
        """Convolutions have no positional limit; documents are cut by the task."""
        return self._max_positions

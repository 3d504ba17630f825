"""Wraps a conditionable decoder so that it is driven by a latent code."""
from typing import Dict, Optional

from fairseq.models import FairseqIncrementalDecoder
from torch import Tensor, nn


class LatentConditionedDecoder(FairseqIncrementalDecoder):
    """p(x | z): ``c = MLP(z)`` is handed to the wrapped decoder as its conditioning.

    The latent (B, latent_dim) is taken from ``latent`` or, during
    ``fairseq-generate``, from ``encoder_out["z"][0]`` (so beam reordering of the
    encoder output reorders z too). MLP: Linear -> ReLU, to ``conditioning_dim``
    (paper Sec. 2.3: "z is fed through an MLP").
    """

    def __init__(self, dictionary, latent_dim: int, inner: FairseqIncrementalDecoder):
        super().__init__(dictionary)
        self.inner = inner
        self.latent_proj = nn.Sequential(nn.Linear(latent_dim, inner.conditioning_dim), nn.ReLU())

    def forward(self, prev_output_tokens: Tensor, encoder_out=None,
                incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None,
                latent: Optional[Tensor] = None, features_only: bool = False, **kwargs):
        if latent is None:
            if encoder_out is None:
                raise ValueError("LatentConditionedDecoder needs `latent` or encoder_out['z']")
            latent = encoder_out["z"][0]
        conditioning = self.latent_proj(latent.to(self.latent_proj[0].weight.dtype))
        return self.inner(prev_output_tokens, incremental_state=incremental_state,
                          conditioning=conditioning, features_only=features_only)

    def output_layer(self, features: Tensor) -> Tensor:
        return self.inner.output_layer(features)

    def get_normalized_probs(self, net_output, log_probs, sample=None):
        return self.inner.get_normalized_probs(net_output, log_probs, sample)

    def max_positions(self):
        return self.inner.max_positions()

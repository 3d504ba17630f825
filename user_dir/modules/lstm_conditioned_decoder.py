"""LSTM decoder conditioned on a latent code: the LSTM-VAE baseline of Bowman et al. (2015)."""
from typing import Dict, Optional

import torch
from fairseq.models import FairseqIncrementalDecoder
from torch import Tensor, nn


class LSTMConditionedDecoder(FairseqIncrementalDecoder):
    """prev_output_tokens (B, T) and conditioning c (B, C) -> logits (B, T, V).

    h_0 = tanh(W_h c), cell_0 = 0 (the code sets the initial state), and c is
    concatenated to every input embedding (paper Sec. 3.2, following Bowman
    et al. 2015). Word dropout (Bowman et al. 2015, Sec. 3.2): during training,
    each input word after the first is replaced by <unk> with probability
    ``word_dropout``. Without conditioning (``conditioning_dim == 0``) it is a
    plain LSTM language model.
    """

    def __init__(self, dictionary, embed_dim: int = 512, hidden_dim: int = 1024, num_layers: int = 1,
                 dropout: float = 0.3, word_dropout: float = 0.0, conditioning_dim: int = 0):
        super().__init__(dictionary)
        self.unk_idx = dictionary.unk()
        self.padding_idx = dictionary.pad()
        self.word_dropout = word_dropout
        self.conditioning_dim = conditioning_dim
        self.num_layers = num_layers
        self.embed_tokens = nn.Embedding(len(dictionary), embed_dim, padding_idx=self.padding_idx)
        nn.init.uniform_(self.embed_tokens.weight, -0.1, 0.1)
        nn.init.zeros_(self.embed_tokens.weight[self.padding_idx])
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed_dim + conditioning_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.init_hidden = nn.Linear(conditioning_dim, num_layers * hidden_dim) if conditioning_dim else None
        self.output_proj = nn.Linear(hidden_dim, len(dictionary))
        self.hidden_dim = hidden_dim

    def _initial_state(self, batch_size: int, conditioning: Optional[Tensor], like: Tensor):
        zeros = like.new_zeros(self.num_layers, batch_size, self.hidden_dim)
        if self.init_hidden is None:
            return zeros, zeros
        h0 = torch.tanh(self.init_hidden(conditioning.to(like.dtype)))
        return h0.view(batch_size, self.num_layers, self.hidden_dim).transpose(0, 1).contiguous(), zeros

    def forward(self, prev_output_tokens: Tensor, encoder_out=None,
                incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None,
                conditioning: Optional[Tensor] = None, features_only: bool = False, **kwargs):
        x, extra = self.extract_features(prev_output_tokens, incremental_state, conditioning)
        return (x if features_only else self.output_layer(x)), extra

    def extract_features(self, prev_output_tokens, incremental_state=None, conditioning=None, **kwargs):
        if self.conditioning_dim and conditioning is None:
            raise ValueError("this decoder was built with conditioning_dim > 0: pass `conditioning`")
        tokens = prev_output_tokens
        if incremental_state is not None:
            tokens = tokens[:, -1:]
        elif self.training and self.word_dropout > 0:
            drop = torch.rand(tokens.shape, device=tokens.device) < self.word_dropout
            drop[:, 0] = False
            drop &= tokens.ne(self.padding_idx)
            tokens = tokens.masked_fill(drop, self.unk_idx)
        x = self.dropout(self.embed_tokens(tokens))
        if self.conditioning_dim:
            x = torch.cat([x, conditioning.to(x.dtype).unsqueeze(1).expand(-1, x.size(1), -1)], dim=-1)
        state = None
        if incremental_state is not None:
            cached = self.get_incremental_state(incremental_state, "state")
            if cached is not None:
                state = (cached["h"], cached["c"])
        if state is None:
            state = self._initial_state(x.size(0), conditioning, x)
        out, (h, c) = self.lstm(x, state)
        if incremental_state is not None:
            self.set_incremental_state(incremental_state, "state", {"h": h, "c": c})
        return self.dropout(out), {"attn": [None], "inner_states": None}

    def output_layer(self, features: Tensor) -> Tensor:
        return self.output_proj(features)

    def reorder_incremental_state(self, incremental_state, new_order: Tensor):
        cached = self.get_incremental_state(incremental_state, "state")
        if cached is not None:
            cached = {k: v.index_select(1, new_order) for k, v in cached.items()}
            self.set_incremental_state(incremental_state, "state", cached)

    def max_positions(self):
        return int(1e6)

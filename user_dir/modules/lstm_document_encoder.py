"""LSTM reader of a whole document: the VAE encoder's feature extractor (paper Sec. 2.2)."""
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence


class LSTMDocumentEncoder(nn.Module):
    """src_tokens (B, T) right-padded, src_lengths (B,) -> last hidden state (B, hidden_dim).

    Embedding -> dropout -> LSTM; the feature is the top layer's hidden state at
    each document's last real token. Parameter names (``embed_tokens``,
    ``lstm.weight_ih_l{i}``...) map one-to-one onto fairseq's ``lstm_lm``
    decoder (``embed_tokens``, ``layers.{i}.weight_ih``...) for the paper's
    "+ init" (see ``load_from_lstm_lm``).
    """

    def __init__(self, num_embeddings: int, padding_idx: int, embed_dim: int, hidden_dim: int,
                 num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.embed_tokens = nn.Embedding(num_embeddings, embed_dim, padding_idx=padding_idx)
        nn.init.uniform_(self.embed_tokens.weight, -0.1, 0.1)
        nn.init.zeros_(self.embed_tokens.weight[padding_idx])
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        for name, param in self.lstm.named_parameters():
            nn.init.uniform_(param, -0.1, 0.1)
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers

    def forward(self, src_tokens: Tensor, src_lengths: Tensor) -> Tensor:
        x = self.dropout(self.embed_tokens(src_tokens))
        packed = pack_padded_sequence(x, src_lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        return h_n[-1]

    @torch.no_grad()
    def load_from_lstm_lm(self, state_dict, source: str = "checkpoint") -> list:
        """Copy embeddings and LSTM weights from a fairseq ``lstm_lm`` state dict.

        Returns the names of the parameters copied. Raises ValueError naming
        every parameter whose shape does not match (or that is missing).
        """
        mapping = {"embed_tokens.weight": "decoder.embed_tokens.weight"}
        for i in range(self.num_layers):
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                mapping[f"lstm.{kind}_l{i}"] = f"decoder.layers.{i}.{kind}"
        own = dict(self.named_parameters())
        problems = []
        for mine, theirs in mapping.items():
            if theirs not in state_dict:
                problems.append(f"{theirs} missing")
            elif tuple(state_dict[theirs].shape) != tuple(own[mine].shape):
                problems.append(
                    f"{theirs} has shape {tuple(state_dict[theirs].shape)}, encoder {mine} needs {tuple(own[mine].shape)}"
                )
        if problems:
            raise ValueError(
                f"cannot initialise the VAE encoder from {source}: " + "; ".join(problems)
                + " (train the lstm_lm with the same dictionary, --decoder-embed-dim, "
                "--decoder-hidden-size and --decoder-layers as the VAE encoder)"
            )
        for mine, theirs in mapping.items():
            own[mine].copy_(state_dict[theirs])
        return sorted(mapping)

"""Decode documents from chosen latent codes with fairseq's SequenceGenerator
(beam search or sampling, through the model's incremental decoder)."""
from typing import List

import torch
from fairseq import search
from fairseq.models import FairseqEncoder
from fairseq.sequence_generator import SequenceGenerator
from torch import Tensor, nn


class FixedLatentEncoder(FairseqEncoder):
    """Stands in for a VAE's encoder: returns the given latents (B, D) as ``encoder_out["z"]``."""

    def __init__(self, dictionary, latents: Tensor):
        super().__init__(dictionary)
        self.latents = latents

    def forward(self, src_tokens, src_lengths=None, **kwargs):
        return {"z": [self.latents]}

    def reorder_encoder_out(self, encoder_out, new_order):
        return {"z": [encoder_out["z"][0].index_select(0, new_order)]}


class FixedLatentModel(nn.Module):
    """A trained latent-variable model whose encoder is replaced by fixed latents."""

    def __init__(self, model, latents: Tensor):
        super().__init__()
        self.decoder = model.decoder
        self.encoder = FixedLatentEncoder(model.decoder.dictionary, latents)

    def max_decoder_positions(self):
        return self.decoder.max_positions()

    def get_normalized_probs(self, net_output, log_probs, sample=None):
        return self.decoder.get_normalized_probs(net_output, log_probs, sample)


@torch.no_grad()
def decode_latents(model, latents: Tensor, max_len: int = 50, beam: int = 1, sampling: bool = False,
                   sampling_topk: int = -1) -> List[str]:
    """latents (B, D) in the decoder's latent space (on the model's device) -> B decoded token strings
    (best hypothesis each, without </s>)."""
    model.eval()
    dictionary = model.decoder.dictionary
    strategy = search.Sampling(dictionary, sampling_topk) if sampling else None
    fixed = FixedLatentModel(model, latents)
    generator = SequenceGenerator([fixed], dictionary, beam_size=1 if sampling else beam, max_len_b=max_len,
                                  search_strategy=strategy)
    bsz = latents.size(0)
    dummy = torch.full((bsz, 1), dictionary.eos(), dtype=torch.long, device=latents.device)
    sample = {"net_input": {"src_tokens": dummy, "src_lengths": torch.ones_like(dummy[:, 0])}}
    hypos = generator.generate([fixed], sample, bos_token=dictionary.eos())
    return [dictionary.string(h[0]["tokens"]) for h in hypos]

"""``text_vae``: LSTM encoder + dilated-CNN or LSTM decoder VAE for documents
(Yang et al. 2017, Sec. 2; the LSTM decoder is the Bowman et al. 2015 baseline)."""
from dataclasses import dataclass
from typing import Dict, List, Optional

from fairseq.models import register_model
from torch import Tensor

from ..modules import GaussianPosterior, gaussian_kl_per_dim, negative_elbo
from .architectures import register_architectures
from .components import (LatentEncoder, LatentVariableConfig, LatentVariableModel, build_document_encoder,
                         build_latent_decoder, choose_latent, targets_from_source)


@dataclass
class TextVAEConfig(LatentVariableConfig):
    pass


class TextVAEEncoder(LatentEncoder):
    """q(z|x): LSTM over the document, last hidden state -> linear -> (mu, logvar) (paper Sec. 2.2).

    forward returns ``{"mu": [(B, D)], "logvar": [(B, D)], "z": [(B, D)]}``; z is
    chosen by ``latent_source`` (a reparameterised sample, the mean, or a draw
    from the prior p(z) = N(0, I)).
    """

    def __init__(self, cfg: LatentVariableConfig, dictionary):
        super().__init__(dictionary)
        self.reader = build_document_encoder(cfg, dictionary)
        self.posterior = GaussianPosterior(cfg.encoder_hidden_dim, cfg.latent_dim)
        self.latent_source = cfg.latent_source

    def forward(self, src_tokens: Tensor, src_lengths: Tensor, **kwargs) -> Dict[str, List[Tensor]]:
        mu, logvar = self.posterior(self.reader(src_tokens, src_lengths))
        return {"mu": [mu], "logvar": [logvar], "z": [choose_latent(mu, logvar, self.latent_source)]}


@register_model("text_vae", dataclass=TextVAEConfig)
class TextVAE(LatentVariableModel):
    """Document VAE (paper Sec. 2.2-2.3). ``forward(src_tokens, src_lengths, target=None)`` returns the
    decoder's logits (B, T, V) for one reparameterised z per document and ``extra`` with (the contract of
    ``LatentVariableModel``):

    * ``terms`` (``document_terms``): ``rec`` = log p(x|z) (B,), ``kl`` (B,) and ``kl_dims`` (B, D) =
      KL(q(z|x) || p(z)), ``mu``, ``logvar``, ``z`` (B, D); all fp32;
    * ``bound`` (B,): the ELBO log p(x|z) - KL of that z (Eq. 3), or, in eval mode with
      ``eval_bound_samples`` K > 1, the importance-weighted bound with K samples; ``bound_name``;
      ``score_offsets`` (B, T) (``LatentVariableModel.score_offsets``).

    ``target`` defaults to the document task's targets of ``src_tokens``.
    """

    @classmethod
    def build_model(cls, cfg: TextVAEConfig, task):
        dictionary = task.target_dictionary
        encoder = TextVAEEncoder(cfg, dictionary)
        decoder = build_latent_decoder(cfg, dictionary, cfg.latent_dim)
        return cls(cfg, encoder, decoder)

    def forward(self, src_tokens: Tensor, src_lengths: Tensor, target: Optional[Tensor] = None, **kwargs):
        if target is None:
            dictionary = self.decoder.dictionary
            target = targets_from_source(src_tokens, src_lengths, dictionary.eos(), dictionary.pad())
        encoder_out = self.encoder(src_tokens, src_lengths)
        mu, logvar, z = encoder_out["mu"][0], encoder_out["logvar"][0], encoder_out["z"][0]
        logits, extra = self.decoder(src_tokens, latent=z)
        kl_dims = gaussian_kl_per_dim(mu, logvar)
        terms = {"rec": self.document_reconstruction((logits, extra), target), "kl": kl_dims.sum(-1),
                 "kl_dims": kl_dims, "mu": mu, "logvar": logvar, "z": z}
        k = self.cfg.eval_bound_samples
        if k > 1 and not self.training:
            bound = self.importance_weighted_bound(src_tokens, src_lengths, target, k, self.cfg.eval_bound_chunk,
                                                   posterior=(mu, logvar))
            name = f"importance-weighted bound, K={k}"
        else:
            bound = -negative_elbo(terms["rec"], terms["kl"])
            name = "ELBO (1 sample of z, analytic KL)"
        offsets = self.score_offsets(target, bound, terms["rec"])
        return logits, dict(extra, terms=terms, bound=bound, bound_name=name, score_offsets=offsets)


register_architectures("text_vae", TextVAEConfig)

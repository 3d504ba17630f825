"""``text_vae``: LSTM encoder + dilated-CNN or LSTM decoder VAE for documents
(Yang et al. 2017, Sec. 2; the LSTM decoder is the Bowman et al. 2015 baseline)."""
from dataclasses import dataclass
from typing import Dict, List, Optional

from fairseq.models import FairseqEncoder, register_model
from torch import Tensor

from ..modules import GaussianPosterior, gaussian_kl
from .architectures import register_architectures
from .components import (
    LatentVariableConfig,
    LatentVariableModel,
    build_document_encoder,
    build_latent_decoder,
    choose_latent,
    targets_from_source,
)


@dataclass
class TextVAEConfig(LatentVariableConfig):
    pass


class TextVAEEncoder(FairseqEncoder):
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

    def reorder_encoder_out(self, encoder_out: Dict[str, List[Tensor]], new_order: Tensor):
        return {key: [value[0].index_select(0, new_order)] for key, value in encoder_out.items()}

    def max_positions(self):
        return int(1e6)


@register_model("text_vae", dataclass=TextVAEConfig)
class TextVAE(LatentVariableModel):
    """Document VAE. ``forward(src_tokens, src_lengths)`` returns ``(out, extra)``.

    In training mode (or with ``return_bound_scores=False``) ``out`` are the
    decoder's logits (B, T, V) for one reparameterised z per document, and
    ``extra`` holds ``kl`` (B,) in nats, ``mu``/``logvar``/``z`` (B, D).

    In eval mode (what ``fairseq-eval-lm`` calls) ``out`` are normalised
    per-position scores whose sum over a document's targets equals its bound:
    the ELBO ``log p(x|z) - KL`` with one z (``eval_bound_samples = 1``, paper
    Eq. 3) or the importance-weighted bound with K samples. ``extra["bound"]``
    (B,) holds the bound and ``extra["bound_name"]`` says which one it is.
    """

    @classmethod
    def build_model(cls, cfg: TextVAEConfig, task):
        dictionary = task.target_dictionary
        encoder = TextVAEEncoder(cfg, dictionary)
        decoder = build_latent_decoder(cfg, dictionary, cfg.latent_dim)
        return cls(cfg, encoder, decoder)

    def forward(self, src_tokens: Tensor, src_lengths: Tensor, return_bound_scores: Optional[bool] = None,
                **kwargs):
        encoder_out = self.encoder(src_tokens, src_lengths)
        mu, logvar, z = encoder_out["mu"][0], encoder_out["logvar"][0], encoder_out["z"][0]
        logits, extra = self.decoder(src_tokens, latent=z)
        extra.update(kl=gaussian_kl(mu, logvar), mu=mu, logvar=logvar, z=z)
        if return_bound_scores is None:
            return_bound_scores = not self.training
        if not return_bound_scores:
            return logits, extra
        dictionary = self.decoder.dictionary
        target = targets_from_source(src_tokens, src_lengths, dictionary.eos(), dictionary.pad())
        lprobs, reconstruction = self.reconstruction_and_lprobs((logits, extra), target)
        k = self.cfg.eval_bound_samples
        if k > 1:
            bound = self.importance_weighted_bound(src_tokens, src_lengths, target, k, self.cfg.eval_bound_chunk,
                                                   posterior=(mu, logvar))
            extra["bound_name"] = f"importance-weighted bound, K={k}"
        else:
            bound = reconstruction - extra["kl"]
            extra["bound_name"] = "ELBO (1 sample of z, analytic KL)"
        self.log_bound_once(extra["bound_name"])
        scores = self.bound_scores(lprobs, target, bound, reconstruction)
        extra.update(normalized_scores=True, bound=bound, reconstruction=reconstruction)
        return scores, extra


register_architectures("text_vae", TextVAEConfig)

"""``semisup_vae``: the semi-supervised VAE of Yang et al. 2017, Sec. 2.4 (Kingma et al. 2014, M2).

p(x, y, z) = p(y) p(z) p(x | y, z), p(y) uniform over C classes, p(z) = N(0, I).

* q(y|x): the encoder LSTM's last hidden state h -> two-layer MLP -> softmax.
* q(z|x,y): [h; y] -> linear -> (mu, logvar) (``GaussianPosterior``).
* p(x|y,z): the configured decoder (dilated CNN or LSTM) conditioned on [z; y]
  (``build_latent_decoder(cfg, dict, latent_dim + C)``).

Bounds (nats per document, paper Sec. 2.4; computed in ``modules/bounds.py``):
  L(x, y) = E_q(z|x,y)[log p(x|y,z)] - KL(q(z|x,y) || p(z))       (``labelled_bound``)
  log p(x, y) >= L(x, y) + log p(y)
  log p(x) >= U(x) = sum_y q(y|x) L(x, y) - KL(q(y|x) || p(y))    (``unlabelled_bound``)
U(x) is estimated in training either with one Gumbel-softmax sample y ~ q(y|x)
(Eq. 4, the paper's choice: gradients reach q(y|x) through the sample) or with
the exact sum over the C labels (C decoder passes per document). Evaluation
(validation in the criterion, fairseq-eval-lm) always uses the exact sum.
The Gumbel-softmax, the KLs and the log-sum-exps are computed in fp32.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from fairseq.models import register_model
from torch import Tensor

from ..modules import (
    GaussianPosterior,
    bound_over_uniform_labels,
    exponential_decay,
    gaussian_kl_per_dim,
    importance_weighted_bound,
    labelled_bound,
    labelled_joint_bound,
    reparameterize,
    unlabelled_bound,
)
from ..modules.gumbel import gumbel_softmax
from .architectures import register_architectures
from .components import (LabelClassifierConfig, LatentEncoder, LatentVariableConfig, LatentVariableModel,
                         build_document_encoder, build_label_classifier, build_latent_decoder, choose_latent,
                         targets_from_source)


@dataclass
class SemiSupVAEConfig(LatentVariableConfig, LabelClassifierConfig):
    gumbel_temperature_start: float = field(
        default=1.0, metadata={"help": "Gumbel-softmax temperature tau at update 0 (Jang et al. 2016: 1.0)"}
    )
    gumbel_temperature_min: float = field(default=0.5, metadata={"help": "tau never goes below this"})
    gumbel_temperature_rate: float = field(
        default=1e-4,
        metadata={"help": "tau(t) = max(min, start * exp(-rate * t)) for update t (Jang et al.: 1e-5 to 1e-4)"},
    )
    straight_through: bool = field(
        default=False,
        metadata={"help": "straight-through Gumbel-softmax: one-hot y forward, soft-sample gradient backward"},
    )
    fixed_label: int = field(
        default=-1,
        metadata={"help": "generation (fairseq-generate --model-overrides): decode with this class index y "
                  "instead of one from q(y|x) (-1: y follows --latent-source: mean -> argmax q(y|x), "
                  "sample -> y ~ q(y|x), prior -> y ~ p(y))"},
    )


class SemiSupVAEEncoder(LatentEncoder):
    """q(y|x) and q(z|x,y) on one LSTM reader.

    ``forward`` (used by fairseq-generate) returns ``{"z": [[z; onehot(y)]],
    "mu", "logvar", "y", "log_qy"}``: z by ``latent_source`` (posterior sample,
    mean or prior sample) and y by ``fixed_label`` or ``latent_source``
    (q(y|x) sample, argmax, or a uniform prior draw).
    """

    def __init__(self, cfg: SemiSupVAEConfig, dictionary, num_classes: int):
        super().__init__(dictionary)
        self.reader = build_document_encoder(cfg, dictionary)
        self.classifier = build_label_classifier(cfg, num_classes)
        self.posterior = GaussianPosterior(cfg.encoder_hidden_dim + num_classes, cfg.latent_dim)
        self.num_classes = num_classes
        self.latent_source = cfg.latent_source
        self.fixed_label = cfg.fixed_label

    def classify(self, src_tokens: Tensor, src_lengths: Tensor):
        """Features h (B, H) and log q(y|x) (B, C) in fp32."""
        h = self.reader(src_tokens, src_lengths)
        return h, F.log_softmax(self.classifier(h).float(), dim=-1)

    def posterior_given(self, h: Tensor, y: Tensor):
        """(mu, logvar) of q(z|x,y) for features h (R, H) and label vectors y (R, C)."""
        features = torch.cat([h, y.to(h.dtype)], dim=-1)
        return self.posterior(features.to(self.posterior.proj.weight.dtype))

    def choose_label(self, log_qy: Tensor) -> Tensor:
        if self.fixed_label >= 0:
            if self.fixed_label >= self.num_classes:
                raise ValueError(f"fixed_label {self.fixed_label} >= number of classes {self.num_classes}")
            return torch.full(log_qy.shape[:1], self.fixed_label, dtype=torch.long, device=log_qy.device)
        if self.latent_source == "mean":
            return log_qy.argmax(-1)
        if self.latent_source == "prior":
            return torch.randint(self.num_classes, log_qy.shape[:1], device=log_qy.device)
        return torch.multinomial(log_qy.exp(), 1).squeeze(-1)

    def forward(self, src_tokens: Tensor, src_lengths: Tensor, **kwargs) -> Dict[str, List[Tensor]]:
        h, log_qy = self.classify(src_tokens, src_lengths)
        y = F.one_hot(self.choose_label(log_qy), self.num_classes).float()
        mu, logvar = self.posterior_given(h, y)
        z = choose_latent(mu, logvar, self.latent_source)
        return {"z": [torch.cat([z, y], dim=-1)], "mu": [mu], "logvar": [logvar], "y": [y], "log_qy": [log_qy]}


@register_model("semisup_vae", dataclass=SemiSupVAEConfig)
class SemiSupervisedVAE(LatentVariableModel):
    """M2 semi-supervised VAE with a dilated-CNN or LSTM decoder.

    ``forward(src_tokens, src_lengths, label=None, sum_over_labels=None, target=None)`` returns
    ``(decoder_out, extra)`` (the contract of ``LatentVariableModel``): ``extra["terms"]`` are the
    per-document terms of ``_bound_terms``, ``extra["bound"]`` (B,) the bound of each document on
    log p(x): L(x, y) + log p(y) for a labelled one, U(x) for an unlabelled one (Gumbel-softmax
    estimate, or with ``sum_over_labels`` the exact sum over labels); in eval mode with
    ``eval_bound_samples`` K > 1 the importance-weighted bound log sum_y p(y) (1/K) sum_k p(x|y,z_k)
    p(z_k) / q(z_k|x,y) of every document. ``label`` (B,) holds class indices for labelled documents
    and -1 for unlabelled ones (None: all unlabelled); ``sum_over_labels`` defaults to True in eval mode
    (fairseq-eval-lm: U(x) exactly) and False in training. ``decoder_out`` is the decoder's output for
    the label used (the most probable label for the exact sum).
    """

    def __init__(self, cfg, encoder, decoder, num_classes: int):
        super().__init__(cfg, encoder, decoder)
        self.num_classes = num_classes
        self.num_updates = 0

    @classmethod
    def build_model(cls, cfg: SemiSupVAEConfig, task):
        num_classes = cfg.num_classes or getattr(task, "num_classes", 0)
        if num_classes < 2:
            raise ValueError("semisup_vae needs >= 2 classes: use --task semisupervised_vae with labelled data "
                             "(DATA/label) or set --num-classes")
        if getattr(task, "num_classes", num_classes) not in (0, num_classes):
            raise ValueError(f"--num-classes {num_classes} but the task's labels have {task.num_classes} classes")
        dictionary = task.target_dictionary
        encoder = SemiSupVAEEncoder(cfg, dictionary, num_classes)
        decoder = build_latent_decoder(cfg, dictionary, cfg.latent_dim + num_classes)
        return cls(cfg, encoder, decoder, num_classes)

    # ---- Gumbel-softmax temperature: a function of the update count only (resumes from checkpoints)
    def set_num_updates(self, num_updates):
        self.num_updates = num_updates
        super().set_num_updates(num_updates)

    @property
    def temperature(self) -> float:
        c = self.cfg
        return exponential_decay(self.num_updates, c.gumbel_temperature_start, c.gumbel_temperature_min,
                                 c.gumbel_temperature_rate)

    # ---- pieces
    def _decode_rows(self, src_tokens, target, h, y, doc):
        """L(x, y) pieces for rows (documents ``doc`` with label vectors ``y``): log p(x|y,z), KL per dim,
        the mean of q(z|x,y) and the decoder's output."""
        mu, logvar = self.encoder.posterior_given(h[doc], y)
        z = reparameterize(mu, logvar)
        net_output = self.decoder(src_tokens[doc], latent=torch.cat([z, y.to(z.dtype)], dim=-1))
        rec = self.document_reconstruction(net_output, target[doc])
        kl_dims = gaussian_kl_per_dim(mu, logvar)
        return rec, kl_dims, mu, net_output

    def _bound_terms(self, src_tokens: Tensor, src_lengths: Tensor, label: Optional[Tensor],
                     sum_over_labels: bool, target: Tensor):
        """Per-document terms of the semi-supervised objective, fp32, all (B,) unless noted; the decoder
        output (B, T, .) for the label each document used (the most probable one for the exact sum) and
        its log p(x|y,z) (B,).

        * ``log_qy`` (B, C): log q(y|x).
        * ``rec``: log p(x|y,z), ``kl_z_dims`` (B, D): KL(q(z|x,y) || p(z)) per dimension, for y the
          document's label (labelled), its Gumbel-softmax sample (unlabelled, default) or, with
          ``sum_over_labels``, the expectation sum_y q(y|x) (.) over all C labels (unlabelled).
        * ``elbo_y`` = L(x, y) (``labelled_bound``; or its q(y|x)-expectation); ``labelled`` (B,) bool.
        * ``y`` (B, C): the label vector used (one-hot, Gumbel sample, or q(y|x) for the exact sum);
          ``mu`` (B, D): mean of q(z|x,y) for that y (the q-weighted mean for the exact sum).
        """
        h, log_qy = self.encoder.classify(src_tokens, src_lengths)
        bsz, num_classes = log_qy.shape
        if label is None:
            label = torch.full((bsz,), -1, dtype=torch.long, device=log_qy.device)
        labelled = label.ge(0)
        if (label >= num_classes).any():
            raise ValueError(f"label index >= number of classes {num_classes}")
        y = torch.zeros_like(log_qy)
        y[labelled] = F.one_hot(label[labelled], num_classes).float()
        unlabelled = ~labelled
        exact = sum_over_labels and bool(unlabelled.any())
        if not sum_over_labels and unlabelled.any():
            y[unlabelled] = gumbel_softmax(log_qy[unlabelled], self.temperature, hard=self.cfg.straight_through)
        # one decoder pass for the labelled and Gumbel rows ...
        rows = labelled if exact else torch.ones_like(labelled)
        doc = rows.nonzero().squeeze(-1)
        rec = log_qy.new_zeros(bsz)
        kl_dims = log_qy.new_zeros(bsz, self.cfg.latent_dim)
        mu = log_qy.new_zeros(bsz, self.cfg.latent_dim)
        pieces = []  # (documents, their decoder output): assembled into the (B, T, .) output below
        if doc.numel():
            r, k, m, out = self._decode_rows(src_tokens, target, h, y[doc], doc)
            pieces.append((doc, out, r))
            rec = rec.index_put((doc,), r)
            kl_dims = kl_dims.index_put((doc,), k)
            mu = mu.index_put((doc,), m.float())
        # ... and, for the exact sum, one per label for the unlabelled documents
        if exact:
            udoc = unlabelled.nonzero().squeeze(-1)
            q = log_qy[udoc].exp()
            best = q.argmax(-1)
            rec_u, kl_u, mu_u = 0.0, 0.0, 0.0
            for c in range(num_classes):
                onehot = F.one_hot(torch.full_like(udoc, c), num_classes).float()
                r, k, m, out = self._decode_rows(src_tokens, target, h, onehot, udoc)
                rec_u = rec_u + q[:, c] * r
                kl_u = kl_u + q[:, c:c + 1] * k
                mu_u = mu_u + q[:, c:c + 1] * m.float()
                pieces.append((udoc[best == c], (out[0][best == c], out[1]), r[best == c]))
            rec = rec.index_put((udoc,), rec_u)
            kl_dims = kl_dims.index_put((udoc,), kl_u)
            mu = mu.index_put((udoc,), mu_u)
            y = y.index_put((udoc,), q)
        terms = {
            "log_qy": log_qy, "labelled": labelled, "rec": rec, "kl_z_dims": kl_dims, "kl_z": kl_dims.sum(-1),
            "elbo_y": labelled_bound(rec, kl_dims.sum(-1)), "y": y, "mu": mu,
            "temperature": torch.tensor(self.temperature),
        }
        if len(pieces) == 1 and pieces[0][0].numel() == bsz:
            return terms, pieces[0][1], pieces[0][2]
        first = pieces[0][1][0]
        features, reconstruction = first.new_zeros((bsz,) + first.shape[1:]), rec.new_zeros(bsz)
        for rows, out, r in pieces:
            features = features.index_put((rows,), out[0])
            reconstruction = reconstruction.index_put((rows,), r)
        return terms, (features, pieces[-1][1][1]), reconstruction

    @torch.no_grad()
    def importance_weighted_bound_over_labels(self, src_tokens, src_lengths, target, num_samples: int,
                                              chunk_size: int = 50) -> Tensor:
        """log sum_y p(y) (1/K) sum_k p(x|y,z_k) p(z_k) / q(z_k|x,y), z_k ~ q(z|x,y) (``bounds.
        importance_weighted_bound`` per label, ``bound_over_uniform_labels`` over them); (B,) fp32."""
        h, _ = self.encoder.classify(src_tokens, src_lengths)
        bsz = src_tokens.size(0)
        per_label = []
        for c in range(self.num_classes):
            y = F.one_hot(torch.full((bsz,), c, dtype=torch.long, device=src_tokens.device), self.num_classes).float()
            mu, logvar = self.encoder.posterior_given(h, y)
            z = reparameterize(mu, logvar, num_samples=num_samples)
            latents = torch.cat([z, y.unsqueeze(1).expand(bsz, num_samples, -1).to(z.dtype)], dim=-1)
            log_likelihoods = self.latent_log_likelihoods(src_tokens, target, latents, chunk_size)
            per_label.append(importance_weighted_bound(log_likelihoods, z, mu, logvar))
        return bound_over_uniform_labels(torch.stack(per_label, dim=1))

    def forward(self, src_tokens: Tensor, src_lengths: Tensor, label: Optional[Tensor] = None,
                sum_over_labels: Optional[bool] = None, target: Optional[Tensor] = None, **kwargs):
        if target is None:
            dictionary = self.decoder.dictionary
            target = targets_from_source(src_tokens, src_lengths, dictionary.eos(), dictionary.pad())
        if sum_over_labels is None:
            sum_over_labels = not self.training
        terms, decoder_out, reconstruction = self._bound_terms(src_tokens, src_lengths, label, sum_over_labels,
                                                               target)
        k = self.cfg.eval_bound_samples
        if k > 1 and not self.training:
            bound = self.importance_weighted_bound_over_labels(src_tokens, src_lengths, target, k,
                                                               self.cfg.eval_bound_chunk)
            name = f"importance-weighted bound over z (K={k}) with the exact sum over labels"
        else:
            labelled = terms["labelled"]
            bound = torch.where(labelled, labelled_joint_bound(terms["elbo_y"], self.num_classes),
                                unlabelled_bound(terms["elbo_y"], terms["log_qy"]))
            name = ("unlabelled bound U(x) " + ("(exact sum over labels, 1 sample of z per label, analytic KLs)"
                                                if sum_over_labels else "(one Gumbel-softmax sample of y)")
                    + (", L(x, y) + log p(y) for labelled documents" if bool(labelled.any()) else ""))
        offsets = self.score_offsets(target, bound, reconstruction)
        return decoder_out[0], dict(decoder_out[1] or {}, terms=terms, bound=bound, bound_name=name,
                                    score_offsets=offsets)


register_architectures("semisup_vae", SemiSupVAEConfig)

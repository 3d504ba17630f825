"""``elbo`` criterion: annealed negative ELBO of a document VAE (Yang et al. 2017, Eq. 3, Sec. 3.2)."""
import logging
import math
from dataclasses import dataclass, field
from functools import partial

import torch
from fairseq import metrics
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from omegaconf import II

from ..models.components import document_terms
from ..modules import (
    active_units_from_moments,
    cyclical_schedule,
    free_bits_kl,
    latent_moments,
    linear_schedule,
    mutual_information_upper_bound,
    negative_elbo,
    target_log_probs,
)

logger = logging.getLogger(__name__)

MOMENT_PREFIX = "_latent_"  # logging keys of summed latent moments (a leading "_" hides them from the log)


@dataclass
class KLAnnealingConfig(FairseqDataclass):
    kl_weight_start: float = field(default=0.01, metadata={"help": "KL weight beta at update 0 (paper: 0.01)"})
    kl_weight_end: float = field(default=1.0, metadata={"help": "KL weight after annealing"})
    kl_anneal_updates: int = field(
        default=10000, metadata={"help": "updates over which beta rises linearly (paper grid 10k/40k/80k)"}
    )
    kl_schedule: ChoiceEnum(["linear", "cyclical"]) = field(
        default="linear",
        metadata={"help": "linear (paper) or cyclical (later work: Fu et al. 2019; period = --kl-anneal-updates)"},
    )
    kl_cycle_ramp: float = field(default=0.5, metadata={"help": "cyclical: fraction of each period spent rising"})
    free_bits: float = field(
        default=0.0,
        metadata={"help": "later work (Kingma et al. 2016): per latent dimension, the batch-mean KL below this many "
                  "nats is not penalised; 0 = off. Only the training objective changes, never the reported bound"},
    )
    best_checkpoint_metric: str = II("checkpoint.best_checkpoint_metric")


@dataclass
class ElboCriterionConfig(KLAnnealingConfig):
    pass


class KLAnnealing:
    """beta(t) and the (optionally free-bits) KL term, from the update count alone."""

    def __init__(self, cfg: KLAnnealingConfig):
        self.cfg = cfg
        self.num_updates = 0
        annealed = cfg.kl_anneal_updates > 0 and cfg.kl_weight_start != cfg.kl_weight_end
        if annealed and getattr(cfg, "best_checkpoint_metric", None) == "loss":
            logger.warning("the KL weight is annealed, so the training loss of different updates weighs the KL "
                           "differently and --best-checkpoint-metric loss picks checkpoints by a moving target: "
                           "use --best-checkpoint-metric nll (the unweighted bound)")

    def set_num_updates(self, num_updates: int):
        self.num_updates = num_updates

    @property
    def beta(self) -> float:
        c = self.cfg
        if c.kl_schedule == "cyclical":
            return cyclical_schedule(self.num_updates, c.kl_weight_start, c.kl_weight_end, c.kl_anneal_updates,
                                     c.kl_cycle_ramp)
        return linear_schedule(self.num_updates, c.kl_weight_start, c.kl_weight_end, c.kl_anneal_updates)

    def kl_penalty(self, kl_per_dim: torch.Tensor, training: bool) -> torch.Tensor:
        """Summed over the batch (``kl_per_dim`` (B, D)): sum_b KL_b, or in training with free bits
        ``free_bits_kl``."""
        return free_bits_kl(kl_per_dim, self.cfg.free_bits if training else 0.0)


def likelihood_and_kl(model, net_output, sample):
    """log p(x|z) (B,) and KL(q(z|x) || p(z)) (B,) of a model's ``forward`` output, and its latent terms
    (``document_terms``; None for a language model, whose log p(x) gets KL = 0), fp32."""
    terms = document_terms(net_output)
    if terms is not None:
        return terms["rec"], terms["kl"], terms
    log_likelihood = target_log_probs(model.decoder, net_output, sample["target"]).sum(-1)
    return log_likelihood, torch.zeros_like(log_likelihood), None


def logged_sum(logging_outputs, key: str) -> float:
    """The sum of one scalar logging-output key over the (data-parallel, or per-batch) logging outputs."""
    return sum(float(log.get(key, 0)) for log in logging_outputs)


def log_bound_metrics(logging_outputs, bound_key: str = "nll"):
    """Logs what every criterion of the plugin logs alike, per document: ``loss``, ``nll`` (the summed
    negative bounds under ``bound_key``), ``beta``, and ``ppl`` = exp(nll / tokens) (``nll_tok``, EOS
    counted). Returns ``total`` (key -> sum over the outputs) and the number of documents, or None when
    the outputs hold no document."""
    total = partial(logged_sum, logging_outputs)
    docs, tokens = total("nsentences"), total("ntokens")
    if docs == 0:
        return None
    nll = total(bound_key)
    metrics.log_scalar("loss", total("loss") / docs, docs, round=3)
    metrics.log_scalar("nll", nll / docs, docs, round=3)
    metrics.log_scalar("beta", total("beta_sum") / docs, docs, round=4)
    metrics.log_scalar("nll_tok", nll / max(tokens, 1), tokens, round=4)
    metrics.log_derived("ppl", lambda meters: round(math.exp(min(meters["nll_tok"].avg, 100.0)), 2))
    return total, docs


def log_latent_diagnostics(logging_outputs) -> None:
    """Validation: active units ``au`` and the bound ``mi_ub`` >= I(x; z), over every document seen.

    The latent moments of each batch are summed in hidden meters (over the whole
    validation subset, and across data-parallel workers, which fairseq
    all-reduces), so ``au`` is exactly the count over the validation set and
    ``mi_ub`` the Gaussian upper bound of ``mutual_information_upper_bound``
    (test-set MI with He et al.'s estimator: ``scripts/evaluate_vae.py``).
    """
    keys = sorted({k for log in logging_outputs for k in log if k.startswith(MOMENT_PREFIX)})
    if not keys:
        return
    for key in keys:
        metrics.log_scalar_sum(key, sum(log[key].double() for log in logging_outputs if key in log))

    def moments(meters):
        return {key[len(MOMENT_PREFIX):]: meters[key].sum for key in keys}

    metrics.log_derived("au", lambda meters: active_units_from_moments(moments(meters)))
    metrics.log_derived("mi_ub", lambda meters: round(mutual_information_upper_bound(moments(meters)), 3))


@register_criterion("elbo", dataclass=ElboCriterionConfig)
class ElboCriterion(FairseqCriterion):
    """loss = sum_docs [ -log p(x|z) + beta(t) KL(q(z|x) || p(z)) ], gradient per document.

    Logged (nats): ``rec`` = -log p(x|z) and ``kl`` per document, ``nll`` = their
    unweighted sum (the negative ELBO, an upper bound on -log p(x)), ``ppl`` =
    exp(sum of bounds / tokens) with EOS counted, ``beta``. Models without a
    latent code (the LM baselines) get KL = 0, so both are logged alike.
    """

    def __init__(self, task, cfg: ElboCriterionConfig):
        super().__init__(task)
        self.annealing = KLAnnealing(cfg)

    def set_num_updates(self, num_updates: int):
        self.annealing.set_num_updates(num_updates)

    def forward(self, model, sample, reduce=True):
        log_likelihood, kl, terms = likelihood_and_kl(model, model(**sample["net_input"]), sample)
        kl_term = kl.sum() if terms is None else self.annealing.kl_penalty(terms["kl_dims"], model.training)
        beta = self.annealing.beta
        loss = -log_likelihood.sum() + beta * kl_term
        nsentences = sample["nsentences"]
        logging_output = {
            "loss": loss.data,
            "rec": (-log_likelihood).sum().data,
            "kl": kl.sum().data,
            "nll": negative_elbo(log_likelihood, kl).sum().data,
            "ntokens": sample["ntokens"],
            "nsentences": nsentences,
            "sample_size": nsentences,
            "beta_sum": beta * nsentences,
        }
        if terms is not None and not model.training:
            moments = latent_moments(terms["mu"], terms["logvar"])
            logging_output.update({MOMENT_PREFIX + key: value for key, value in moments.items()})
        return loss, nsentences, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        logged = log_bound_metrics(logging_outputs)
        if logged:
            total, docs = logged
            for key in ("rec", "kl"):
                metrics.log_scalar(key, total(key) / docs, docs, round=3)
            log_latent_diagnostics(logging_outputs)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True

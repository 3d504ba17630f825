"""``semisupervised_elbo``: the semi-supervised VAE objective (Yang et al. 2017, Sec. 2.4, Eq. 5).

Maximises J = E_DL[L(x, y)] + E_DU[U(x)] + alpha E_DL[log q(y|x)]; the loss is
the batch sum of the negatives (gradient per document):

  labelled x with label y:  -log p(x|y,z) + beta(t) KL(q(z|x,y)||p(z)) - alpha log q(y|x)
  unlabelled x:             -log p(x|y,z) + beta(t) KL(q(z|x,y)||p(z)) + KL_y(x)

and, with ``--class-balance lambda > 0`` (later work, not the paper's), lambda n_U
KL(q_bar(y) || p(y)) for the batch marginal q_bar(y) of q(y|x) over the n_U
unlabelled documents of the batch (``marginal_kl_to_uniform``). It works against
q(y|x) collapsing onto a few classes, measured on Yahoo after epoch 1; the
marginal is taken per process, so under data parallelism it is over each GPU's
share of the batch.

For unlabelled documents y is one Gumbel-softmax sample of q(y|x) (default,
the paper's choice) or, with ``--unlabelled-bound exact``, the terms are the
exact q(y|x)-weighted sum over all C labels (C decoder passes per document).
beta(t) is the KL annealing of the ``elbo`` criterion (``KLAnnealing``, on the
z term only). KL_y = KL(q(y|x) || p(y)) with uniform p(y); with
``--kl-y-floor gamma`` (unsupervised clustering, Eq. 5) KL_y = max(gamma, KL) in
training, per document by default (the paper writes KL(q(y|x)||p(y)) for one
x; ``--kl-y-floor-mode batch`` clamps the batch mean instead).

How many documents of a batch are labelled is set by the task's mixing
(``--labelled-fraction``), so the batch sum estimates f E_DL[...] + (1 - f)
E_DU[...]; alpha is per labelled document.

Validation (model.eval()): every document is scored as unlabelled with the
exact sum over labels, so ``nll`` is -U(x) (an upper bound on -log p(x) per
document, unclamped KL_y) and ``accuracy`` counts argmax q(y|x) against the
split's true labels, which are used for nothing else.

Logged: ``loss``; ``nll`` (mean negative bound: -(L(x,y) + log p(y)) for
labelled, -U(x) for unlabelled documents) and ``ppl`` from it; ``lab_nll`` and
``unl_nll`` (the two parts); ``rec``, ``kl_z``; ``kl_y`` (unlabelled documents,
unclamped) and ``ent_y`` (entropy of q(y|x), all documents); ``ent_marg``
(entropy of the batch-summed q(y|x): near 0 means every document went to one
class); ``clf_nll`` (-log q(y|x) on labelled documents); ``accuracy`` (%);
``tau`` (Gumbel temperature); ``beta``. Validation also logs ``cluster_acc`` (%):
argmax q(y|x) taken as clusters, each named by the most frequent true label of
its documents (majority naming, ``majority_accuracy_of_counts``; the
cluster-by-label counts are summed over the whole validation subset and across
workers), the selection metric of unsupervised clustering runs, whose clusters
carry no label names.
"""
from dataclasses import dataclass, field

import torch
from fairseq import metrics
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import ChoiceEnum

from ..evaluation.clustering import majority_accuracy_of_counts
from ..models.components import document_terms
from ..modules import (categorical_kl_to_uniform, clamped_kl_y, free_bits_kl, labelled_joint_bound,
                       marginal_kl_to_uniform, unlabelled_bound)
from ..modules.gumbel import categorical_entropy
from .elbo import KLAnnealing, KLAnnealingConfig, log_bound_metrics

MAX_LOGGED_CLASSES = 64
CLUSTER_COUNTS = "_cluster_label_counts"  # (C, C) validation counts; a leading "_" hides them from the log


@dataclass
class SemiSupervisedElboConfig(KLAnnealingConfig):
    alpha: float = field(
        default=10.0,
        metadata={"help": "weight of the discriminative term alpha * log q(y|x) per labelled document (the paper "
                  "gives none). 10 with --labelled-fraction 0.5 had the best validation accuracy of alpha "
                  "{1, 10, 100} x fraction {0.1, 0.3, 0.5} on the synthetic topic corpus (N = 100, 2 seeds): 86 %, "
                  "against 49 % for alpha 1 with fraction 0.1, where q(y|x) barely learns"},
    )
    unlabelled_bound: ChoiceEnum(["gumbel", "exact"]) = field(
        default="gumbel",
        metadata={"help": "U(x) in training: one Gumbel-softmax sample of y (paper) or the exact sum over labels"},
    )
    kl_y_floor: float = field(
        default=0.0,
        metadata={"help": "gamma of Eq. 5: KL_y = max(gamma, KL(q(y|x)||p(y))) in training (clustering; paper "
                  "grid 0.5-1.5); 0 = plain KL"},
    )
    kl_y_floor_mode: ChoiceEnum(["document", "batch"]) = field(
        default="document", metadata={"help": "clamp each document's KL_y (default) or the batch mean"}
    )
    class_balance: float = field(
        default=0.0,
        metadata={"help": "lambda of a class-balance term of later work (CatGAN, IMSAT; not the paper's): adds "
                  "lambda * KL(batch mean of q(y|x) || uniform) per unlabelled document in training, against "
                  "q(y|x) collapsing onto a few classes; 0 = off (the paper's objective)"},
    )


@register_criterion("semisupervised_elbo", dataclass=SemiSupervisedElboConfig)
class SemiSupervisedElboCriterion(FairseqCriterion):
    def __init__(self, task, cfg: SemiSupervisedElboConfig):
        super().__init__(task)
        from ..tasks.semisupervised_vae import SemiSupervisedVAETask

        if task is not None and not isinstance(task, SemiSupervisedVAETask):
            raise ValueError("--criterion semisupervised_elbo needs --task semisupervised_vae (which hides the "
                             "labels of the unlabelled documents)")
        self.cfg = cfg
        self.annealing = KLAnnealing(cfg)

    def set_num_updates(self, num_updates: int):
        self.annealing.set_num_updates(num_updates)

    def forward(self, model, sample, reduce=True):
        training = model.training
        true_label = sample.get("label")
        label = true_label if training else None  # evaluation: every document unlabelled, labels only scored
        exact = (not training) or self.cfg.unlabelled_bound == "exact"
        net_output = model(**sample["net_input"], label=label, sum_over_labels=exact, target=sample["target"])
        terms = document_terms(net_output)
        log_qy, lab = terms["log_qy"], terms["labelled"]
        unl = ~lab
        num_classes = log_qy.size(-1)
        beta = self.annealing.beta

        kl_y = categorical_kl_to_uniform(log_qy)
        kl_y_unl = kl_y[unl]
        kl_y_term = clamped_kl_y(kl_y_unl, self.cfg.kl_y_floor, self.cfg.kl_y_floor_mode) if training else kl_y_unl
        clf_nll = -log_qy[lab].gather(-1, label[lab].unsqueeze(-1)).squeeze(-1) if lab.any() \
            else log_qy.new_zeros(0)

        loss = (-terms["rec"].sum() + beta * free_bits_kl(terms["kl_z_dims"], self.cfg.free_bits if training else 0.0)
                + kl_y_term.sum() + self.cfg.alpha * clf_nll.sum())
        if training and self.cfg.class_balance > 0 and unl.any():
            loss = loss + self.cfg.class_balance * unl.sum() * marginal_kl_to_uniform(log_qy[unl])

        with torch.no_grad():
            pred = log_qy.argmax(-1)
            if training:
                scored = lab
                correct = (pred[lab] == label[lab]).sum()
            elif true_label is not None:
                scored = true_label.ge(0)
                correct = (pred[scored] == true_label[scored]).sum()
            else:
                scored = torch.zeros_like(lab)
                correct = torch.zeros((), dtype=torch.long)
        nsentences = sample["nsentences"]
        logging_output = {
            "loss": loss.data,
            "ntokens": sample["ntokens"],
            "nsentences": nsentences,
            "sample_size": nsentences,
            "n_lab": int(lab.sum()),
            "n_unl": int(unl.sum()),
            "lab_bound": -labelled_joint_bound(terms["elbo_y"][lab], num_classes).sum().data,
            "unl_bound": -unlabelled_bound(terms["elbo_y"][unl], log_qy[unl]).sum().data,
            "bound": -net_output[1]["bound"].sum().data,
            "rec": (-terms["rec"]).sum().data,
            "kl_z": terms["kl_z"].sum().data,
            "kl_y": kl_y_unl.sum().data,
            "ent_y": categorical_entropy(log_qy).sum().data,
            "clf_nll": clf_nll.sum().data,
            "correct": int(correct),
            "n_acc": int(scored.sum()),
            "tau_sum": float(terms["temperature"]) * nsentences,
            "beta_sum": beta * nsentences,
        }
        if not training and true_label is not None and scored.any():
            cells = pred[scored] * num_classes + true_label[scored]
            logging_output[CLUSTER_COUNTS] = torch.bincount(cells, minlength=num_classes ** 2).double().view(
                num_classes, num_classes)
        if num_classes <= MAX_LOGGED_CLASSES:
            q_sum = log_qy.detach().exp().sum(0)
            for c in range(num_classes):
                logging_output[f"qy_sum_{c}"] = q_sum[c]
        return loss, nsentences, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        logged = log_bound_metrics(logging_outputs, bound_key="bound")
        if not logged:
            return
        total, docs = logged
        n_lab, n_unl, n_acc = total("n_lab"), total("n_unl"), total("n_acc")
        for key in ("rec", "kl_z", "ent_y"):
            metrics.log_scalar(key, total(key) / docs, docs, round=3)
        if n_lab:
            metrics.log_scalar("lab_nll", total("lab_bound") / n_lab, n_lab, round=3)
            metrics.log_scalar("clf_nll", total("clf_nll") / n_lab, n_lab, round=3)
        if n_unl:
            metrics.log_scalar("unl_nll", total("unl_bound") / n_unl, n_unl, round=3)
            metrics.log_scalar("kl_y", total("kl_y") / n_unl, n_unl, round=3)
        if n_acc:
            metrics.log_scalar("accuracy", 100.0 * total("correct") / n_acc, n_acc, round=2)
        keys = sorted({k for log in logging_outputs for k in log if k.startswith("qy_sum_")},
                      key=lambda k: int(k.rsplit("_", 1)[1]))
        if keys:
            mass = torch.tensor([total(k) for k in keys], dtype=torch.float64)
            p = mass / mass.sum().clamp(min=1e-12)
            metrics.log_scalar("ent_marg", float(-(p * p.clamp(min=1e-12).log()).sum()), docs, round=3)
        metrics.log_scalar("tau", total("tau_sum") / docs, docs, round=4)
        counts = [log[CLUSTER_COUNTS] for log in logging_outputs if CLUSTER_COUNTS in log]
        if counts:
            metrics.log_scalar_sum(CLUSTER_COUNTS, sum(counts))
            metrics.log_derived("cluster_acc", lambda meters: round(
                100.0 * majority_accuracy_of_counts(meters[CLUSTER_COUNTS].sum.cpu().numpy()), 2))

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True

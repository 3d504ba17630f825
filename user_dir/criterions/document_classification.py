"""``document_classification``: cross-entropy of a document classifier (the LSTM / LM-LSTM baselines).

Only documents with a label (>= 0) count; unlabelled ones (label -1, from the
``semisupervised_vae`` task) are skipped. Logged: ``loss`` (mean -log q(y|x) in
nats per labelled document) and ``accuracy`` (%), as summable counts.
"""
from dataclasses import dataclass

import torch
from fairseq import metrics
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import FairseqDataclass


@dataclass
class DocumentClassificationConfig(FairseqDataclass):
    pass


@register_criterion("document_classification", dataclass=DocumentClassificationConfig)
class DocumentClassificationCriterion(FairseqCriterion):
    def forward(self, model, sample, reduce=True):
        if "label" not in sample:
            raise ValueError("document_classification needs labels in the batch (DATA/label)")
        log_q = model(**sample["net_input"]).float()
        label = sample["label"]
        mask = label.ge(0)
        if mask.any():
            nll = -log_q[mask].gather(-1, label[mask].unsqueeze(-1)).squeeze(-1)
            loss = nll.sum()
        else:
            loss = log_q.sum() * 0.0
        with torch.no_grad():
            correct = (log_q.argmax(-1)[mask] == label[mask]).sum()
        n = int(mask.sum())
        logging_output = {
            "loss": loss.data,
            "ntokens": sample["ntokens"],
            "nsentences": sample["nsentences"],
            "sample_size": n,
            "n_acc": n,
            "correct": int(correct),
        }
        return loss, n, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        n = sum(int(log.get("n_acc", 0)) for log in logging_outputs)
        if n == 0:
            return
        loss = sum(float(log.get("loss", 0)) for log in logging_outputs)
        correct = sum(int(log.get("correct", 0)) for log in logging_outputs)
        metrics.log_scalar("loss", loss / n, n, round=4)
        metrics.log_scalar("accuracy", 100.0 * correct / n, n, round=2)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True

"""Test accuracy of a document classifier, and the unlabelled bound of a semi-supervised VAE
(one row of the paper's Table 3, one cell of Table 4)."""
import math
from typing import Dict

import torch

from ..models.components import document_terms
from ..models.semisup_vae import SemiSupervisedVAE
from ..modules import categorical_kl_to_uniform, unlabelled_bound


@torch.no_grad()
def score_classifier(model, task, split: str, batch_size: int = 32) -> Dict[str, float]:
    """Accuracy (%) of argmax q(y|x) against the split's labels, for an ``lstm_classifier`` or a
    ``semisup_vae``. For a semisup_vae also, every document scored as unlabelled with the exact sum
    over labels (as in its validation): ``nll`` = -U(x) (``unlabelled_bound``) = rec + kl, ``rec`` = -E_q(y|x)[log p(x|y,z)]
    (one z sample per label), ``kl`` = ``kl_z`` + ``kl_y`` with kl_z = E_q(y|x)[KL(q(z|x,y)||p(z))] and
    kl_y = KL(q(y|x)||p(y)), in nats per document, and PPL = exp(total nll / tokens), EOS counted
    (as Table 2)."""
    model.eval()
    dataset = task.dataset(split)
    if getattr(dataset, "labels", None) is None:
        raise ValueError(f"split {split} has no labels: accuracy needs DATA/label/{split}")
    itr = task.get_batch_iterator(dataset=dataset, max_sentences=batch_size, ignore_invalid_inputs=False,
                                  seed=1).next_epoch_itr(shuffle=False)
    semisup = isinstance(model, SemiSupervisedVAE)
    totals = {"docs": 0, "tokens": 0, "correct": 0, "rec": 0.0, "kl_z": 0.0, "kl_y": 0.0, "nll": 0.0}
    for sample in itr:
        net_input = sample["net_input"]
        if semisup:
            terms = document_terms(model(**net_input, sum_over_labels=True, target=sample["target"]))
            log_qy = terms["log_qy"]
            totals["nll"] -= float(unlabelled_bound(terms["elbo_y"], log_qy).sum())
            totals["rec"] -= float(terms["rec"].sum())
            totals["kl_z"] += float(terms["kl_z"].sum())
            totals["kl_y"] += float(categorical_kl_to_uniform(log_qy).sum())
        else:
            log_qy = model(**net_input)
        totals["correct"] += int((log_qy.argmax(-1) == sample["label"]).sum())
        totals["docs"] += int(sample["label"].numel())
        totals["tokens"] += int(sample["ntokens"])
    n = totals["docs"]
    result = {"split": split, "documents": n, "tokens": totals["tokens"], "accuracy": 100.0 * totals["correct"] / n}
    if semisup:
        nll = totals["nll"]
        result.update(nll=nll / n, rec=totals["rec"] / n, kl=(totals["kl_z"] + totals["kl_y"]) / n,
                      kl_z=totals["kl_z"] / n, kl_y=totals["kl_y"] / n, ppl=math.exp(nll / totals["tokens"]))
    return result

"""Per-document bounds of a trained model over a data split (one row of the paper's Table 2)."""
import math
from typing import Dict, Optional

import torch

from ..criterions.elbo import likelihood_and_kl
from ..data import FirstDocuments
from ..models.components import LatentVariableModel
from ..modules import active_units, latent_moments, mutual_information, mutual_information_upper_bound, negative_elbo


@torch.no_grad()
def score_split(model, task, split: str, batch_size: int = 32, iw_samples: int = 500, iw_chunk: int = 50,
                max_docs: Optional[int] = None) -> Dict[str, float]:
    """NLL (negative ELBO, one z sample and the analytic KL), its KL part, PPL, the
    importance-weighted NLL with ``iw_samples`` samples, I(x; z) (He et al.'s estimator, ``mi``, biased
    upwards on a few thousand documents, and the upper bound ``mi_ub``) and active units; of the first
    ``max_docs`` documents of the split (file order) if given, else of all.

    NLLs are nats per document; PPL = exp(total NLL / total tokens), EOS counted
    (the same token count as fairseq-eval-lm). Models without a latent code
    (language models) get KL = 0 and their exact NLL in both columns.
    """
    model.eval()
    dataset = task.dataset(split)
    if max_docs is not None:
        dataset = FirstDocuments(dataset, max_docs)  # the first documents of the file, not the shortest
    itr = task.get_batch_iterator(dataset=dataset, max_sentences=batch_size, ignore_invalid_inputs=False,
                                  seed=1).next_epoch_itr(shuffle=False)
    has_latent = isinstance(model, LatentVariableModel)
    totals = {"docs": 0, "tokens": 0, "rec": 0.0, "kl": 0.0, "nll": 0.0, "iw": 0.0}
    mus, logvars = [], []
    for sample in itr:
        net_input = sample["net_input"]
        log_likelihood, kl, terms = likelihood_and_kl(model, model(**net_input), sample)
        nll = negative_elbo(log_likelihood, kl)
        if terms is not None:
            mus.append(terms["mu"])
            logvars.append(terms["logvar"])
        if has_latent and iw_samples > 0:
            iw = -model.importance_weighted_bound(net_input["src_tokens"], net_input["src_lengths"], sample["target"],
                                                  iw_samples, iw_chunk, posterior=(terms["mu"], terms["logvar"]))
        else:
            iw = nll
        totals["docs"] += nll.numel()
        totals["tokens"] += int(sample["ntokens"])
        totals["rec"] -= float(log_likelihood.sum())
        totals["kl"] += float(kl.sum())
        totals["nll"] += float(nll.sum())
        totals["iw"] += float(iw.sum())
    n, t = totals["docs"], totals["tokens"]
    result = {
        "split": split,
        "documents": n,
        "tokens": t,
        "nll": totals["nll"] / n,
        "rec": totals["rec"] / n,
        "kl": totals["kl"] / n,
        "ppl": math.exp(totals["nll"] / t),
        "iw_samples": iw_samples if has_latent else 0,
        "iw_nll": totals["iw"] / n,
        "iw_ppl": math.exp(totals["iw"] / t),
        "mi": None,
        "mi_ub": None,
        "active_units": None,
    }
    if has_latent:
        mu, logvar = torch.cat(mus), torch.cat(logvars)
        result["mi"] = mutual_information(mu, logvar)
        result["mi_ub"] = mutual_information_upper_bound(latent_moments(mu, logvar))  # <= KL, unlike "mi"
        result["active_units"] = active_units(mu)
        result["latent_dim"] = int(mu.size(1))
    return result


BOUND_TABLE_HEADER = "| model | NLL (KL) | PPL | IW-NLL | IW-PPL | MI | AU |\n|---|---|---|---|---|---|---|"


def bound_markdown_row(name: str, result: Dict) -> str:
    """One row under ``BOUND_TABLE_HEADER`` from a ``score_split`` result (``–`` where not measured)."""
    mi = "–" if result.get("mi") is None else f"{result['mi']:.2f}"
    au = "–" if result.get("active_units") is None else f"{result['active_units']}/{result['latent_dim']}"
    iw = f"{result['iw_nll']:.2f}" if result.get("iw_samples") else "–"
    iw_ppl = f"{result['iw_ppl']:.2f}" if result.get("iw_samples") else "–"
    return f"| {name} | {result['nll']:.2f} ({result['kl']:.2f}) | {result['ppl']:.2f} | {iw} | {iw_ppl} | {mi} | {au} |"

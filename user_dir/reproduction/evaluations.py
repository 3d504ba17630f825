"""How each run of the grid is scored (``Run.evaluation``): a training run on its own
checkpoint_best.pt, an evaluation-only run on the checkpoint_best.pt of the run it reads.

Every evaluation returns the ``metrics`` of the record, ``evaluated`` (a sentence saying
what was scored, and how), a one-line ``summary`` for the progress output, and where the
numbers come from a stand-alone script, its ``command`` (the exact call that computes
them outside the harness). Fig. 3 also writes its 2-D points next to the record
(``files``), so that the figure is drawn from the records alone.
"""
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import torch

from .grid import Run
from .presets import Preset

LATENT_FILE = "latent_2d.json"


@dataclass
class Context:
    checkpoint: Path  # the checkpoint to score
    data: Path  # binarised corpus
    save: Path  # the run's folder (where record.json goes)
    preset: Preset
    seed: int


def _load(ctx: Context):
    from ..evaluation.checkpoints import load_checkpoint

    return load_checkpoint(ctx.checkpoint, ctx.data)


def _script(name: str, *args) -> str:
    return " ".join([sys.executable, f"scripts/{name}", *map(str, args)])


def bound(run: Run, ctx: Context) -> Dict:
    """Table 2: NLL bound, KL, PPL, IW-NLL, MI and active units on the test split."""
    from ..evaluation.document_bounds import score_split

    model, task = _load(ctx)
    task.load_dataset("test")
    m = score_split(model, task, "test", ctx.preset.eval_batch_size, ctx.preset.iw_samples)
    return {"metrics": m, "summary": f"test NLL {m['nll']:.2f} (KL {m['kl']:.2f}), PPL {m['ppl']:.2f}",
            "evaluated": f"checkpoint_best.pt (lowest validation NLL bound) on the test split, "
                         f"IW with K={ctx.preset.iw_samples}"}


def classification(run: Run, ctx: Context) -> Dict:
    """Tables 3 and 4: test accuracy of argmax q(y|x); for a semi-supervised VAE also -U(x)."""
    from ..evaluation.classification import score_classifier

    model, task = _load(ctx)
    task.load_dataset("test")
    m = score_classifier(model, task, "test", ctx.preset.eval_batch_size)
    summary = f"test accuracy {m['accuracy']:.2f} %"
    evaluated = "checkpoint_best.pt (highest validation accuracy) on the test split: accuracy of argmax q(y|x)"
    if "nll" in m:
        summary += f", -U(x) {m['nll']:.2f} (KL {m['kl']:.2f}), PPL {m['ppl']:.2f}"
        evaluated += ("; NLL bound -U(x) with the exact sum over labels (one z sample per label, analytic KLs), "
                      "KL = E_q(y|x)[KL(q(z|x,y)||p(z))] + KL(q(y|x)||p(y))")
    return {"metrics": m, "summary": summary, "evaluated": evaluated}


def qy_clustering(run: Run, ctx: Context) -> Dict:
    """Table 5, SCNN-VAE-Unsup + init: clusters argmax q(y|x), Makhzani et al.'s assignment."""
    from ..evaluation.posterior_clustering import qy_clustering as score

    model, task = _load(ctx)
    batch = ctx.preset.eval_batch_size
    result = score(model, str(ctx.data), "valid", "test", task.args.max_doc_tokens, batch)
    m = {"accuracy": result.pop("test_accuracy"), "valid_accuracy": result.pop("valid_accuracy_same_assignment"),
         "majority_accuracy": result.pop("test_accuracy_majority"),
         "majority_valid_accuracy": result.pop("valid_accuracy_majority"), "documents": result.pop("num_test"),
         **result}
    checkpoint = run.config["checkpoint"]
    selected_by = ("the highest validation " + checkpoint["best_checkpoint_metric"]
                   if checkpoint.get("maximize_best_checkpoint_metric") else "the lowest validation NLL bound -U(x)")
    return {"metrics": m, "summary": f"clustering accuracy {m['accuracy']:.2f} % (test)",
            "evaluated": f"checkpoint_best.pt ({selected_by}): clusters = argmax q(y|x), each labelled by its "
                         "validation document of highest q(y|x) (Makhzani et al. 2015), test accuracy; "
                         "majority_accuracy: each labelled by the most frequent label of its validation documents",
            "command": _script("evaluate_clustering.py", "--path", ctx.checkpoint, "--data", ctx.data,
                               "--batch-size", batch, "--seed", ctx.seed)}


def gmm(run: Run, ctx: Context) -> Dict:
    """Table 5 baselines: features -> PCA -> GMM (best fit by training likelihood), PCA size chosen on
    validation accuracy, test accuracy."""
    from ..evaluation.gmm import gmm_baseline, split_features

    o, p = run.options, ctx.preset
    feats, labels, names = split_features(o["features"], str(ctx.checkpoint), str(ctx.data),
                                          ("train", "valid", "test"), p.max_doc_tokens, p.eval_batch_size)
    rows = gmm_baseline(feats, labels, len(names), o["pca_dims"], o["runs"], ctx.seed)
    chosen = next(row for row in rows if row["selected"])
    chosen_majority = next(row for row in rows if row["selected_majority"])
    m = {"accuracy": chosen["test_accuracy"], "valid_accuracy": chosen["valid_accuracy"],
         "pca_dim": chosen["pca_dim"], "majority_accuracy": chosen_majority["test_accuracy_majority"],
         "majority_valid_accuracy": chosen_majority["valid_accuracy_majority"],
         "majority_pca_dim": chosen_majority["pca_dim"], "label_names": names, "rows": rows}
    return {"metrics": m, "summary": f"clustering accuracy {m['accuracy']:.2f} % (test), PCA {m['pca_dim']}",
            "evaluated": f"{o['features']} features of {run.reads}/checkpoint_best.pt -> PCA "
                         f"{o['pca_dims']} -> GMM, best of {o['runs']} by training likelihood; PCA size by "
                         f"validation accuracy; Makhzani et al.'s assignment on validation, test accuracy; "
                         f"majority_accuracy: majority naming on validation, its PCA size by its validation accuracy",
            "command": _script("gmm_baseline.py", "--data", ctx.data, "--features", o["features"], "--path",
                               ctx.checkpoint, "--pca-dims", ",".join(map(str, o["pca_dims"])), "--runs", o["runs"],
                               "--seed", ctx.seed, "--max-doc-tokens", p.max_doc_tokens, "--batch-size",
                               p.eval_batch_size)}


def latent_2d(run: Run, ctx: Context) -> Dict:
    """Fig. 3: the test posterior means in 2-D with their labels, written to latent_2d.json."""
    from ..evaluation.latent_plot import posterior_means_2d

    model, task = _load(ctx)
    split = run.options["split"]
    latent = posterior_means_2d(model, str(ctx.data), split, task.args.max_doc_tokens, ctx.preset.eval_batch_size)
    points = {"points": [[float(f"{v:.5g}") for v in row] for row in latent["points"]],
              "labels": [int(c) for c in latent["labels"]],
              **{key: latent[key] for key in ("names", "xlabel", "ylabel", "title")}}
    (ctx.save / LATENT_FILE).write_text(json.dumps(points) + "\n")
    m = {"documents": len(points["labels"]), "latent_dim": latent["latent_dim"]}
    return {"metrics": m, "summary": f"{m['documents']} posterior means of {m['latent_dim']}-D z in 2-D",
            "evaluated": f"{run.reads or run.name}/checkpoint_best.pt: {latent['title']}", "files": {"points": LATENT_FILE},
            "command": _script("plot_latent.py", "--path", ctx.checkpoint, "--data", ctx.data, "--split",
                               split, "--seed", ctx.seed, "--out", "fig3_latent.png")}


EVALUATIONS = {"bound": bound, "classification": classification, "qy_clustering": qy_clustering, "gmm": gmm,
               "latent_2d": latent_2d}


def evaluate(run: Run, ctx: Context) -> Dict:
    """Scores ``run`` with its evaluation, torch seeded with the run's seed (as its recorded command is)."""
    torch.manual_seed(ctx.seed)
    return EVALUATIONS[run.evaluation](run, ctx)

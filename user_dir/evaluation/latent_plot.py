"""Posterior means in 2-D coloured by label (Yang et al. 2017, Fig. 3), and the matplotlib set-up
shared by the plotting code (Agg backend, quiet logging).

The paper trains a VAE with a 2-D z for the figure; a wider z is projected to
2-D by PCA here (``project_2d``), which the axis labels say.
"""
from typing import Dict, Sequence, Tuple

import numpy as np


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed), without matplotlib's debug logging."""
    import logging

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def project_2d(means: np.ndarray) -> Tuple[np.ndarray, str, str]:
    """(points (N, 2), x-axis label, y-axis label): the means themselves for a 1-D or 2-D z, else their
    PCA to 2-D (fitted on these means; the axis labels give the explained variance)."""
    if means.shape[1] == 2:
        return means, "z_1", "z_2"
    if means.shape[1] == 1:
        return np.concatenate([means, np.zeros_like(means)], axis=1), "z_1", ""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2).fit(means)
    ratio = pca.explained_variance_ratio_
    return pca.transform(means), f"PC 1 ({100 * ratio[0]:.0f} %)", f"PC 2 ({100 * ratio[1]:.0f} %)"


def posterior_means_2d(model, data: str, split: str, max_doc_tokens: int = 400, batch_size: int = 32,
                       max_docs: int = 0, seed: int = 1) -> Dict:
    """Posterior means of the labelled documents of ``split`` in 2-D (``project_2d``): the mean of q(z|x)
    for a text_vae, of q(z|x, y) with y = argmax q(y|x) for a semisup_vae. ``max_docs`` > 0 keeps a
    random subset (``seed``). Returns points (N, 2), labels (N,), names, xlabel, ylabel, title, latent_dim."""
    from ..models.components import LatentVariableModel
    from .features import load_split, vae_features

    if not isinstance(model, LatentVariableModel):
        raise ValueError("the checkpoint has no latent variable z (text_vae or semisup_vae needed)")
    dataset, _, names = load_split(data, split, max_doc_tokens)
    if dataset.labels is None:
        raise ValueError(f"split {split} has no labels")
    feats = vae_features(model, dataset, batch_size)
    means, labels = feats["mu"], feats["labels"]
    if max_docs and len(means) > max_docs:
        keep = np.random.RandomState(seed).choice(len(means), max_docs, replace=False)
        means, labels = means[keep], labels[keep]
    points, xlabel, ylabel = project_2d(means)
    kind = "q(z|x,y), y = argmax q(y|x)" if "log_qy" in feats else "q(z|x)"
    title = f"posterior means of {kind}, {split} ({means.shape[1]}-D z" + (", PCA)" if means.shape[1] > 2 else ")")
    return {"points": points, "labels": labels, "names": names, "xlabel": xlabel, "ylabel": ylabel, "title": title,
            "latent_dim": int(means.shape[1])}


def scatter_by_label(points: np.ndarray, labels: np.ndarray, names: Sequence[str], out, title: str,
                     xlabel: str, ylabel: str):
    """Writes a PNG scatter plot of ``points`` (N, 2), one colour per label index into ``names``."""
    plt = pyplot()
    points, labels = np.asarray(points), np.asarray(labels)
    fig, ax = plt.subplots(figsize=(6, 5))
    for c, name in enumerate(names):
        mask = labels == c
        if mask.any():
            ax.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.6, label=f"{name} ({int(mask.sum())})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(markerscale=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out

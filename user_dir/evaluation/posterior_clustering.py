"""Clustering accuracy of a semi-supervised VAE's q(y|x) (Yang et al. 2017, Sec. 3.5, Table 5
"SCNN-VAE-Unsup + init").

Protocol of Makhzani et al. (2015) (``clustering.py``): for each cluster i, the
validation document assigned to i with the highest q(y=i|x) gives its true
label to cluster i; each test document gets its cluster's label (argmax
q(y|x)); the test accuracy is reported. Labels of the validation split are used
for the assignment only. Also reported: majority naming (``clustering.py``, not the
paper's), each cluster named by the most frequent label of its validation
documents. Used by ``scripts/evaluate_clustering.py`` and the
reproduction harness.
"""
from typing import Dict

import numpy as np

from ..models.semisup_vae import SemiSupervisedVAE
from .clustering import majority_accuracy, makhzani_accuracy
from .features import load_split, vae_features


def qy_clustering(model, data: str, valid_split: str = "valid", test_split: str = "test",
                  max_doc_tokens: int = 400, batch_size: int = 32) -> Dict:
    """test_accuracy and valid_accuracy_same_assignment (%), cluster_labels (label name per cluster),
    fallback_clusters (clusters no validation document was assigned to), test_cluster_sizes, num_test;
    majority naming: test_accuracy_majority, valid_accuracy_majority (%), cluster_labels_majority."""
    if not isinstance(model, SemiSupervisedVAE):
        raise ValueError("the checkpoint has no q(y|x) (use a semisup_vae checkpoint, or features + GMM)")
    feats = {}
    for split in (valid_split, test_split):
        dataset, _, names = load_split(data, split, max_doc_tokens)
        if dataset.labels is None:
            raise ValueError(f"split {split} has no labels in {data}/label")
        feats[split] = vae_features(model, dataset, batch_size)
    valid, test = feats[valid_split], feats[test_split]
    q_valid, q_test = np.exp(valid["log_qy"]), np.exp(test["log_qy"])
    result = makhzani_accuracy(q_valid, valid["labels"], q_test, test["labels"])
    majority = majority_accuracy(q_valid, valid["labels"], q_test, test["labels"])
    return {
        "test_accuracy": 100.0 * result["accuracy"],
        "valid_accuracy_same_assignment": 100.0 * result["valid_accuracy"],
        "cluster_labels": [names[i] for i in result["cluster_labels"]],
        "fallback_clusters": [int(i) for i in np.nonzero(result["fallback"])[0]],
        "test_cluster_sizes": [int(n) for n in result["test_cluster_sizes"]],
        "num_test": int(len(test["labels"])),
        "test_accuracy_majority": 100.0 * majority["accuracy"],
        "valid_accuracy_majority": 100.0 * majority["valid_accuracy"],
        "cluster_labels_majority": [names[i] for i in majority["cluster_labels"]],
    }

"""Cluster -> label assignments on the validation split, scored on test.

Makhzani et al. (2015), as used by Yang et al. 2017, Sec. 3.5 (the paper's
protocol): "For cluster i, we find out the validation sample x_n from cluster i
that has the best q(y_i|x) and assign the label of x_n to all samples in
cluster i. We then compute the test accuracy based on this assignment."

Majority naming (not the paper's; a lower-variance variant): cluster i takes
the most frequent true label among the validation documents assigned to it.
Makhzani's protocol names each cluster by one document, so one atypical
document can mislabel a whole cluster; majority naming uses every validation
document of the cluster. Its in-sample validation accuracy is the cluster
purity (``majority_accuracy_of_counts``), which sums over batches and workers.

Pure numpy; ``probs`` are cluster posteriors q(y|x) (or a GMM's
responsibilities), one row per document.
"""
from typing import Dict

import numpy as np

NO_LABEL = -1


def assign_clusters(valid_probs: np.ndarray, valid_labels: np.ndarray) -> Dict[str, np.ndarray]:
    """Label of every cluster from the validation documents.

    For cluster i, among the validation documents assigned to i (argmax of
    their row, ties to the lowest index) the one with the highest q(y=i|x)
    gives its true label to cluster i. A cluster that no validation document
    is assigned to takes the label of the validation document with the
    highest q(y=i|x) overall (reported in ``fallback``).

    Returns ``labels`` (K,) the label per cluster, ``representative`` (K,)
    the index of the validation document used, ``fallback`` (K,) bool.
    """
    probs = np.asarray(valid_probs, dtype=np.float64)
    labels = np.asarray(valid_labels)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"valid_probs must be (N, K) with N = len(valid_labels); got {probs.shape}, {labels.shape}")
    if len(probs) == 0:
        raise ValueError("no validation documents to assign clusters with")
    num_clusters = probs.shape[1]
    assigned = probs.argmax(axis=1)
    cluster_labels = np.full(num_clusters, NO_LABEL, dtype=np.int64)
    representative = np.zeros(num_clusters, dtype=np.int64)
    fallback = np.zeros(num_clusters, dtype=bool)
    for i in range(num_clusters):
        members = np.nonzero(assigned == i)[0]
        if len(members) == 0:
            members = np.arange(len(probs))
            fallback[i] = True
        best = members[np.argmax(probs[members, i])]
        representative[i] = best
        cluster_labels[i] = labels[best]
    return {"labels": cluster_labels, "representative": representative, "fallback": fallback}


def cluster_accuracy(clusters: np.ndarray, true_labels: np.ndarray, cluster_labels: np.ndarray) -> float:
    """Fraction of documents whose cluster's label equals their true label."""
    clusters = np.asarray(clusters, dtype=np.int64)
    true_labels = np.asarray(true_labels)
    if len(clusters) == 0:
        raise ValueError("no documents to score")
    return float(np.mean(np.asarray(cluster_labels)[clusters] == true_labels))


def cluster_label_counts(clusters: np.ndarray, labels: np.ndarray, num_clusters: int,
                         num_labels: int) -> np.ndarray:
    """(num_clusters, num_labels) int64 counts: entry [i, c] = documents of cluster i with true label c."""
    clusters, labels = np.asarray(clusters, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    if clusters.shape != labels.shape:
        raise ValueError(f"one cluster per label needed; got {clusters.shape} and {labels.shape}")
    counts = np.zeros((num_clusters, num_labels), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    return counts


def majority_labels(counts: np.ndarray) -> np.ndarray:
    """(K,) label of each cluster under majority naming: its most frequent true label (ties to the lowest
    label); a cluster with no documents takes the most frequent label overall."""
    counts = np.asarray(counts)
    overall = int(counts.sum(0).argmax())
    return np.where(counts.sum(1) > 0, counts.argmax(1), overall)


def majority_accuracy_of_counts(counts: np.ndarray) -> float:
    """Accuracy of majority naming on the documents it was named with (cluster purity):
    sum_i max_c counts[i, c] / sum counts."""
    counts = np.asarray(counts)
    total = counts.sum()
    if total == 0:
        raise ValueError("no documents to score")
    return float(counts.max(1).sum() / total)


def majority_accuracy(valid_probs, valid_labels, test_probs, test_labels) -> Dict[str, object]:
    """Majority naming on validation, scored on test: {accuracy, valid_accuracy (purity), cluster_labels}."""
    valid_probs, test_probs = np.asarray(valid_probs), np.asarray(test_probs)
    num_clusters = valid_probs.shape[1]
    if test_probs.shape[1] != num_clusters:
        raise ValueError("validation and test have different numbers of clusters")
    num_labels = int(max(np.max(valid_labels), np.max(test_labels))) + 1
    counts = cluster_label_counts(valid_probs.argmax(1), valid_labels, num_clusters, num_labels)
    names = majority_labels(counts)
    return {"accuracy": cluster_accuracy(test_probs.argmax(1), test_labels, names),
            "valid_accuracy": majority_accuracy_of_counts(counts), "cluster_labels": names}


def makhzani_accuracy(valid_probs, valid_labels, test_probs, test_labels) -> Dict[str, object]:
    """Assign clusters on validation, score test: {accuracy, valid_accuracy (the same assignment scored on
    validation), cluster_labels, representative, fallback, test_cluster_sizes}."""
    assignment = assign_clusters(valid_probs, valid_labels)
    test_probs = np.asarray(test_probs)
    if test_probs.shape[1] != len(assignment["labels"]):
        raise ValueError("validation and test have different numbers of clusters")
    test_clusters = test_probs.argmax(axis=1)
    return {
        "accuracy": cluster_accuracy(test_clusters, test_labels, assignment["labels"]),
        "valid_accuracy": cluster_accuracy(np.asarray(valid_probs).argmax(axis=1), valid_labels,
                                           assignment["labels"]),
        "cluster_labels": assignment["labels"],
        "representative": assignment["representative"],
        "fallback": assignment["fallback"],
        "test_cluster_sizes": np.bincount(test_clusters, minlength=test_probs.shape[1]),
    }

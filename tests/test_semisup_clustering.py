"""Cluster -> label assignments on hand-made cases: Makhzani et al. (2015) and majority naming."""
import numpy as np
import pytest

from user_dir.evaluation.clustering import (assign_clusters, cluster_accuracy, cluster_label_counts, majority_accuracy,
                                            majority_accuracy_of_counts, majority_labels, makhzani_accuracy)

A, B, C = 0, 1, 2

# validation documents: q(y|x) over 3 clusters and their true labels
VALID_PROBS = np.array([
    [0.90, 0.05, 0.05],  # 0: cluster 0, label A  <- best q(y=0|x) in cluster 0
    [0.50, 0.45, 0.05],  # 1: cluster 0, label B  <- best q(y=1|x) overall, but it is not in cluster 1
    [0.45, 0.40, 0.15],  # 2: cluster 0, label C
    [0.30, 0.38, 0.32],  # 3: cluster 1, label C  <- the only member of cluster 1
    [0.55, 0.10, 0.35],  # 4: cluster 0, label A  <- best q(y=2|x) overall; no document is in cluster 2
])
VALID_LABELS = np.array([A, B, C, C, A])

TEST_PROBS = np.array([
    [0.8, 0.1, 0.1],  # cluster 0 -> A
    [0.2, 0.7, 0.1],  # cluster 1 -> C
    [0.1, 0.1, 0.8],  # cluster 2 -> A
    [0.3, 0.6, 0.1],  # cluster 1 -> C
])
TEST_LABELS = np.array([A, C, A, B])


def test_assignment_uses_the_best_member_of_each_cluster():
    out = assign_clusters(VALID_PROBS, VALID_LABELS)
    assert out["labels"].tolist() == [A, C, A]
    assert out["representative"].tolist() == [0, 3, 4]
    assert out["fallback"].tolist() == [False, False, True]


def test_test_accuracy_from_the_assignment():
    result = makhzani_accuracy(VALID_PROBS, VALID_LABELS, TEST_PROBS, TEST_LABELS)
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["test_cluster_sizes"].tolist() == [1, 2, 1]
    assert result["valid_accuracy"] == pytest.approx(3 / 5)  # the same assignment on validation


def test_cluster_names_do_not_matter():
    perm = [2, 0, 1]
    result = makhzani_accuracy(VALID_PROBS[:, perm], VALID_LABELS, TEST_PROBS[:, perm], TEST_LABELS)
    assert result["accuracy"] == pytest.approx(0.75)


def test_perfect_clusters_score_one_and_shuffled_labels_do_not():
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 4, size=200)
    probs = np.full((200, 4), 0.1)
    probs[np.arange(200), (labels + 1) % 4] = 0.7  # clusters are a relabelling of the classes
    assert makhzani_accuracy(probs[:100], labels[:100], probs[100:], labels[100:])["accuracy"] == 1.0
    assert cluster_accuracy(probs[100:].argmax(1), labels[100:], np.arange(4)) == 0.0


def test_majority_naming_uses_every_member_of_each_cluster():
    # cluster 0 holds labels A, B, C, A: majority A; cluster 1 holds C; cluster 2 is empty -> A (most frequent)
    counts = cluster_label_counts(VALID_PROBS.argmax(1), VALID_LABELS, 3, 3)
    assert counts.tolist() == [[2, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert majority_labels(counts).tolist() == [A, C, A]
    assert majority_accuracy_of_counts(counts) == pytest.approx(3 / 5)  # purity of the validation clusters
    result = majority_accuracy(VALID_PROBS, VALID_LABELS, TEST_PROBS, TEST_LABELS)
    assert result["accuracy"] == pytest.approx(0.75) and result["valid_accuracy"] == pytest.approx(0.6)


def test_majority_naming_outvotes_an_atypical_representative():
    """Makhzani's protocol names a cluster by one document; majority naming by all of them."""
    probs = np.array([[0.99, 0.01], [0.6, 0.4], [0.6, 0.4], [0.1, 0.9]])
    labels = np.array([B, A, A, B])  # cluster 0's most confident member is its one B
    test = np.array([[0.7, 0.3], [0.8, 0.2], [0.2, 0.8]])
    test_labels = np.array([A, A, B])
    assert makhzani_accuracy(probs, labels, test, test_labels)["accuracy"] == pytest.approx(1 / 3)
    assert majority_accuracy(probs, labels, test, test_labels)["accuracy"] == pytest.approx(1.0)


def test_counts_of_batches_add_up_to_the_counts_of_the_split():
    rng = np.random.RandomState(1)
    clusters, labels = rng.randint(0, 4, 50), rng.randint(0, 3, 50)
    whole = cluster_label_counts(clusters, labels, 4, 3)
    parts = cluster_label_counts(clusters[:20], labels[:20], 4, 3) + cluster_label_counts(clusters[20:], labels[20:], 4, 3)
    assert (whole == parts).all() and whole.sum() == 50


def test_bad_shapes_are_reported():
    with pytest.raises(ValueError, match="valid_probs"):
        assign_clusters(VALID_PROBS, VALID_LABELS[:3])
    with pytest.raises(ValueError, match="no validation documents"):
        assign_clusters(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="one cluster per label"):
        cluster_label_counts(np.zeros(3), np.zeros(2), 2, 2)
    with pytest.raises(ValueError, match="no documents"):
        majority_accuracy_of_counts(np.zeros((2, 2)))

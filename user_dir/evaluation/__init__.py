"""Evaluation helpers for the semi-supervised / clustering experiments (not imported by the plugin itself)."""
from .clustering import assign_clusters, cluster_accuracy, makhzani_accuracy

__all__ = ["assign_clusters", "cluster_accuracy", "makhzani_accuracy"]

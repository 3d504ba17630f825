"""Evaluation helpers used by the scripts (not needed by fairseq itself)."""

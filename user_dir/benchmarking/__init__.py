"""Benchmarking helpers: model sizes (``sizes``), analytic FLOP counts (``flops``)
and in-process measurements (``measure``). Nothing here is imported by the
fairseq plugin itself; ``scripts/benchmark.py`` and ``scripts/gpu_check.sh`` use it."""

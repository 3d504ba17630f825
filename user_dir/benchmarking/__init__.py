"""Benchmarking helpers: model sizes (``sizes``), analytic FLOP counts (``flops``),
in-process measurements (``measure``) and the mixed-precision GPU check (``gpu_check``).
Nothing here is imported by the fairseq plugin itself; ``scripts/benchmark.py`` and
``scripts/gpu_check.py`` use it."""

"""The experiment harness behind ``scripts/reproduce.py``: presets, the grid of the
paper's tables, Hydra configs, run records and the tables/figures made from them."""

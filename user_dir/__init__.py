"""Dilated-CNN text VAEs (Yang et al., ICML 2017) as a fairseq plugin.

Load with ``--user-dir user_dir``; importing this package registers the models,
tasks and criterions with fairseq.
"""
import argparse

import torch

# fairseq's argparse-configured models (fairseq's own lstm_lm, our LSTM-LM
# baseline) store an argparse.Namespace in their checkpoints. Allow exactly that
# class for torch.load(weights_only=True) instead of turning weights_only off.
torch.serialization.add_safe_globals([argparse.Namespace])

from . import criterions, models, tasks  # noqa: E402,F401

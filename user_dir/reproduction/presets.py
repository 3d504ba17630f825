"""Presets of the reproduction harness: model sizes and training schedules.

- ``paper``: Yang et al. (2017), Sec. 3.2: the plugin's default sizes, batch 32,
  40 epochs, Adam lr 1e-3 beta1 0.5, KL weight 0.01 -> 1 over 10k updates, lr
  halved every 2 epochs after epoch 30 (fairseq's ``fixed`` scheduler shrinks
  per epoch, so it is set to sqrt(0.5) per epoch from epoch 31), IW K = 500.
- ``cpu``: sizes of ``user_dir/benchmarking/sizes.py`` ("cpu": embeddings 128,
  LSTMs 256, CNN 256/128 channels, z 32), 600 updates of 32 documents (about
  2.4 epochs of an 8,000-document corpus), KL annealed over 400 updates, IW K = 20.
- ``tiny``: CI smoke sizes, a few updates, a subset of each table.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..benchmarking.sizes import get_size


@dataclass(frozen=True)
class Preset:
    name: str
    size: str
    max_update: int
    kl_anneal_updates: int
    batch_size: int = 32
    max_epoch: int = 0
    lr: float = 1e-3
    force_anneal: Optional[int] = None
    lr_shrink: float = 0.1
    validate_interval_updates: int = 0
    iw_samples: int = 500
    eval_batch_size: int = 16
    max_doc_tokens: int = 200
    table2_decoders: List[str] = field(default_factory=lambda: ["scnn", "mcnn", "lcnn", "vlcnn"])

    @property
    def sizes(self) -> Dict[str, int]:
        return get_size(self.size)


PRESETS = {
    "paper": Preset("paper", "paper", max_update=0, max_epoch=40, kl_anneal_updates=10000, force_anneal=31,
                    lr_shrink=0.7071, iw_samples=500),
    "cpu": Preset("cpu", "cpu", max_update=600, kl_anneal_updates=400, validate_interval_updates=200,
                  iw_samples=20),
    "tiny": Preset("tiny", "quick", max_update=6, kl_anneal_updates=4, batch_size=16, iw_samples=5,
                   eval_batch_size=8, table2_decoders=["scnn"]),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {sorted(PRESETS)}")
    return PRESETS[name]

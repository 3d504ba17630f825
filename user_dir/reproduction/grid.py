"""The runs behind each of the paper's tables, and their Hydra configs."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..models.dilated_cnn_lm import DILATIONS
from .presets import Preset

DECODER_NAMES = {"lstm": "LSTM", "scnn": "SCNN", "mcnn": "MCNN", "lcnn": "LCNN", "vlcnn": "VLCNN"}


@dataclass
class Run:
    """One row of a table: a training config, plus what it needs and how it is evaluated."""

    name: str  # e.g. "table2/scnn_vae_init"
    table: str
    label: str  # row label as in the paper, e.g. "SCNN-VAE + init"
    config: Dict  # the Hydra config (without data / save_dir)
    init_from: Optional[str] = None  # name of the run whose checkpoint initialises the encoder
    evaluation: str = "bound"
    group: Dict = field(default_factory=dict)  # facts used by tables/figures (decoder, kind)

    @property
    def config_name(self) -> str:
        return self.name.replace("/", "_")


def _base_config(preset: Preset) -> Dict:
    optimization = {"lr": [preset.lr], "max_update": preset.max_update, "max_epoch": preset.max_epoch}
    scheduler = {"_name": "fixed"}
    if preset.force_anneal:
        scheduler.update(force_anneal=preset.force_anneal, lr_shrink=preset.lr_shrink)
    return {
        "common": {"user_dir": "user_dir", "seed": 1, "log_format": "json", "log_interval": 10,
                   "cpu": preset.name != "paper"},
        "task": {"_name": "text_vae", "data": "???", "max_doc_tokens": preset.max_doc_tokens},
        "criterion": {"_name": "elbo", "kl_weight_start": 0.01, "kl_weight_end": 1.0,
                      "kl_anneal_updates": preset.kl_anneal_updates},
        "optimizer": {"_name": "adam", "adam_betas": [0.5, 0.999]},
        "optimization": optimization,
        "lr_scheduler": scheduler,
        "dataset": {"batch_size": preset.batch_size, "validate_interval_updates": preset.validate_interval_updates},
        "checkpoint": {"save_dir": "???", "no_epoch_checkpoints": True, "best_checkpoint_metric": "nll"},
        # run in the current folder (the repository root), so that user_dir resolves; no .hydra/ output
        "hydra": {"run": {"dir": "."}, "output_subdir": None},
    }


def model_config(preset: Preset, decoder: str, latent: bool) -> Dict:
    """The ``model`` node for an LM (latent=False) or VAE with the given decoder, at the preset's sizes."""
    s = preset.sizes
    if decoder == "lstm" and not latent:
        # fairseq's own lstm_lm, matched to the VAE encoder so that it can initialise it ("+ init")
        return {"_name": "lstm_lm", "criterion": "elbo", "decoder_embed_dim": s["embed_dim"],
                "decoder_hidden_size": s["encoder_hidden_dim"], "decoder_out_embed_dim": s["encoder_hidden_dim"],
                "decoder_layers": 1, "dropout": 0.3}
    cnn = {"decoder_embed_dim": s["embed_dim"], "decoder_channels": s["channels"],
           "decoder_inner_channels": s["inner_channels"], "dropout": 0.1}
    if not latent:
        return {"_name": "dilated_cnn_lm", **cnn, "decoder_dilations": DILATIONS[decoder]}
    node = {"_name": "text_vae", **cnn, "encoder_embed_dim": s["embed_dim"],
            "encoder_hidden_dim": s["encoder_hidden_dim"], "latent_dim": s["latent_dim"],
            "latent_proj_dim": s["latent_proj_dim"], "decoder_hidden_dim": s["decoder_hidden_dim"]}
    if decoder == "lstm":
        node.update(decoder_type="lstm", lstm_dropout=0.3, word_dropout=0.0)
    else:
        node.update(decoder_type="cnn", decoder_dilations=DILATIONS[decoder])
    return node


def table2_runs(preset: Preset) -> List[Run]:
    """Table 2: LSTM-LM, LSTM-VAE (+ init), and LM / VAE / VAE + init for each CNN decoder."""
    runs = []
    for decoder in ["lstm"] + preset.table2_decoders:
        name = DECODER_NAMES[decoder]
        for kind, latent, init in (("lm", False, False), ("vae", True, False), ("vae_init", True, True)):
            cfg = _base_config(preset)
            cfg["model"] = model_config(preset, decoder, latent)
            if init:
                cfg["model"]["init_encoder_from"] = "???"
            label = {"lm": f"{name}-LM", "vae": f"{name}-VAE", "vae_init": f"{name}-VAE + init"}[kind]
            runs.append(Run(f"table2/{decoder}_{kind}", "2", label, cfg,
                            init_from="table2/lstm_lm" if init else None,
                            group={"decoder": name, "kind": kind}))
    return runs


def build_grid(preset: Preset, tables: List[str]) -> List[Run]:
    """All runs of the requested tables, dependencies first."""
    builders = {"2": table2_runs}
    unknown = [t for t in tables if t not in builders]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}: available {sorted(builders)}")
    runs = [run for table in tables for run in builders[table](preset)]
    names = {run.name for run in runs}
    for run in runs:
        if run.init_from and run.init_from not in names:
            raise ValueError(f"{run.name} needs {run.init_from}, which is not in the grid")
    return sorted(runs, key=lambda run: run.init_from is not None)

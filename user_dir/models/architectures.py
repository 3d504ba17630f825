"""Named architectures (``--arch``) of the plugin's models, made one way for every model."""
import dataclasses
from typing import Optional

from fairseq.models import register_model_architecture

# Table 1 of the paper: dilations per decoder (k = 3).
DILATIONS = {
    "scnn": "[1, 2, 4]",  # receptive field 15
    "mcnn": "[1, 2, 4, 8, 16]",  # 63
    "lcnn": "[1, 2, 4, 8, 16] * 2",  # 125
    "vlcnn": "[1, 2, 4, 8, 16] * 3",  # 187
}


def fill_defaults(cfg, config_class) -> None:
    """Sets every field of ``config_class`` that ``cfg`` lacks to its default. fairseq's legacy argparse path
    (``options.parse_args_and_arch`` then ``task.build_model(args)``) hands the architecture function a
    Namespace with only the flags given; the dataclass path already has them all."""
    for f in dataclasses.fields(config_class):
        if f.name.startswith("_") or hasattr(cfg, f.name):
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        setattr(cfg, f.name, default)


def register_architectures(model: str, config_class, decoders=("lstm", *DILATIONS)) -> None:
    """``{model}_{decoder}`` for each decoder: ``lstm`` sets ``decoder_type = lstm`` (latent-variable models
    only), a CNN name its dilations (and ``decoder_type = cnn`` where the config has one), unless given."""
    for decoder in decoders:
        register_model_architecture(model, f"{model}_{decoder}")(
            _architecture(config_class, None if decoder == "lstm" else DILATIONS[decoder]))


def _architecture(config_class, dilations: Optional[str]):
    has_type = any(f.name == "decoder_type" for f in dataclasses.fields(config_class))

    def arch(cfg):
        if has_type:
            cfg.decoder_type = getattr(cfg, "decoder_type", None) or ("lstm" if dilations is None else "cnn")
        if dilations is not None:
            cfg.decoder_dilations = getattr(cfg, "decoder_dilations", None) or dilations
        fill_defaults(cfg, config_class)

    return arch

"""``dilated_cnn_lm``: the paper's dilated CNN decoder as a plain language model
(the SCNN/MCNN/LCNN/VLCNN-LM baselines of Yang et al. 2017, Table 2)."""
from dataclasses import dataclass, field
from typing import List, Optional

from fairseq import utils
from fairseq.dataclass import FairseqDataclass
from fairseq.models import FairseqLanguageModel, register_model

from ..modules import DilatedCNNDecoder
from .architectures import DILATIONS, register_architectures


def parse_int_list(value: str, option: str) -> List[int]:
    """Parse a Python list expression such as ``"[1, 2, 4] * 2"`` into ints."""
    try:
        parsed = utils.eval_str_list(value, type=int)
    except Exception as exc:  # eval of user text: report which option was bad
        raise ValueError(f"--{option.replace('_', '-')}: cannot parse {value!r} as a list of ints ({exc})")
    if not parsed or any(d < 1 for d in parsed):
        raise ValueError(f"--{option.replace('_', '-')}: needs positive ints, got {value!r}")
    return parsed


@dataclass
class DilatedCNNDecoderConfig(FairseqDataclass):
    """Sizes of the dilated CNN decoder (defaults: the paper's, Sec. 2.3 / 3.2)."""

    decoder_embed_dim: int = field(default=512, metadata={"help": "word embedding size"})
    decoder_channels: int = field(default=1024, metadata={"help": "external channels of the residual blocks"})
    decoder_inner_channels: int = field(default=512, metadata={"help": "internal channels of the residual blocks"})
    decoder_kernel_size: int = field(default=3, metadata={"help": "filter width k"})
    decoder_dilations: str = field(
        default=DILATIONS["scnn"], metadata={"help": "dilation of each block, a Python list, e.g. '[1,2,4]*2'"}
    )
    dropout: float = field(default=0.1, metadata={"help": "dropout at every layer"})
    adaptive_softmax_cutoff: Optional[str] = field(
        default=None, metadata={"help": "comma-separated cutoffs for fairseq's AdaptiveSoftmax, e.g. '2000,10000'"}
    )
    adaptive_softmax_dropout: float = field(default=0.0, metadata={"help": "dropout in the adaptive softmax tails"})


def build_dilated_decoder(cfg: DilatedCNNDecoderConfig, dictionary, conditioning_dim: int = 0) -> DilatedCNNDecoder:
    cutoff = None
    if cfg.adaptive_softmax_cutoff:
        cutoff = utils.eval_str_list(cfg.adaptive_softmax_cutoff, type=int)
    return DilatedCNNDecoder(
        dictionary,
        embed_dim=cfg.decoder_embed_dim,
        channels=cfg.decoder_channels,
        inner_channels=cfg.decoder_inner_channels,
        kernel_size=cfg.decoder_kernel_size,
        dilations=parse_int_list(cfg.decoder_dilations, "decoder_dilations"),
        dropout=cfg.dropout,
        conditioning_dim=conditioning_dim,
        adaptive_softmax_cutoff=cutoff,
        adaptive_softmax_dropout=cfg.adaptive_softmax_dropout,
    )


@dataclass
class DilatedCNNLMConfig(DilatedCNNDecoderConfig):
    pass


@register_model("dilated_cnn_lm", dataclass=DilatedCNNLMConfig)
class DilatedCNNLanguageModel(FairseqLanguageModel):
    """Causal dilated CNN language model; see ``DilatedCNNDecoder``."""

    @classmethod
    def build_model(cls, cfg: DilatedCNNLMConfig, task):
        return cls(build_dilated_decoder(cfg, task.target_dictionary))


register_architectures("dilated_cnn_lm", DilatedCNNLMConfig, decoders=tuple(DILATIONS))

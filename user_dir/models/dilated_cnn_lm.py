"""``dilated_cnn_lm``: the paper's dilated CNN decoder as a plain language model
(the SCNN/MCNN/LCNN/VLCNN-LM baselines of Yang et al. 2017, Table 2)."""
from dataclasses import dataclass

from fairseq.models import FairseqLanguageModel, register_model

from .architectures import DILATIONS, register_architectures
from .components import DilatedCNNDecoderConfig, build_dilated_decoder


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

"""``lstm_classifier``: the supervised baselines of Yang et al. 2017, Table 4.

LSTM: the VAE's document encoder (LSTM, last hidden state) + the same two-layer
MLP as q(y|x), trained on the labelled documents only. LM-LSTM (Dai & Le 2015):
the same with ``--init-encoder-from`` a fairseq ``lstm_lm`` checkpoint (the
task's build_model copies its embeddings and LSTM, as for the VAE's "+ init").
"""
from dataclasses import dataclass

import torch.nn.functional as F
from fairseq.models import BaseFairseqModel, register_model
from torch import Tensor

from .components import (DocumentEncoderConfig, LabelClassifierConfig, build_document_encoder,
                         build_label_classifier, load_lstm_lm_state)


@dataclass
class LSTMClassifierConfig(DocumentEncoderConfig, LabelClassifierConfig):
    pass


@register_model("lstm_classifier", dataclass=LSTMClassifierConfig)
class LSTMClassifier(BaseFairseqModel):
    """forward(src_tokens, src_lengths) -> log q(y|x) (B, C), fp32."""

    supported_targets = {"future"}

    def __init__(self, cfg, reader, classifier):
        super().__init__()
        self.cfg = cfg
        self.reader = reader
        self.classifier = classifier

    @classmethod
    def build_model(cls, cfg: LSTMClassifierConfig, task):
        num_classes = cfg.num_classes or getattr(task, "num_classes", 0)
        if num_classes < 2:
            raise ValueError("lstm_classifier needs >= 2 classes (labelled data in DATA/label, or --num-classes)")
        return cls(cfg, build_document_encoder(cfg, task.source_dictionary), build_label_classifier(cfg, num_classes))

    def init_encoder_from_lstm_lm(self, path: str) -> list:
        return self.reader.load_from_lstm_lm(load_lstm_lm_state(path), source=path)

    def forward(self, src_tokens: Tensor, src_lengths: Tensor, **kwargs) -> Tensor:
        return F.log_softmax(self.classifier(self.reader(src_tokens, src_lengths)).float(), dim=-1)

    def max_positions(self):
        return None


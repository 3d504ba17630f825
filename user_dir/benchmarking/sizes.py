"""Model sizes used by the benchmarks and experiments, defined in one place.

``SIZES[name]`` holds the dimensions of every model family:

* ``paper``: the defaults of the plugin, i.e. Yang et al. (2017), Sec. 3.2:
  embeddings 512, encoder LSTM 1024, CNN 1024 external / 512 internal channels,
  LSTM decoder 1024, z 32 (latent MLP 512), vocabulary 20,000.
* ``cpu``: a size that trains at a few thousand tokens/s on 2 CPU cores
  (embeddings 128, encoder 256, CNN 256/128, LSTM decoder 256, z 32, latent MLP
  128, vocabulary 10,000).
* ``quick``: tiny sizes for CI smoke runs (``scripts/benchmark.py --quick``).

``vocab_size`` is the dictionary length including fairseq's 4 special symbols.
The helpers turn a size into a plugin config, fairseq command-line flags, or an
``argparse.Namespace`` for fairseq's own ``lstm_lm``.
"""
from argparse import Namespace
from typing import Dict, List, Optional

SIZES: Dict[str, Dict[str, int]] = {
    "paper": dict(embed_dim=512, encoder_hidden_dim=1024, channels=1024, inner_channels=512,
                  decoder_hidden_dim=1024, latent_dim=32, latent_proj_dim=512, vocab_size=20000),
    "cpu": dict(embed_dim=128, encoder_hidden_dim=256, channels=256, inner_channels=128,
                decoder_hidden_dim=256, latent_dim=32, latent_proj_dim=128, vocab_size=10000),
    "quick": dict(embed_dim=16, encoder_hidden_dim=32, channels=32, inner_channels=16,
                  decoder_hidden_dim=32, latent_dim=8, latent_proj_dim=16, vocab_size=500),
}

# Model names understood by ``build_model`` (fairseq arch names).
MODEL_NAMES = ("dilated_cnn_lm_scnn", "dilated_cnn_lm_lcnn", "text_vae_scnn", "text_vae_lcnn", "text_vae_lstm",
               "lstm_lm")


def get_size(size) -> Dict[str, int]:
    if isinstance(size, dict):
        return dict(size)
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {sorted(SIZES)}")
    return dict(SIZES[size])


def make_dictionary(vocab_size: int):
    """A fairseq Dictionary of exactly ``vocab_size`` entries (4 specials + dummy words)."""
    from fairseq.data import Dictionary

    d = Dictionary()
    for i in range(vocab_size - len(d)):
        d.add_symbol(f"w{i}")
    assert len(d) == vocab_size
    return d


def plugin_config_kwargs(size, dropout: float = 0.1) -> Dict[str, object]:
    """Keyword arguments of ``TextVAEConfig`` / ``DilatedCNNLMConfig`` for a size."""
    s = get_size(size)
    return dict(
        decoder_embed_dim=s["embed_dim"], decoder_channels=s["channels"], decoder_inner_channels=s["inner_channels"],
        dropout=dropout, encoder_embed_dim=s["embed_dim"], encoder_hidden_dim=s["encoder_hidden_dim"],
        decoder_hidden_dim=s["decoder_hidden_dim"], latent_dim=s["latent_dim"], latent_proj_dim=s["latent_proj_dim"],
    )


def cli_args(size, arch: str) -> List[str]:
    """fairseq-train flags giving ``arch`` the dimensions of ``size`` (the vocabulary comes from the data)."""
    s = get_size(size)
    if arch == "lstm_lm":
        return ["--decoder-embed-dim", str(s["embed_dim"]), "--decoder-hidden-size", str(s["decoder_hidden_dim"]),
                "--decoder-out-embed-dim", str(s["decoder_hidden_dim"]), "--decoder-layers", "1"]
    flags = ["--decoder-embed-dim", str(s["embed_dim"]), "--decoder-channels", str(s["channels"]),
             "--decoder-inner-channels", str(s["inner_channels"])]
    if arch.startswith("text_vae"):
        flags += ["--encoder-embed-dim", str(s["embed_dim"]), "--encoder-hidden-dim", str(s["encoder_hidden_dim"]),
                  "--decoder-hidden-dim", str(s["decoder_hidden_dim"]), "--latent-dim", str(s["latent_dim"]),
                  "--latent-proj-dim", str(s["latent_proj_dim"])]
    return flags


def lstm_lm_namespace(size, dropout: float = 0.1, adaptive_softmax_cutoff: Optional[str] = None) -> Namespace:
    """Arguments of fairseq's ``lstm_lm`` matched to ``size``: one LSTM layer of the decoder
    size, no extra output projection (out_embed_dim = hidden), full softmax or, with
    ``adaptive_softmax_cutoff``, fairseq's AdaptiveSoftmax (built when ``criterion`` is adaptive_loss)."""
    s = get_size(size)
    return Namespace(
        arch="lstm_lm", criterion="adaptive_loss" if adaptive_softmax_cutoff else "cross_entropy", dropout=dropout,
        decoder_embed_dim=s["embed_dim"], decoder_hidden_size=s["decoder_hidden_dim"],
        decoder_out_embed_dim=s["decoder_hidden_dim"], decoder_layers=1, decoder_embed_path=None,
        adaptive_softmax_cutoff=adaptive_softmax_cutoff, adaptive_softmax_dropout=0.0, tokens_per_sample=1024,
        max_target_positions=1024,
    )


def _fake_task(dictionary):
    from types import SimpleNamespace

    return SimpleNamespace(target_dictionary=dictionary, source_dictionary=dictionary, dictionary=dictionary)


def supports_adaptive_softmax(arch: str) -> bool:
    """Whether ``build_model`` can give ``arch`` an adaptive softmax (every model but the LSTM-decoder VAE)."""
    return arch != "text_vae_lstm"


def build_model(arch: str, size, dictionary=None, dropout: float = 0.1, adaptive_softmax_cutoff: Optional[str] = None,
                **overrides):
    """Builds one of ``MODEL_NAMES`` in-process at ``size`` (a name of ``SIZES`` or a dict), with fairseq's
    AdaptiveSoftmax at ``adaptive_softmax_cutoff`` (e.g. "2000,6000") if given; ``overrides`` are further
    config fields (lstm_lm: Namespace attributes)."""
    if adaptive_softmax_cutoff and not supports_adaptive_softmax(arch):
        raise ValueError(f"{arch} has no adaptive softmax option")
    import user_dir  # noqa: F401  (registers the plugin's models)
    from fairseq.models import ARCH_MODEL_REGISTRY

    s = get_size(size)
    dictionary = dictionary if dictionary is not None else make_dictionary(s["vocab_size"])
    task = _fake_task(dictionary)
    if arch == "lstm_lm":
        from fairseq.models.lstm_lm import LSTMLanguageModel

        args = lstm_lm_namespace(s, dropout, adaptive_softmax_cutoff)
        for key, value in overrides.items():
            setattr(args, key, value)
        return LSTMLanguageModel.build_model(args, task)
    if arch.startswith("dilated_cnn_lm_"):
        from user_dir.models.architectures import DILATIONS
        from user_dir.models.dilated_cnn_lm import DilatedCNNLanguageModel, DilatedCNNLMConfig

        kwargs = {k: v for k, v in plugin_config_kwargs(s, dropout).items() if k in DilatedCNNLMConfig.__dataclass_fields__}
        kwargs["decoder_dilations"] = DILATIONS[arch.rsplit("_", 1)[1]]
        cfg = DilatedCNNLMConfig(**{**kwargs, "adaptive_softmax_cutoff": adaptive_softmax_cutoff, **overrides})
        return DilatedCNNLanguageModel.build_model(cfg, task)
    if arch.startswith("text_vae_"):
        from user_dir.models.architectures import DILATIONS
        from user_dir.models.text_vae import TextVAE, TextVAEConfig

        name = arch.rsplit("_", 1)[1]
        kwargs = plugin_config_kwargs(s, dropout)
        if name == "lstm":
            kwargs["decoder_type"] = "lstm"
        else:
            kwargs["decoder_dilations"] = DILATIONS[name]
        cfg = TextVAEConfig(**{**kwargs, "adaptive_softmax_cutoff": adaptive_softmax_cutoff, **overrides})
        return TextVAE.build_model(cfg, task)
    if arch not in ARCH_MODEL_REGISTRY:
        raise ValueError(f"unknown arch {arch!r}")
    raise ValueError(f"build_model does not know how to size {arch!r}: use one of {MODEL_NAMES}")

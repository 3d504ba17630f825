"""Small builders shared by the tests."""
import subprocess
from types import SimpleNamespace

from conftest import BIN, REPO, cli_env

# small sizes for fast tests; the dilations are the paper's
TINY_DECODER = dict(decoder_embed_dim=16, decoder_channels=24, decoder_inner_channels=12, dropout=0.0)
TINY_VAE = dict(TINY_DECODER, encoder_embed_dim=16, encoder_hidden_dim=24, latent_dim=4, latent_proj_dim=8,
                decoder_hidden_dim=24, lstm_dropout=0.0)
TINY_CLI = ["--decoder-embed-dim", "16", "--decoder-channels", "24", "--decoder-inner-channels", "12"]
TINY_VAE_CLI = TINY_CLI + ["--encoder-embed-dim", "16", "--encoder-hidden-dim", "24", "--latent-dim", "4",
                           "--latent-proj-dim", "8", "--decoder-hidden-dim", "24"]


def fake_task(dictionary):
    return SimpleNamespace(target_dictionary=dictionary, source_dictionary=dictionary)


def build_text_vae(dictionary, arch="text_vae_scnn", **overrides):
    from user_dir.models.architectures import DILATIONS
    from user_dir.models.text_vae import TextVAE, TextVAEConfig

    name = arch.split("_")[-1]
    cfg = TextVAEConfig(**{**TINY_VAE, **overrides})
    if name == "lstm":
        cfg.decoder_type = "lstm"
    else:
        cfg.decoder_dilations = DILATIONS[name]
    return TextVAE.build_model(cfg, fake_task(dictionary))


def run_cli(tool: str, *args, check=True):
    """Runs a fairseq command-line tool from the venv with --user-dir; returns the CompletedProcess."""
    cmd = [str(BIN / tool), *map(str, args)]
    proc = subprocess.run(cmd, cwd=REPO, env=cli_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc

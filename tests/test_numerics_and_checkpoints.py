"""Half-precision numerics and checkpoint loading errors."""
import pytest
import torch

from helpers import TINY_VAE_CLI, build_text_vae, run_cli
from test_vae_math import first_batch
from user_dir.criterions.elbo import ElboCriterion, ElboCriterionConfig
from user_dir.modules import gaussian_kl, log_normal_diag, log_standard_normal


def test_kl_and_densities_are_fp32_for_half_inputs():
    mu = torch.randn(3, 4, dtype=torch.bfloat16)
    logvar = torch.randn(3, 4, dtype=torch.bfloat16)
    assert gaussian_kl(mu, logvar).dtype == torch.float32
    assert log_normal_diag(mu, mu, logvar).dtype == torch.float32
    assert log_standard_normal(mu).dtype == torch.float32


def onednn_runs_bf16_lstm() -> bool:
    """Whether this CPU's oneDNN builds a bf16 LSTM primitive (seen failing on an AMD EPYC without
    AVX512-BF16: "could not create a primitive descriptor for the LSTM forward propagation primitive")."""
    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 2, 4))
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("arch", ["text_vae_scnn", "text_vae_lcnn", "text_vae_lstm"])
def test_bf16_autocast_forward_backward_is_finite(tiny_data, arch):
    d, batch = first_batch(tiny_data, split="train", n=8)
    torch.manual_seed(0)
    model = build_text_vae(d, arch).train()
    crit = ElboCriterion(task=None, cfg=ElboCriterionConfig())
    crit.set_num_updates(5)
    # the LSTM decoder's unpacked LSTM goes through oneDNN on a CPU; where that has no bf16 LSTM,
    # torch's own kernel runs it (a platform limit, not the model's: on a GPU cuDNN runs it)
    onednn = arch != "text_vae_lstm" or onednn_runs_bf16_lstm()
    with torch.backends.mkldnn.flags(enabled=onednn), torch.autocast("cpu", dtype=torch.bfloat16):
        loss, n, log = crit(model, batch)
    loss.backward()
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    assert torch.isfinite(log["kl"]) and torch.isfinite(log["rec"])
    for name, p in model.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), name


def test_bf16_autocast_dilated_lm_is_finite(tiny_data):
    from user_dir.models.architectures import DILATIONS
    from user_dir.models.dilated_cnn_lm import DilatedCNNLanguageModel, DilatedCNNLMConfig
    from helpers import TINY_DECODER, fake_task

    d, batch = first_batch(tiny_data, split="train", n=8)
    model = DilatedCNNLanguageModel.build_model(
        DilatedCNNLMConfig(**TINY_DECODER, decoder_dilations=DILATIONS["vlcnn"]), fake_task(d))
    crit = ElboCriterion(task=None, cfg=ElboCriterionConfig())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _, _ = crit(model, batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.fixture(scope="module")
def scnn_checkpoint(tiny_data, tmp_path_factory):
    save = tmp_path_factory.mktemp("ckpt")
    run_cli("fairseq-train", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
            "--arch", "text_vae_scnn", *TINY_VAE_CLI, "--criterion", "elbo", "--optimizer", "adam", "--lr", "1e-3",
            "--batch-size", "16", "--max-update", "2", "--save-dir", save, "--no-epoch-checkpoints")
    return save / "checkpoint_last.pt"


def test_without_user_dir_fairseq_fails(tiny_data, scnn_checkpoint):
    proc = run_cli("fairseq-eval-lm", tiny_data, "--cpu", "--path", scnn_checkpoint, check=False)
    assert proc.returncode != 0
    assert "_name" in proc.stderr  # fairseq's KeyError: the plugin's model is not registered


def test_checkpoint_of_another_architecture_fails_clearly(tiny_data, scnn_checkpoint, tmp_path):
    proc = run_cli("fairseq-train", tiny_data, "--user-dir", "user_dir", "--cpu", "--task", "text_vae",
                   "--arch", "text_vae_lcnn", *TINY_VAE_CLI, "--criterion", "elbo", "--optimizer", "adam",
                   "--lr", "1e-3", "--batch-size", "16", "--max-update", "3", "--save-dir", tmp_path,
                   "--finetune-from-model", scnn_checkpoint, check=False)
    assert proc.returncode != 0
    assert "Cannot load model parameters from checkpoint" in proc.stderr
    assert "please ensure that the architectures match" in proc.stderr


def test_truncated_or_missing_checkpoint_gives_a_clear_error(tiny_data, scnn_checkpoint, tmp_path):
    from user_dir.evaluation.checkpoints import CheckpointError, load_checkpoint

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(scnn_checkpoint.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(truncated, tiny_data)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt", tiny_data)
    model, task = load_checkpoint(scnn_checkpoint, tiny_data)
    assert type(model).__name__ == "TextVAE"



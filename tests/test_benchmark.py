"""The analytic FLOP counter against hand counts and against torch's FLOP counter.

(The benchmark's --quick run and scripts/gpu_check.py --cpu-smoke, their docstrings' usage lines, are
run and checked by tests/test_usage_lines.py; batched and looped importance-weighted bounds agreeing
to 1e-4 is tested in tests/test_vae_math.py::test_batched_and_looped_iw_agree.)
"""
import pytest
import torch


# A small text VAE: embeddings E=4, encoder LSTM H=6, z D=2, latent MLP P=3, CNN C=8 external /
# I=4 internal channels, k=3, 2 blocks (dilations [1, 2]), vocabulary V=10, n=5 tokens/document.
HAND_VAE = dict(embed_dim=4, encoder_hidden_dim=6, latent_dim=2, latent_proj_dim=3, channels=8,
                inner_channels=4, vocab_size=10, tokens=5)
# Hand count, forward, FLOPs (multiply-add = 2):
#   encoder LSTM      per token  2 * 4H * (E + H) = 2 * 24 * 10  = 480
#   posterior         per doc    2 * H * 2D       = 2 * 6 * 4    =  48
#   latent MLP        per doc    2 * D * P        = 2 * 2 * 3    =  12
#   input projection  per token  2 * E * C        = 2 * 4 * 8    =  64
#   conditioning      per doc    2 * P * C        = 2 * 3 * 8    =  48
#   block 1x1 C->I    per token  2 * C * I = 64 \
#   block k-tap conv  per token  2 * k * I * I = 96  > 224 per block, 2 blocks = 448
#   block 1x1 I->C    per token  2 * I * C = 64 /
#   output (softmax)  per token  2 * C * V        = 2 * 8 * 10   = 160
# per token 480 + 64 + 448 + 160 = 1152; per document 48 + 12 + 48 = 108 -> 108 / 5 = 21.6
HAND_VAE_FORWARD_PER_TOKEN = 1152 + 108 / 5  # 1173.6
HAND_VAE_TRAINING_PER_TOKEN = 3 * HAND_VAE_FORWARD_PER_TOKEN  # 3520.8


def hand_vae_model():
    from user_dir.benchmarking.sizes import build_model

    h = HAND_VAE
    size = dict(embed_dim=h["embed_dim"], encoder_hidden_dim=h["encoder_hidden_dim"], channels=h["channels"],
                inner_channels=h["inner_channels"], decoder_hidden_dim=6, latent_dim=h["latent_dim"],
                latent_proj_dim=h["latent_proj_dim"], vocab_size=h["vocab_size"])
    return build_model("text_vae_scnn", size, decoder_dilations="[1, 2]")


def test_flops_match_hand_count_for_a_small_text_vae():
    from user_dir.benchmarking.flops import model_flops, text_vae_flops

    h = HAND_VAE
    analytic = text_vae_flops(h["embed_dim"], h["encoder_hidden_dim"], h["latent_dim"], h["latent_proj_dim"],
                              h["vocab_size"], decoder="cnn", channels=h["channels"],
                              inner_channels=h["inner_channels"], kernel_size=3, num_blocks=2)
    built = model_flops(hand_vae_model())
    for count in (analytic, built):
        assert count.forward_per_token(h["tokens"]) == pytest.approx(HAND_VAE_FORWARD_PER_TOKEN)
        assert count.training_per_token(h["tokens"]) == pytest.approx(HAND_VAE_TRAINING_PER_TOKEN)
    assert built.breakdown() == analytic.breakdown()
    assert built.per_token["decoder.conv_dilated"] == 2 * 96


def test_generation_flops_match_hand_count():
    """Decoder of HAND_VAE: features F = 64 + 448 = 512, output O = 160, per document P = 12 + 48 = 60.
    Length 4: incremental 4 (512 + 160) + 60 = 2748; full 512 (1 + 2 + 3 + 4) + 4 (160 + 60) = 6000."""
    from user_dir.benchmarking.flops import decoder_flops, generation_flops

    work = generation_flops(decoder_flops(hand_vae_model().decoder), 4)
    assert work == {"incremental": pytest.approx(2748), "full": pytest.approx(6000)}


def test_flops_of_lstm_models_and_adaptive_softmax():
    from user_dir.benchmarking.flops import model_flops, output_layer_flops
    from user_dir.benchmarking.sizes import build_model

    size = dict(embed_dim=4, encoder_hidden_dim=6, channels=8, inner_channels=4, decoder_hidden_dim=6,
                latent_dim=2, latent_proj_dim=3, vocab_size=10)
    # fairseq lstm_lm, E=4, H=6, V=10: LSTM 2*24*(4+6) = 480, output 2*6*10 = 120 -> 600 per token
    assert model_flops(build_model("lstm_lm", size)).forward_per_token(5) == 600
    # LSTM-decoder VAE: encoder 480 + decoder LSTM 2*24*(4+3+6) = 624 + output 120 per token;
    # per document posterior 48 + latent MLP 12 + initial state 2*3*6 = 36 -> 96 / 5 = 19.2
    assert model_flops(build_model("text_vae_lstm", size)).forward_per_token(5) == pytest.approx(1224 + 19.2)
    # adaptive softmax, C=8, V=100, cutoff [20, 60], factor 4, all clusters (full normalisation):
    # head 2*8*(20+2) = 352, tail 1: 2*8*2 + 2*2*40 = 192, tail 2: 2*8*0 + 0 = 0 (8 // 16 = 0)
    assert output_layer_flops(8, 100, [20, 60], all_clusters=True) == 352 + 192
    # training counts a tail for the fraction of targets in it
    assert output_layer_flops(8, 100, [20, 60], cluster_fractions=[0.5, 0.25]) == 352 + 0.5 * 192


def _in_place_addmm_flops(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    """``out.addmm_(a, b)``, which the fused dilated convolution uses for its shifted taps and which
    torch's counter does not know: 2 * rows * inner * cols, as torch counts ``addmm``."""
    return 2 * a_shape[0] * a_shape[1] * b_shape[1]


@pytest.mark.parametrize("arch, cutoff", [(arch, None) for arch in ("dilated_cnn_lm_scnn", "dilated_cnn_lm_lcnn",
                                                                    "text_vae_scnn", "text_vae_lcnn", "text_vae_lstm",
                                                                    "lstm_lm")]
                         + [(arch, "100,300") for arch in ("dilated_cnn_lm_scnn", "text_vae_scnn", "text_vae_lcnn")])
def test_analytic_flops_agree_with_torch_flop_counter(arch, cutoff):
    """Forward FLOPs of ``benchmarking/flops.py`` vs ``torch.utils.flop_counter.FlopCounterMode`` on the
    built model (quick sizes, 2 documents of 200 tokens), within 10 %. oneDNN is switched off so that
    ``nn.LSTM`` runs as the matrix products torch counts. The fused convolution skips the rows of a tap
    that fall before the document's start (products with the zero padding), which the analytic count
    includes: with receptive fields up to 63 tokens that is a few per cent of 200 tokens."""
    from torch.utils.flop_counter import FlopCounterMode

    from user_dir.benchmarking.flops import model_flops
    from user_dir.benchmarking.measure import make_sample
    from user_dir.benchmarking.sizes import build_model
    from user_dir.modules import target_log_probs

    model = build_model(arch, "quick", adaptive_softmax_cutoff=cutoff).eval()
    sample = make_sample(model.decoder.dictionary, 2, 200)
    counter = FlopCounterMode(display=False, custom_mapping={torch.ops.aten.addmm_: _in_place_addmm_flops})
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False), counter:
        if cutoff and arch.startswith("dilated_cnn_lm"):  # an LM's forward stops before its adaptive softmax
            target_log_probs(model.decoder, model(**sample["net_input"]), sample["target"])
        else:
            model(**sample["net_input"])
    net_input = sample["net_input"]
    tokens = int(net_input["src_lengths"].sum())
    analytic = model_flops(model).forward_per_token(tokens / 2) * tokens
    assert counter.get_total_flops() == pytest.approx(analytic, rel=0.10)

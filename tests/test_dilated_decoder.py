"""Causality, receptive fields and incremental decoding of the dilated CNN decoder."""
import pytest
import torch
from fairseq.data import Dictionary

from user_dir.models.architectures import DILATIONS
from user_dir.models.components import parse_int_list
from user_dir.modules import DilatedCNNDecoder
from user_dir.modules.dilated_cnn_decoder import receptive_field

PAPER_RECEPTIVE_FIELDS = {"scnn": 15, "mcnn": 63, "lcnn": 125, "vlcnn": 187}


def make_dictionary(n_words=30):
    d = Dictionary()
    for i in range(n_words):
        d.add_symbol(f"w{i}")
    return d


def make_decoder(preset, conditioning_dim=0, seed=0):
    torch.manual_seed(seed)
    dec = DilatedCNNDecoder(make_dictionary(), embed_dim=8, channels=12, inner_channels=6, kernel_size=3,
                            dilations=parse_int_list(DILATIONS[preset], "d"), dropout=0.0,
                            conditioning_dim=conditioning_dim)
    return dec.eval()


def random_tokens(dec, bsz, length, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(dec.dictionary.nspecial, len(dec.dictionary), (bsz, length), generator=g)


@pytest.mark.parametrize("preset", sorted(PAPER_RECEPTIVE_FIELDS))
def test_receptive_field_matches_paper(preset):
    assert receptive_field(3, parse_int_list(DILATIONS[preset], "d")) == PAPER_RECEPTIVE_FIELDS[preset]
    assert make_decoder(preset).receptive_field == PAPER_RECEPTIVE_FIELDS[preset]


@pytest.mark.parametrize("preset", sorted(PAPER_RECEPTIVE_FIELDS))
def test_causal_with_exact_receptive_field(preset):
    """Logits at position t depend on input positions t-R+1..t and on nothing else.

    All weights are made positive so that no ReLU hides a dependency: every path
    through the network then carries signal, and the test sees the structure.
    """
    dec = make_decoder(preset).double()  # float64: the edge's small contribution must not round away
    for p in dec.parameters():
        p.data.abs_()
    R = PAPER_RECEPTIVE_FIELDS[preset]
    T = R + 6
    t = T - 3
    tokens = random_tokens(dec, 1, T)
    with torch.no_grad():
        base = dec(tokens)[0][0, t]

        def changed(position):
            other = tokens.clone()
            other[0, position] = dec.dictionary.nspecial + (other[0, position] - dec.dictionary.nspecial + 1) % 30
            return not torch.equal(dec(other)[0][0, t], base)

        # future inputs (the targets at and after t) never matter
        for pos in range(t + 1, T):
            assert not changed(pos), f"position {t} sees future input {pos}"
        assert changed(t)
        assert changed(t - R + 1), "the edge of the receptive field must be seen"
        assert not changed(t - R), "one position beyond the receptive field must not be seen"


@pytest.mark.parametrize("preset", sorted(PAPER_RECEPTIVE_FIELDS))
@pytest.mark.parametrize("conditioning_dim", [0, 5])
def test_incremental_equals_full_forward_with_reorder(preset, conditioning_dim):
    dec = make_decoder(preset, conditioning_dim)
    bsz, T = 3, 40
    tokens = random_tokens(dec, bsz, T)
    cond = torch.randn(bsz, conditioning_dim) if conditioning_dim else None
    with torch.no_grad():
        full = dec(tokens, conditioning=cond)[0]
        state = {}
        steps = [dec(tokens[:, : i + 1], incremental_state=state, conditioning=cond)[0] for i in range(T // 2)]
        # reorder the cache like beam search does, and continue on reordered sequences
        order = torch.tensor([2, 0, 1])
        dec.reorder_incremental_state_scripting(state, order)
        tokens_r, cond_r, full_r = tokens[order], (cond[order] if cond is not None else None), full[order]
        steps_r = [dec(tokens_r[:, : i + 1], incremental_state=state, conditioning=cond_r)[0]
                   for i in range(T // 2, T)]
    inc = torch.cat(steps, dim=1)
    inc_r = torch.cat(steps_r, dim=1)
    assert (inc - full[:, : T // 2]).abs().max() <= 1e-5
    assert (inc_r - full_r[:, T // 2:]).abs().max() <= 1e-5


def test_conditioning_is_concatenation():
    """The fused input layer equals a linear layer on [embedding; conditioning]."""
    dec = make_decoder("scnn", conditioning_dim=5)
    tokens = random_tokens(dec, 2, 7)
    cond = torch.randn(2, 5)
    emb = dec.embed_tokens(tokens)
    concat = torch.cat([emb, cond.unsqueeze(1).expand(-1, 7, -1)], dim=-1)
    expected = dec.input_proj(concat)
    w, b = dec.input_proj.weight, dec.input_proj.bias
    fused = torch.nn.functional.linear(emb, w[:, :8], b) + torch.nn.functional.linear(cond, w[:, 8:]).unsqueeze(1)
    assert torch.allclose(fused, expected, atol=1e-6)
    with pytest.raises(ValueError, match="conditioning"):
        dec(tokens)


def test_bad_dilations_are_reported():
    with pytest.raises(ValueError, match="decoder-dilations"):
        parse_int_list("[1, 0]", "decoder_dilations")
    with pytest.raises(ValueError, match="decoder-dilations"):
        parse_int_list("[1, 2", "decoder_dilations")


@pytest.mark.parametrize("kernel_size, dilation", [(3, 1), (3, 4), (2, 3), (1, 1)])
def test_fused_convolution_matches_conv1d_forward_and_backward(kernel_size, dilation):
    """The fused time-major taps (and their hand-written backward) against F.conv1d, in float64."""
    from user_dir.modules import CausalDilatedConv1d

    torch.manual_seed(0)
    conv = CausalDilatedConv1d(5, 4, kernel_size, dilation).double()
    x = torch.randn(3, 11, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x,), eps=1e-6, atol=1e-8)
    fused, reference = conv(x), conv.reference_forward(x)
    assert torch.allclose(fused, reference, atol=1e-12)
    grad = torch.randn_like(fused)
    fused_grads = torch.autograd.grad(fused, [x, conv.proj.weight, conv.proj.bias], grad)
    reference_grads = torch.autograd.grad(reference, [x, conv.proj.weight, conv.proj.bias], grad)
    for a, b in zip(fused_grads, reference_grads):
        assert torch.allclose(a, b, atol=1e-12)

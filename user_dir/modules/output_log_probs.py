"""log p(x_t | x_<t, ...) of the target words: the one place where a decoder's output is scored."""
import torch.nn.functional as F
from torch import Tensor


def adaptive_softmax_of(decoder):
    """The decoder's fairseq ``AdaptiveSoftmax`` (also through a latent-conditioning wrapper), or None."""
    while decoder is not None:
        asm = getattr(decoder, "adaptive_softmax", None)
        if asm is not None:
            return asm
        decoder = getattr(decoder, "inner", None)
    return None


def target_log_probs(decoder, net_output, target: Tensor) -> Tensor:
    """log-probability of each target word, (B, T) -> (B, T) in fp32, 0 at padding.

    With a full softmax: the decoder's normalised log-probs gathered at the
    targets. With fairseq's ``AdaptiveSoftmax`` (``net_output[0]`` are then the
    features, B x T x C): the head's log-softmax at the target's head entry
    (the word itself, or its tail cluster) plus, for words in a tail, the
    log-softmax of that tail at the word, computed for the tokens of that tail
    only (Grave et al. 2017). This is differentiable, unlike fairseq's
    ``AdaptiveSoftmax.get_log_prob`` (which writes into a LogSoftmax output in
    place), and equals it; dropout of the adaptive softmax applies in training.
    """
    pad = decoder.dictionary.pad()
    asm = adaptive_softmax_of(decoder)
    if asm is None:
        lprobs = decoder.get_normalized_probs(net_output, log_probs=True, sample={"target": target}).float()
        token = lprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    else:
        outputs, new_targets = asm(net_output[0], target)
        flat = F.log_softmax(outputs[0].float(), dim=-1).gather(-1, new_targets[0].unsqueeze(-1)).squeeze(-1)
        _, indices = asm.adapt_target(target)
        for out, tgt, idx in zip(outputs[1:], new_targets[1:], indices):
            if idx is not None:
                tail = F.log_softmax(out.float(), dim=-1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
                flat = flat.index_add(0, idx, tail)
        token = flat.view(target.shape)
    return token.masked_fill(target.eq(pad), 0.0)

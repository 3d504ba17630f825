"""In-process measurements: matmul peak, memory (RSS), training throughput, generation and
importance-weighted evaluation speed. Everything runs in the calling process, so the
ratios (utilisation, incremental/full, batched/loop) compare like with like."""
import ctypes
import gc
import math
import os
import platform
import time
from typing import Dict, List, Optional

import torch

MIB = 1024 * 1024


# --------------------------------------------------------------------------- machine


def machine_info() -> Dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform()}


def matmul_peak(n: int = 2048, repeats: int = 10, dtype=torch.float32) -> float:
    """Best-of-``repeats`` FLOP/s of one ``n x n @ n x n`` matmul (2 n^3 FLOPs), after a warm-up."""
    return gemm_rate((n, n, n), repeats, dtype)


def gemm_rate(shape, repeats: int = 10, dtype=torch.float32) -> float:
    """Best-of-``repeats`` FLOP/s of one ``(m, k) @ (k, n)`` matmul, ``shape = (m, k, n)`` (2 m k n FLOPs)."""
    m, k, n = shape
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    out = torch.empty(m, n, dtype=dtype)
    torch.mm(a, b, out=out)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * m * k * n / best


def gemm_shapes(model, sample) -> List[tuple]:
    """The (m, k, n) of every matrix product (mm, addmm, bmm per batch entry) one training step of ``model``
    on ``sample`` runs, forward and backward, largest FLOPs first, without repeats."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from user_dir.criterions.elbo import ElboCriterion, ElboCriterionConfig

    shapes = set()
    aten = torch.ops.aten

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            packet = getattr(func, "overloadpacket", None)
            if packet in (aten.mm, aten.addmm, aten.bmm):
                a, b = (args[0], args[1]) if packet is not aten.addmm else (args[1], args[2])
                shapes.add((int(a.shape[-2]), int(a.shape[-1]), int(b.shape[-1])))
            return func(*args, **(kwargs or {}))

    model.train()
    with Record():
        loss, n, _ = ElboCriterion(task=None, cfg=ElboCriterionConfig())(model, sample)
        (loss / n).backward()
    model.zero_grad(set_to_none=True)
    return sorted(shapes, key=lambda s: -s[0] * s[1] * s[2])


def model_gemm_peak(model, sample, most: int = 12, repeats: int = 5) -> Dict[str, object]:
    """The best FLOP/s over the ``most`` largest GEMM shapes a training step of ``model`` runs (each the
    best of ``repeats``): a reference no achieved rate of that model's matmuls can beat by much."""
    rates = [(shape, gemm_rate(shape, repeats)) for shape in gemm_shapes(model, sample)[:most]]
    shape, best = max(rates, key=lambda r: r[1])
    return {"flops_per_s": best, "shape": list(shape), "shapes_timed": len(rates)}


def theoretical_peak() -> Dict[str, object]:
    """fp32 FMA peak from what the CPU reports: logical CPUs x clock x SIMD lanes x 2 FLOPs x FMA units,
    lanes 16 with AVX-512 (8 on AMD, whose Zen 4 runs 512-bit operations as two 256-bit halves), 8 with
    AVX2 (else 4), 2 FMA units per CPU (an assumption; Zen 2-4 and recent Intel cores have 2), clock =
    the highest MHz the kernel reports (boost clocks can be higher, so measured rates may exceed it; with
    SMT two logical CPUs share one core's units, so it may also be twice too high). A figure to print
    beside the measured peaks, not the reference. None where /proc/cpuinfo is unreadable."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return {"flops_per_s": None}
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    mhz = [float(line.split(":", 1)[1]) for line in text.splitlines() if line.startswith("cpu MHz")]
    try:
        mhz.append(int(open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read()) / 1000)
    except (OSError, ValueError):
        pass
    amd = "AuthenticAMD" in text
    lanes = 16 if "avx512f" in flags and not amd else 8 if "avx2" in flags else 4
    fma_units = 2 if "fma" in flags or "avx512f" in flags else 1
    cpus = os.cpu_count() or 1
    ghz = max(mhz) / 1000 if mhz else None
    return {"flops_per_s": cpus * ghz * 1e9 * lanes * 2 * fma_units if ghz else None, "cpus": cpus, "ghz": ghz,
            "lanes": lanes, "fma_units": fma_units}


# --------------------------------------------------------------------------- memory


def _status_kib(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_bytes() -> int:
    """Resident set size now (VmRSS)."""
    kib = _status_kib("VmRSS")
    if kib is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return kib * 1024


def peak_rss_bytes() -> int:
    """Peak resident set size since the last ``reset_peak_rss`` (VmHWM)."""
    kib = _status_kib("VmHWM")
    return kib * 1024 if kib is not None else rss_bytes()


def reset_peak_rss() -> bool:
    """Resets VmHWM to the current RSS (Linux >= 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def release_memory():
    """Collects garbage and hands freed heap pages back to the OS (glibc ``malloc_trim``),
    so that RSS measured next starts from what is really in use."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# --------------------------------------------------------------------------- data


def make_sample(dictionary, bsz: int, doc_len: int, seed: int = 0) -> Dict[str, object]:
    """A batch like ``DocumentDataset.collater``'s: ``bsz`` documents of ``doc_len - 1`` random
    words, ``src = [</s>, w_1..w_n]``, ``target = [w_1..w_n, </s>]`` (doc_len scored tokens each).

    Word ranks follow Zipf's law (p(rank r) ~ 1 / r over the dictionary's words, which fairseq sorts by
    frequency), as ``flops.zipf_cluster_fractions`` assumes: an adaptive softmax then runs its tail
    clusters on as many tokens as on real text, not on the 70-90 % that uniform words would put there.
    The cost of a full softmax does not depend on the words."""
    g = torch.Generator().manual_seed(seed)
    ranks = torch.arange(1, len(dictionary) - dictionary.nspecial + 1, dtype=torch.float64)
    words = dictionary.nspecial + torch.multinomial(1.0 / ranks, bsz * (doc_len - 1), replacement=True,
                                                    generator=g).view(bsz, doc_len - 1)
    eos = torch.full((bsz, 1), dictionary.eos(), dtype=torch.long)
    src = torch.cat([eos, words], dim=1)
    target = torch.cat([words, eos], dim=1)
    lengths = torch.full((bsz,), doc_len, dtype=torch.long)
    return {"id": torch.arange(bsz), "nsentences": bsz, "ntokens": bsz * doc_len,
            "net_input": {"src_tokens": src, "src_lengths": lengths}, "target": target}


# --------------------------------------------------------------------------- training


def make_optimizer(model, kind: str = "fused"):
    """Adam (lr 1e-3, betas (0.5, 0.999), the paper's). ``fused``: torch's fused CPU kernel;
    ``torch``: torch's default (for-loop) kernel; ``fairseq``: fairseq's own ``Adam`` class, which
    is what ``fairseq-train --optimizer adam`` runs on a CPU."""
    params = [p for p in model.parameters() if p.requires_grad]
    if kind == "fairseq":
        from fairseq.optim.adam import Adam

        return Adam(params, lr=1e-3, betas=(0.5, 0.999))
    if kind == "fused":
        try:
            return torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999), fused=True)
        except (RuntimeError, TypeError, ValueError):
            kind = "torch"
    return torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))


def train_throughput(model, sample, steps: int, warmup: int, optimizer: str = "fused") -> Dict[str, object]:
    """Steady-state training: ``warmup`` updates, one untimed update, then ``steps`` timed
    updates (ELBO criterion forward, backward, Adam step) on one fixed batch. Times each phase;
    records RSS after the warm-up and at the end (both trimmed, see below), raw RSS after every
    timed step, and the peak RSS (VmHWM) over the timed steps."""
    from user_dir.criterions.elbo import ElboCriterion, ElboCriterionConfig

    criterion = ElboCriterion(task=None, cfg=ElboCriterionConfig())
    opt = make_optimizer(model, optimizer)
    model.train()

    def step(i):
        criterion.set_num_updates(i)
        t0 = time.perf_counter()
        loss, sample_size, _ = criterion(model, sample)
        (loss / sample_size).backward()
        t1 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t2 = time.perf_counter()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} at step {i}")
        return t1 - t0, t2 - t1, float(loss.detach()) / sample_size

    for i in range(warmup):
        step(i)
    # RSS is read at the same point of the cycle after the warm-up and after the measured steps:
    # after an update, with garbage collected and free heap pages handed back (malloc_trim), so that
    # it counts memory in use rather than what the allocator happens to keep. One untimed update
    # after the first reading faults the trimmed pages back in, outside the timed steps.
    release_memory()
    rss_warm = rss_bytes()
    step(warmup)
    peak_reset = reset_peak_rss()
    fwd_bwd, opt_s, rss_steps, losses = [], [], [], []
    for i in range(warmup + 1, warmup + 1 + steps):
        a, b, loss = step(i)
        fwd_bwd.append(a)
        opt_s.append(b)
        rss_steps.append(rss_bytes())
        losses.append(loss)
    peak = peak_rss_bytes() if peak_reset else None
    release_memory()
    rss_end = rss_bytes()
    step_s = [a + b for a, b in zip(fwd_bwd, opt_s)]
    tokens = int(sample["ntokens"])
    median = sorted(step_s)[len(step_s) // 2]
    return {
        "tokens_per_step": tokens, "step_s": step_s, "fwd_bwd_s": fwd_bwd, "optimizer_s": opt_s,
        "tokens_per_s": tokens / median, "tokens_per_s_best": tokens / min(step_s),
        "rss_after_warmup_mib": rss_warm / MIB, "rss_end_mib": rss_end / MIB,
        "rss_per_step_mib": [r / MIB for r in rss_steps],
        "peak_rss_mib": peak / MIB if peak is not None else None,
        "loss_per_doc": losses,
    }


def optimizer_step_times(model, sample, kinds=("fused", "torch", "fairseq"), repeats: int = 2) -> Dict[str, float]:
    """Seconds per Adam step of each kind (best of ``repeats``, after a first step that creates the
    state), with the gradients of one backward pass. The parameters move: use a throw-away model."""
    from user_dir.criterions.elbo import ElboCriterion, ElboCriterionConfig

    model.train()
    loss, n, _ = ElboCriterion(task=None, cfg=ElboCriterionConfig())(model, sample)
    (loss / n).backward()
    out = {}
    for kind in kinds:
        opt = make_optimizer(model, kind)
        opt.step()
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            opt.step()
            best = min(best, time.perf_counter() - start)
        out[kind] = best
        del opt
    model.zero_grad(set_to_none=True)
    return out


def profile_training_step(model, sample, optimizer: str = "fused", warmup: int = 2) -> Dict[str, Dict[str, float]]:
    """Where one training step's time goes, by torch.profiler (CPU time, milliseconds): forward and backward
    of the encoder, of the decoder's embeddings and blocks, of the output layer (projection or adaptive
    softmax), and of the rest of the step (log-softmax and NLL gather, KL, criterion code), plus the Adam
    step; ``step_wall_ms`` is the profiled step's wall time, ``unattributed_ms`` what no category covers.

    Forward operations are attributed to the innermost module scope they ran in (forward hooks open a
    ``record_function`` per module); each backward node to the category of the forward operation that
    created it (matched by the autograd sequence number). After ``warmup`` unprofiled steps."""
    from collections import defaultdict

    from torch.profiler import ProfilerActivity, profile, record_function

    from user_dir.criterions.elbo import ElboCriterion, ElboCriterionConfig
    from user_dir.modules import adaptive_softmax_of

    criterion = ElboCriterion(task=None, cfg=ElboCriterionConfig())
    opt = make_optimizer(model, optimizer)
    decoder = model.decoder
    inner = getattr(decoder, "inner", decoder)
    output = adaptive_softmax_of(decoder) or next(
        getattr(inner, name) for name in ("output_proj", "fc_out") if getattr(inner, name, None) is not None)
    scopes = {"decoder (embeddings, blocks)": decoder, "output layer": output}
    if getattr(model, "encoder", None) is not None:
        scopes["encoder"] = model.encoder
    handles = []
    for name, module in scopes.items():
        def enter(mod, args, name=name):
            mod._profile_scope = record_function("scope::" + name)
            mod._profile_scope.__enter__()

        def leave(mod, args, out):
            mod._profile_scope.__exit__(None, None, None)

        handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]

    def step():
        with record_function("phase::forward"):
            loss, n, _ = criterion(model, sample)
        with record_function("phase::backward"):
            (loss / n).backward()
        with record_function("phase::optimizer"):
            opt.step()
            opt.zero_grad(set_to_none=True)

    model.train()
    try:
        for _ in range(warmup):
            step()
        start = time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        wall = time.perf_counter() - start
    finally:
        for handle in handles:
            handle.remove()
    events = prof.events()
    marks = [e for e in events if e.name.startswith("scope::")]
    phase = {e.name[len("phase::"):]: e for e in events if e.name.startswith("phase::")}
    rest = "log-softmax, NLL, KL, criterion"

    def category(event) -> str:
        inside = [m for m in marks if m.time_range.start <= event.time_range.start <= event.time_range.end
                  <= m.time_range.end]
        return max(inside, key=lambda m: m.time_range.start).name[len("scope::"):] if inside else rest

    forward, backward, of_sequence = defaultdict(float), defaultdict(float), {}
    fwd = phase["forward"].time_range
    for e in events:
        if e.name.startswith(("scope::", "phase::", "autograd::")) or not fwd.start <= e.time_range.start <= fwd.end:
            continue
        c = category(e)
        if e.sequence_nr >= 0:
            of_sequence.setdefault(e.sequence_nr, c)
        if e.cpu_parent is None or e.cpu_parent.name.startswith(("scope::", "phase::")):
            forward[c] += e.cpu_time_total / 1e3
    for e in events:
        if e.name.startswith("autograd::engine::evaluate_function"):
            backward[of_sequence.get(e.sequence_nr, rest)] += e.cpu_time_total / 1e3
    order = [name for name in ("encoder", "decoder (embeddings, blocks)", "output layer", rest)
             if name in forward or name in backward]
    table = {name: {"forward_ms": forward[name], "backward_ms": backward[name]} for name in order}
    optimizer_ms = phase["optimizer"].cpu_time_total / 1e3
    covered = sum(forward.values()) + sum(backward.values()) + optimizer_ms
    return {"categories": table, "optimizer_ms": optimizer_ms, "step_wall_ms": wall * 1e3,
            "unattributed_ms": wall * 1e3 - covered}


# --------------------------------------------------------------------------- generation


def _block_size(n: int) -> int:
    """The largest divisor of n not above sqrt(n) (1 for a prime n)."""
    for b in range(int(math.isqrt(n)), 0, -1):
        if n % b == 0:
            return b
    return 1


def sample_categorical(logits, generator):
    """One draw per row from softmax(logits) by inverting the CDF with one uniform per row.

    Two levels, so that no length-V sequential scan is needed: the CDF over blocks of about
    sqrt(V) entries picks a block, the CDF inside that block picks the entry (exact up to
    rounding, like any CDF sampler). ``torch.multinomial`` draws an exponential per entry and a
    full cumsum is a sequential scan: either costs more than an incremental decoder step at
    batch 32. Returns (indices (B,), log-probabilities (B,)).
    """
    bsz, vocab = logits.shape
    block = _block_size(vocab)
    top = logits.amax(dim=-1, keepdim=True)
    weights = (logits - top).exp_().view(bsz, vocab // block, block)  # unnormalised probabilities
    block_cdf = weights.sum(-1).cumsum_(-1)  # (B, blocks)
    total = block_cdf[:, -1:]
    u = torch.rand(bsz, 1, generator=generator, dtype=weights.dtype) * total
    blk = torch.searchsorted(block_cdf, u).clamp_(max=block_cdf.size(1) - 1)  # (B, 1)
    before = torch.where(blk > 0, block_cdf.gather(1, (blk - 1).clamp(min=0)), torch.zeros_like(u))
    inner = weights.gather(1, blk.unsqueeze(-1).expand(bsz, 1, block))[:, 0].cumsum_(-1) + before
    idx = blk * block + torch.searchsorted(inner, u).clamp_(max=block - 1)
    return idx[:, 0], (logits.gather(1, idx) - top - total.log())[:, 0]


@torch.inference_mode()
def sample_documents(model, bsz: int, length: int, incremental: bool, seed: int = 0):
    """Ancestral sampling of ``length`` tokens for ``bsz`` documents from a model's decoder,
    starting from ``</s>`` (EOS is not treated specially: every document gets ``length`` tokens).

    A VAE decodes from z ~ p(z) = N(0, I). ``incremental``: one position per step with the
    decoder's incremental state (fairseq's ``incremental_state``); otherwise the whole prefix
    is recomputed at every step and only its last position goes through the output layer
    (``output_layer``: the cheaper baseline; fairseq would score every position).
    Returns (tokens (bsz, length), log-probabilities of the sampled tokens (bsz, length), decoder
    keyword arguments (the latent z of a VAE)).
    """
    from user_dir.models.components import LatentVariableModel

    decoder = model.decoder
    gen = torch.Generator().manual_seed(seed)
    kwargs = {}
    if isinstance(model, LatentVariableModel):
        kwargs["latent"] = torch.randn(bsz, model.cfg.latent_dim, generator=gen)
    tokens = torch.full((bsz, length + 1), decoder.dictionary.eos(), dtype=torch.long)
    chosen = torch.empty(bsz, length)
    state: Optional[dict] = {} if incremental else None
    for t in range(length):
        prefix = tokens[:, : t + 1]
        if incremental:  # as fairseq's SequenceGenerator calls it
            logits = decoder(prefix, incremental_state=state, **kwargs)[0]
        else:
            feats, _ = decoder(prefix, features_only=True, **kwargs)
            logits = decoder.output_layer(feats[:, -1:])
        nxt, logprob = sample_categorical(logits[:, -1].float(), gen)
        tokens[:, t + 1] = nxt
        chosen[:, t] = logprob
    return tokens[:, 1:], chosen, kwargs


@torch.inference_mode()
def score_documents(model, tokens, **kwargs):
    """log p(token_t | tokens_<t) of given documents (B, L) in one full forward pass, teacher forced."""
    decoder = model.decoder
    prefix = torch.cat([tokens.new_full((tokens.size(0), 1), decoder.dictionary.eos()), tokens[:, :-1]], dim=1)
    logits = decoder(prefix, **kwargs)[0]
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, tokens.unsqueeze(-1))[..., 0]


def generation_speed(model, bsz: int, length: int, repeats: int = 1, seed: int = 0) -> Dict[str, object]:
    """tokens/s of incremental and full-recompute sampling (same seed), their ratio, and whether
    both produced the same documents (max abs difference of the sampled tokens' log-probs)."""
    model.eval()
    out = {}
    results = {}
    best = {"incremental": math.inf, "full": math.inf}
    for _ in range(repeats):  # the two modes alternate, best time of each
        for mode in best:
            start = time.perf_counter()
            results[mode] = sample_documents(model, bsz, length, incremental=(mode == "incremental"), seed=seed)
            best[mode] = min(best[mode], time.perf_counter() - start)
    for mode, seconds in best.items():
        out[f"{mode}_s"] = seconds
        out[f"{mode}_tokens_per_s"] = bsz * length / seconds
    out["speedup"] = out["full_s"] / out["incremental_s"]
    # Same numbers? The incremental run's per-step log-probabilities against one teacher-forced full
    # forward pass over the documents it sampled (exact comparison whatever was sampled), and whether
    # the two independent sampling runs drew the same documents (they can part ways when a uniform
    # draw falls within rounding error of a CDF bin edge; from then on the prefixes differ).
    tokens, logprobs, kwargs = results["incremental"]
    out["max_abs_diff_logprob"] = float((score_documents(model, tokens, **kwargs) - logprobs).abs().max())
    out["same_tokens"] = torch.equal(tokens, results["full"][0])
    return out


# --------------------------------------------------------------------------- evaluation


def iw_eval_speed(model, sample, num_samples: int, chunk_sizes: List[int], seed: int = 0) -> Dict[str, object]:
    """documents/s of ``importance_weighted_bound`` with each chunk size (same seed, hence the same
    z samples), and the max abs difference of the bounds between chunk sizes."""
    model.eval()
    src = sample["net_input"]["src_tokens"]
    lengths = sample["net_input"]["src_lengths"]
    target = sample["target"]
    out, bounds = {}, {}
    for chunk in chunk_sizes:
        torch.manual_seed(seed)
        start = time.perf_counter()
        with torch.no_grad():
            bounds[chunk] = model.importance_weighted_bound(src, lengths, target, num_samples=num_samples,
                                                            chunk_size=chunk)
        elapsed = time.perf_counter() - start
        out[f"chunk{chunk}_s"] = elapsed
        out[f"chunk{chunk}_docs_per_s"] = src.size(0) / elapsed
    ref = bounds[chunk_sizes[0]]
    out["max_abs_diff"] = max(float((b - ref).abs().max()) for b in bounds.values())
    out["mean_bound_nats"] = float(ref.mean())
    return out


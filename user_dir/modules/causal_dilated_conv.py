"""Causal dilated 1-D convolution with an incremental-decoding cache."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from fairseq.incremental_decoding_utils import with_incremental_state
from torch import Tensor, nn


def _tap_weight(weight: Tensor, j: int, in_channels: int) -> Tensor:
    """(C_out, C_in) block of tap j (a strided view; BLAS reads it in place)."""
    return weight[:, j * in_channels:(j + 1) * in_channels]


def shifted_taps_matmul(x: Tensor, weight: Tensor, bias: Optional[Tensor], row_shifts: List[int]) -> Tensor:
    """``y[r] = b + sum_j x[r - s_j] W_j^T`` over the rows of a 2-D time-major input.

    x: (N, C_in) with N = T * B rows ordered time-major (row = t * B + b), so a shift of
    s time steps is a shift of s * B rows and every tap is a contiguous row block of x.
    weight: (C_out, k * C_in), tap j = weight[:, j*C_in:(j+1)*C_in]; ``row_shifts[j]`` is the
    row shift of tap j (0 for the last tap). Rows shifted in from before the start are the
    causal zero padding: they are skipped, not multiplied. One GEMM per tap, accumulated
    in place (no padded copy, no gathered (N, k * C_in) tensor).
    """
    n, c_in = x.shape
    k = len(row_shifts)
    out = None
    for j in sorted(range(k), key=lambda i: row_shifts[i]):  # the unshifted tap first: it covers all rows
        shift = row_shifts[j]
        w = _tap_weight(weight, j, c_in).t()
        if out is None:
            if shift != 0:
                raise ValueError("one tap must have shift 0")
            out = torch.addmm(bias, x, w) if bias is not None else torch.mm(x, w)
        elif shift < n:
            out[shift:].addmm_(x[: n - shift], w)
    return out


def autocast_dtype(device_type: str) -> Optional[torch.dtype]:
    """The dtype autocast runs matmuls in on ``device_type``, or None when autocast is off there."""
    try:
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
        return None
    except TypeError:  # torch < 2.4: per-device functions
        if device_type == "cpu":
            return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
        return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None


class _ShiftedTapsMatmul(torch.autograd.Function):
    """Autograd for ``shifted_taps_matmul``; the backward is again one GEMM per tap:
    dX[r - s_j] += dY[r] W_j, dW_j = dY[s_j:]^T X[:N - s_j], db = sum_r dY[r]."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, row_shifts: List[int]) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.row_shifts = row_shifts
        return shifted_taps_matmul(x, weight, bias, row_shifts)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        shifts = ctx.row_shifts
        n, c_in = x.shape
        grad = grad.contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            for j in sorted(range(len(shifts)), key=lambda i: shifts[i]):
                s, w = shifts[j], _tap_weight(weight, j, c_in)
                if grad_x is None:
                    grad_x = grad.mm(w)
                elif s < n:
                    grad_x[: n - s].addmm_(grad[s:], w)
        if ctx.needs_input_grad[1]:
            grad_w = torch.empty_like(weight)
            for j, s in enumerate(shifts):
                block = _tap_weight(grad_w, j, c_in)
                if s < n:
                    block.addmm_(grad[s:].t(), x[: n - s], beta=0)  # beta=0: the empty memory is ignored
                else:
                    block.zero_()
        if ctx.needs_input_grad[2]:
            grad_b = grad.sum(0)
        return grad_x, grad_w, grad_b, None


@with_incremental_state
class CausalDilatedConv1d(nn.Module):
    """y_t = b + sum_{j=0}^{k-1} W_j x_{t-(k-1-j)d}   (Yang et al. 2017, Sec. 2.3).

    Causality: x_{<0} are zeros (left padding by (k-1)*d), so y_t never sees x_{>t}.
    ``forward`` takes batch-major ``(B, T, C)``; ``forward_time_major`` takes ``(T, B, C)``,
    the layout the decoder keeps internally.

    Weights: one ``proj = nn.Linear(k*C_in, C_out)`` whose column block j is the tap
    applied to x_{t-(k-1-j)d} (the checkpoint format). A full sequence is computed in
    time-major layout as one GEMM per tap on shifted row blocks of the input, accumulated
    in place (``shifted_taps_matmul``, with its own backward): no padded copy of the input,
    no gathered (T, B, k*C_in) tensor, and the padding rows are never multiplied.

    Incremental decoding keeps the last (k-1)*d inputs per layer in ``incremental_state``
    (a ring buffer ``(ctx, B, C_in)``, see ``step``), so each new step costs O(1) in the
    generated length: the k taps of the new position are gathered and multiplied by
    ``proj`` in one GEMM.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int):
        super().__init__()
        if kernel_size < 1 or dilation < 1:
            raise ValueError(f"kernel_size and dilation must be >= 1, got {kernel_size}, {dilation}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.context = (kernel_size - 1) * dilation
        # weight[:, j*C_in:(j+1)*C_in] is the tap applied to x_{t-(k-1-j)d}
        self.proj = nn.Linear(kernel_size * in_channels, out_channels)

    def forward(
        self,
        x: Tensor,
        incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None,
    ) -> Tensor:
        """x: (B, T, C_in) -> (B, T, C_out)."""
        y = self.forward_time_major(x.transpose(0, 1), incremental_state)
        return y.transpose(0, 1)

    def reference_forward(self, x: Tensor) -> Tensor:
        """The same convolution with ``torch.nn.functional.conv1d`` (left padding (k-1)*d, dilation d):
        x (B, T, C_in) -> (B, T, C_out). Slow; the fused path is tested against it."""
        weight = self.proj.weight.view(self.out_channels, self.kernel_size, self.in_channels).transpose(1, 2)
        y = F.conv1d(F.pad(x.transpose(1, 2), (self.context, 0)), weight, self.proj.bias, dilation=self.dilation)
        return y.transpose(1, 2)

    def forward_time_major(
        self,
        x: Tensor,
        incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None,
    ) -> Tensor:
        """x: (T, B, C_in) -> (T, B, C_out)."""
        if incremental_state is not None and self.context > 0:
            return self._incremental(x, incremental_state)
        T, B, _ = x.shape
        return self.forward_rows(x.reshape(T * B, self.in_channels), B).view(T, B, -1)

    def forward_rows(self, x: Tensor, batch_size: int) -> Tensor:
        """Full sequences as time-major rows: x (T * B, C_in), row t * B + b -> (T * B, C_out)."""
        if self.context == 0:
            return self.proj(x)
        shifts = [(self.kernel_size - 1 - j) * self.dilation * batch_size for j in range(self.kernel_size)]
        weight, bias = self.proj.weight, self.proj.bias
        dtype = autocast_dtype(x.device.type)
        if dtype is not None:
            # Under autocast (--amp, torch.autocast) the taps run in the autocast dtype, as the
            # Linear they replace would; the casts stay outside, so gradients reach fp32 weights.
            x, weight, bias = x.to(dtype), weight.to(dtype), (bias.to(dtype) if bias is not None else None)
            with torch.autocast(device_type=x.device.type, enabled=False):
                return self._taps(x, weight, bias, shifts)
        return self._taps(x, weight, bias, shifts)

    @staticmethod
    def _taps(x: Tensor, weight: Tensor, bias: Optional[Tensor], shifts: List[int]) -> Tensor:
        if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
            return _ShiftedTapsMatmul.apply(x, weight, bias, shifts)
        return shifted_taps_matmul(x, weight, bias, shifts)

    def _incremental(self, x: Tensor, incremental_state) -> Tensor:
        """x: (T, B, C_in) new positions -> (T, B, C_out), one position at a time."""
        if x.size(0) == 1:
            return self.step(x[0], incremental_state).unsqueeze(0)
        return torch.stack([self.step(x_t, incremental_state) for x_t in x.unbind(0)])

    def step(self, x: Tensor, incremental_state, weight_t: Optional[Tensor] = None) -> Tensor:
        """One new position x_t: (B, C_in) -> y_t (B, C_out).

        The cache is a ring buffer of the last (k-1)*d inputs, ``(ctx, B, C_in)``
        (zeros before the start: the causal padding), with the position of the next write;
        x_{t-s} sits in row (t - s) mod ctx. Cost per step: one row written, k rows
        gathered, one (B, k*C_in) x (k*C_in, C_out) GEMM, whatever the length so far.
        ``weight_t``: optionally a contiguous copy of ``proj.weight.t()`` (see
        ``DilatedCNNDecoder.step_weights``), the same numbers in a faster layout.
        """
        w_t = self.proj.weight.t() if weight_t is None else weight_t
        if self.context == 0:
            return torch.addmm(self.proj.bias, x, w_t)
        cache = self.get_incremental_state(incremental_state, "inputs")
        if cache is None or cache.get("inputs") is None:
            buffer = x.new_zeros(self.context, x.size(0), x.size(1))
            pos = 0
        else:
            buffer, pos = cache["inputs"], cache["pos"]
        taps = [buffer[(pos - (self.kernel_size - 1 - j) * self.dilation) % self.context]
                for j in range(self.kernel_size - 1)]
        taps.append(x)
        y = torch.addmm(self.proj.bias, torch.cat(taps, dim=-1), w_t)
        buffer[pos % self.context] = x
        self.set_incremental_state(incremental_state, "inputs", {"inputs": buffer, "pos": pos + 1})
        return y

    def reorder_incremental_state(
        self,
        incremental_state: Dict[str, Dict[str, Optional[Tensor]]],
        new_order: Tensor,
    ):
        cache = self.get_incremental_state(incremental_state, "inputs")
        if cache is not None and cache.get("inputs") is not None:
            cache = {"inputs": cache["inputs"].index_select(1, new_order), "pos": cache["pos"]}
            self.set_incremental_state(incremental_state, "inputs", cache)

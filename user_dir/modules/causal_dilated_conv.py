"""Causal dilated 1-D convolution with an incremental-decoding cache."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from fairseq.incremental_decoding_utils import with_incremental_state
from torch import Tensor, nn


@with_incremental_state
class CausalDilatedConv1d(nn.Module):
    """y_t = b + sum_{j=0}^{k-1} W_j x_{t-(k-1-j)d}   (Yang et al. 2017, Sec. 2.3).

    Causality comes from left padding the input with (k-1)*d zeros, so y_t never
    sees x_{>t}. Inputs and outputs are batch-major ``(B, T, C)``.

    The k taps are gathered into one ``(B, T, k*C_in)`` tensor and multiplied by a
    single ``(k*C_in, C_out)`` matrix: one large GEMM, the same code path for the
    full forward pass and for incremental decoding.

    Incremental decoding keeps the last (k-1)*d inputs per layer in
    ``incremental_state``, so each new step costs O(1) in the generated length.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int):
        super().__init__()
        if kernel_size < 1 or dilation < 1:
            raise ValueError(f"kernel_size and dilation must be >= 1, got {kernel_size}, {dilation}")
        self.in_channels = in_channels
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
        if self.context == 0:
            return self.proj(x)
        if incremental_state is None:
            padded = F.pad(x, (0, 0, self.context, 0))
        else:
            cache = self.get_incremental_state(incremental_state, "inputs")
            past = cache["inputs"] if cache is not None else None
            if past is None:
                past = x.new_zeros(x.size(0), self.context, x.size(2))
            padded = torch.cat([past, x], dim=1)
            self.set_incremental_state(incremental_state, "inputs", {"inputs": padded[:, -self.context:]})
        T = x.size(1)
        taps = [padded[:, j * self.dilation: j * self.dilation + T] for j in range(self.kernel_size)]
        return self.proj(torch.cat(taps, dim=-1))

    def reorder_incremental_state(
        self,
        incremental_state: Dict[str, Dict[str, Optional[Tensor]]],
        new_order: Tensor,
    ):
        cache = self.get_incremental_state(incremental_state, "inputs")
        if cache is not None and cache["inputs"] is not None:
            cache["inputs"] = cache["inputs"].index_select(0, new_order)
            self.set_incremental_state(incremental_state, "inputs", cache)

"""Mixed precision for the learner: bf16 autocast where the hardware has bf16 arithmetic.

Only the arithmetic of forward passes (and so of their backward passes) runs in bfloat16: the
weights, their gradients and the optimiser state stay float32 (autocast casts a float32 weight to
bf16 for each matmul or convolution, and the gradient flows back to the float32 master weight).
Network heads cast their outputs back to float32, so losses, log-probabilities and the exported
model are float32 exactly as without autocast.

`precision` names: "auto" (bf16 on a CUDA GPU that supports it or on a CPU with native bf16
instructions, float32 otherwise), "bf16" (bf16 wherever torch can run it, even emulated), "fp32".
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

PRECISIONS = ("auto", "bf16", "fp32")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
"""/proc/cpuinfo flags of x86 CPUs that do bf16 dot products in hardware."""


class PrecisionError(ValueError):
    """An unknown precision name."""


@functools.cache
def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when the CPU lists a bf16 dot-product instruction set (avx512_bf16 or amx_bf16).

    Elsewhere (no /proc/cpuinfo, other architectures) False: bf16 would be emulated and slower."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return any(f in flags for f in CPU_BF16_FLAGS)
    return False


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device` (None: plain float32)."""
    if precision not in PRECISIONS:
        raise PrecisionError(f"precision {precision!r} must be one of {PRECISIONS}")
    if precision == "fp32":
        return None
    if device.type == "cuda":
        if precision == "bf16" or torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None
    if device.type == "cpu" and (precision == "bf16" or cpu_has_native_bf16()):
        return torch.bfloat16
    return None


def precision_name(dtype: torch.dtype | None) -> str:
    """'bf16' or 'fp32', as reports print it."""
    return "bf16" if dtype == torch.bfloat16 else "fp32"


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """torch.autocast for `device` in `dtype`, or nothing when `dtype` is None."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield

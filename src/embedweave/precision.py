"""Which reduced-precision arithmetic a device runs, and where it is the faster choice."""

from __future__ import annotations

import functools
import os
import time
from typing import Any, Literal

Precision = Literal["auto", "fp32", "bf16"]


def _device(device: Any) -> Any:
    import torch

    return torch.device(device) if not isinstance(device, torch.device) else device


def bf16_supported(device: Any) -> bool:
    """Whether ``device`` has bf16 arithmetic in hardware (CUDA with bf16; CPUs with
    AVX512-BF16 or AMX), so ``precision="bf16"`` runs without emulation."""
    import torch

    dev = _device(device)
    if dev.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if dev.type == "cpu":
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def _cpu_has_amx() -> bool:
    """AMX tiles (Intel Sapphire Rapids and later): bf16 matmuls in hardware tiles."""
    import torch

    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if probe is not None:
        return bool(probe())
    try:  # older torch: the kernel's flags
        with open("/proc/cpuinfo") as fh:
            return "amx_bf16" in fh.read()
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def _cpu_bf16_faster() -> bool:
    """Whether a transformer-sized bf16 matmul beats fp32 on this CPU (timed once).

    AVX512-BF16 without AMX differs by CPU: 2.3x faster than fp32 for the reranker on
    a 2-core AMD EPYC, 0.7x for MiniLM encoding on a 2-core Intel Xeon without AMX),
    so flags alone cannot tell; a probe of a fraction of a second can.
    """
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 384, generator=gen)
    w = torch.randn(1536, 384, generator=gen)

    def best(bf16: bool) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                for _ in range(3):
                    F.linear(x, w)
            times.append(time.perf_counter() - start)
        return min(times)

    best(True), best(False)  # warm-up (kernel selection)
    return best(True) < 0.8 * best(False)


def bf16_native(device: Any) -> bool:
    """Whether bf16 autocast is the faster choice on ``device`` (what ``auto`` picks).

    CUDA with bf16; CPUs with AMX; CPUs with AVX512-BF16 where a short probe shows bf16
    matmuls beating fp32 (``_cpu_bf16_faster``). There bf16 runs transformers 2.3-2.7x
    faster with the same rankings; where it is slower or emulated, fp32.
    ``EMBEDWEAVE_CPU_BF16=1`` / ``0`` overrides the CPU decision (it must have bf16).
    """
    dev = _device(device)
    if not bf16_supported(dev):
        return False
    if dev.type == "cuda":
        return True
    forced = os.environ.get("EMBEDWEAVE_CPU_BF16", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return dev.type == "cpu" and (_cpu_has_amx() or _cpu_bf16_faster())


def use_bf16(precision: str, device: Any) -> bool:
    """Resolve a ``precision`` setting for ``device``: ``auto`` = bf16 where it is faster.

    Raises:
        ValueError: on an unknown setting, or ``bf16`` on a device without bf16 hardware.
    """
    if precision == "fp32":
        return False
    if precision == "auto":
        return bf16_native(device)
    if precision == "bf16":
        if not bf16_supported(device):
            raise ValueError(f"precision='bf16' but {device} has no native bf16; use 'auto'")
        return True
    raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")

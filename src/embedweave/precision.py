"""Which reduced-precision arithmetic a device runs, and where it is the faster choice."""

from __future__ import annotations

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
    """AMX tiles (Sapphire Rapids and later): what makes bf16 matmuls fast on a CPU."""
    import torch

    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if probe is not None:
        return bool(probe())
    try:  # older torch: the kernel's flags
        with open("/proc/cpuinfo") as fh:
            return "amx_bf16" in fh.read()
    except OSError:
        return False


def bf16_native(device: Any) -> bool:
    """Whether bf16 autocast is the faster choice on ``device`` (what ``auto`` picks).

    CUDA with bf16, and CPUs with AMX: there bf16 autocast runs transformers about
    2.3-2.7x faster than fp32 (``benchmarks/rerank_scifact.py --compare-precision``).
    A CPU with AVX512-BF16 but no AMX runs bf16, yet slower than fp32 (MiniLM encoding
    at 0.7x measured on such a 2-core CPU), so ``auto`` keeps fp32 there; elsewhere
    bf16 is emulated.
    """
    dev = _device(device)
    if not bf16_supported(dev):
        return False
    return dev.type == "cuda" or (dev.type == "cpu" and _cpu_has_amx())


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

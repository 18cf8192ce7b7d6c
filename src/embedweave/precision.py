"""Which reduced-precision arithmetic a device runs natively."""

from __future__ import annotations

from typing import Any, Literal

Precision = Literal["auto", "fp32", "bf16"]


def bf16_native(device: Any) -> bool:
    """Whether ``device`` runs bf16 natively (CUDA with bf16, CPUs with AVX512-BF16/AMX).

    There bf16 autocast is much faster than fp32 for transformers (2.3x for the reranker
    on this project's 2-core AVX512-BF16 CPU, ``benchmarks/rerank_scifact.py
    --compare-precision``); elsewhere it is emulated and slower, so callers use fp32.
    """
    import torch

    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if dev.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if dev.type == "cpu":
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def use_bf16(precision: str, device: Any) -> bool:
    """Resolve a ``precision`` setting for ``device``: ``auto`` = bf16 where native.

    Raises:
        ValueError: on an unknown setting, or ``bf16`` on a device without it.
    """
    if precision == "fp32":
        return False
    if precision == "auto":
        return bf16_native(device)
    if precision == "bf16":
        if not bf16_native(device):
            raise ValueError(f"precision='bf16' but {device} has no native bf16; use 'auto'")
        return True
    raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")

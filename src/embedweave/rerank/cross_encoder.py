"""Local cross-encoder scoring with sentence-transformers."""

from __future__ import annotations

import asyncio
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embedweave.backends import pick_device, preferred_runtime
from embedweave.errors import ModelNotAvailableError
from embedweave.precision import Precision, use_bf16
from embedweave.rerank.named import DEFAULT_RERANKER, NAMED_RERANKERS, resolve_named

CrossEncoderRuntime = Literal["torch", "openvino"]
"""What runs the cross-encoder: PyTorch, or OpenVINO's CPU plugin."""


def resolve_runtime(runtime: CrossEncoderRuntime | None, device: str | None) -> CrossEncoderRuntime:
    """The runtime asked for, checked; ``None``: ``$EMBEDWEAVE_RUNTIME`` where the
    cross-encoder runs on the CPU (the variable is a machine-wide preference, so a GPU
    keeps PyTorch), else PyTorch."""
    if runtime is None:
        return preferred_runtime() if pick_device(device) == "cpu" else "torch"
    if runtime not in ("torch", "openvino"):
        raise ValueError(f"runtime must be 'torch' or 'openvino', got {runtime!r}")
    return runtime


class TruncationWarning(UserWarning):
    """Some inputs were longer than the model's token limit and were cut."""


class CrossEncoderScorer:
    """Scores (query, text) pairs with a sentence-transformers ``CrossEncoder``.

    Args:
        model: Local folder, Hugging Face id, or the name of a reranker built here
            (``scifact-minilm``, see ``embedweave.rerank.named``); ``None`` = the general
            ``cross-encoder/ms-marco-MiniLM-L6-v2``.
        batch_size: Pairs per forward pass.
        max_length: Token limit of a pair, capped at the model's own limit (its tokenizer's
            ``model_max_length``: a model trained on shorter pairs is used at that length);
            longer pairs are cut from the text's end and counted in a ``TruncationWarning``.
        device: Torch device; ``None`` lets sentence-transformers pick (CUDA when present).
        normalize: Map logits to (0, 1) with a sigmoid; raw logits otherwise.
        precision: ``auto`` runs bf16 autocast where it beats fp32 on the device (CUDA;
            CPUs with AMX or a fast AVX512-BF16: ~2.3x), else fp32; ``fp32`` forces
            full precision; ``bf16`` requires bf16 hardware.
        runtime: ``torch``, or ``openvino`` (CPU only, ``pip install
            'embedweave[openvino]'``): the model converted once to OpenVINO IR (cached)
            and run by OpenVINO's CPU plugin, which fuses the layers PyTorch runs one by
            one; the same tokenisation, truncation and scores (sigmoid or logits).
            ``None``: ``$EMBEDWEAVE_RUNTIME`` on the CPU, PyTorch on other devices.

    Raises:
        ModelNotAvailableError: when the model cannot be loaded (e.g. an HF id offline).
        ValueError: when the model does not output exactly one score per pair,
            ``max_length`` exceeds its position embeddings, or ``runtime='openvino'`` is
            asked of a device other than the CPU or a model it cannot run.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        batch_size: int,
        max_length: int,
        device: str | None,
        normalize: bool,
        precision: Precision = "auto",
        runtime: CrossEncoderRuntime | None = None,
    ) -> None:
        from sentence_transformers import CrossEncoder

        runtime = resolve_runtime(runtime, device)
        if runtime == "openvino":
            if device not in (None, "cpu"):
                raise ValueError(f"runtime='openvino' runs on the CPU, not {device!r}")
            from embedweave.backends.openvino_ir import openvino

            openvino()  # the install hint before the model loads
            device = "cpu"
        source = _resolve_source(model)
        try:
            self.model = CrossEncoder(source, device=device)
        except OSError as exc:
            raise ModelNotAvailableError(
                f"cross-encoder {source!r} could not be loaded ({exc}). Without Hugging Face "
                "access pass a local folder, or a reranker built here: "
                f"{_named_hint()}"
            ) from exc
        if self.model.num_labels != 1:
            raise ValueError(
                f"{source!r} outputs {self.model.num_labels} scores per pair; a reranker "
                "must output one (num_labels=1)"
            )
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if isinstance(limit, int) and max_length > limit:
            raise ValueError(
                f"max_length={max_length} exceeds {source!r}'s {limit} position embeddings"
            )
        own = self.model.max_seq_length
        self.max_length = min(max_length, own) if own else max_length
        self.model.max_seq_length = self.max_length
        self.name = source
        self.bf16 = use_bf16(precision, self.model.device)
        self.precision = "bf16" if self.bf16 else "fp32"
        self.batch_size = batch_size
        self.normalize = normalize
        self.runtime: CrossEncoderRuntime = runtime
        self._ov: Any = None
        if runtime == "openvino":
            from embedweave.rerank.openvino import OpenVINOCrossEncoder

            self._ov = OpenVINOCrossEncoder(self.model, source, self.max_length)
        # HF fast tokenizers raise "Already borrowed" when one instance is used from two
        # threads at once (arerank runs in worker threads); the forward pass is CPU/GPU
        # bound anyway, so calls are serialised.
        self._lock = threading.Lock()

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """One relevance score per text, in input order (float64)."""
        import torch

        if not texts:
            return np.zeros(0)
        activation = torch.nn.Sigmoid() if self.normalize else torch.nn.Identity()
        with self._lock:
            self._warn_truncated(query, texts)
            if self._ov is not None:
                pairs = [(query, t) for t in texts]
                scores = self._ov.score(pairs, self.batch_size, self.bf16, self.normalize)
                return self._checked(scores, len(texts))
            with torch.autocast(self.model.device.type, dtype=torch.bfloat16,
                                enabled=self.bf16):
                scores = self.model.predict(
                    [(query, t) for t in texts],
                    batch_size=self.batch_size,
                    activation_fn=activation,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
        return self._checked(np.asarray(scores, dtype=np.float64).reshape(-1), len(texts))

    def _checked(self, out: np.ndarray, n: int) -> np.ndarray:
        """``out`` when it holds ``n`` finite scores, else an error naming the model."""
        if out.shape[0] != n or not np.all(np.isfinite(out)):
            raise ValueError(
                f"cross-encoder {self.name!r} returned {out.shape[0]} scores for {n} "
                f"texts, {int(np.sum(~np.isfinite(out)))} not finite"
            )
        return out

    async def ascore(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """``score`` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.score, query, texts)

    def _warn_truncated(self, query: str, texts: Sequence[str]) -> None:
        tok: Any = self.model.tokenizer
        lengths = [
            len(ids)
            for ids in tok([query] * len(texts), list(texts), truncation=False, verbose=False)[
                "input_ids"
            ]
        ]
        cut = sum(n > self.max_length for n in lengths)
        if cut:
            warnings.warn(
                f"{cut} of {len(texts)} (query, text) pairs exceed max_length={self.max_length} "
                f"tokens (longest {max(lengths)}); the reranker only saw their beginnings",
                TruncationWarning,
                stacklevel=4,
            )


def _named_hint() -> str:
    return "; ".join(f"Reranker({n!r}) after `{r.command}`" for n, r in NAMED_RERANKERS.items())


def _resolve_source(model: str | os.PathLike[str] | None) -> str:
    if model is None:
        return DEFAULT_RERANKER
    if isinstance(model, str) and model in NAMED_RERANKERS:
        return str(resolve_named(model))
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelNotAvailableError(f"reranker model path {path} is a file, not a folder")
        return str(path)
    if isinstance(model, os.PathLike) or str(model).startswith((".", "/", "~")):
        raise ModelNotAvailableError(f"reranker model folder {path} does not exist")
    return str(model)  # a Hugging Face id

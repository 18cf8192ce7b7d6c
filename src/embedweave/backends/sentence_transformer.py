"""sentence-transformers backend: model folders, hub models, and static-embedding weights.

``encode`` calls ``SentenceTransformer.encode`` directly with the caller's batch size,
so the wrapper costs next to nothing. Truncation is counted with a copy of the model's
Rust tokenizer (no truncation, no padding, one batched call), which is cheap beside a
transformer forward pass; models without a token window skip it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from embedweave.errors import ModelNotAvailableError
from embedweave.model_spec import ModelSpec


def _st_class() -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ModelNotAvailableError(
            "sentence-transformers is not installed: pip install sentence-transformers"
        ) from exc
    return SentenceTransformer


def build_static_model(weights_path: str, tokenizer_path: str, device: str = "cpu") -> Any:
    """A real ``SentenceTransformer`` whose only module is a ``StaticEmbedding``.

    Mean pooling of per-token vectors is exactly what WordLlama (and model2vec) compute,
    so raw token-embedding weights plus their tokenizer make a complete model.

    Args:
        weights_path: safetensors file with one (vocab, dims) matrix.
        tokenizer_path: ``tokenizers`` JSON file of the same vocabulary.
        device: Torch device.
    """
    from safetensors.numpy import load_file
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer

    tensors = load_file(weights_path)
    mats = [v for v in tensors.values() if v.ndim == 2]
    if len(mats) != 1:
        raise ModelNotAvailableError(
            f"{weights_path}: expected one 2-D embedding matrix, found {sorted(tensors)}"
        )
    weights = np.ascontiguousarray(mats[0], dtype=np.float32)
    tokenizer = Tokenizer.from_file(tokenizer_path)
    if tokenizer.get_vocab_size() > weights.shape[0]:
        raise ModelNotAvailableError(
            f"tokenizer {tokenizer_path} has {tokenizer.get_vocab_size()} tokens but the "
            f"weights {weights_path} only {weights.shape[0]} rows"
        )
    module = StaticEmbedding(tokenizer, embedding_weights=weights)
    return _st_class()(modules=[module], device=device)


def st_dims_by_loading(folder: Path) -> int:
    """Output dims of a model folder whose configs do not state them (loads it on CPU)."""
    model = _st_class()(str(folder), device="cpu", local_files_only=True)
    dims = model.get_embedding_dimension()
    if not dims:
        raise ModelNotAvailableError(f"cannot tell the output dimensions of the model in {folder}")
    return int(dims)


class SentenceTransformerBackend:
    """A loaded ``SentenceTransformer``.

    Args:
        model: The model.
        spec: Its spec.
        device: Torch device it sits on.
    """

    def __init__(self, model: Any, spec: ModelSpec, device: str) -> None:
        self.model = model
        self.spec = spec
        self.device = device
        window = model.max_seq_length
        self.max_seq_length: int | None = (
            int(window) if window is not None and not math.isinf(window) else None
        )
        self._len_tokenizer = _length_tokenizer(model) if self.max_seq_length else None

    @classmethod
    def load(
        cls, spec: ModelSpec, device: str, *, fp16: bool = False, trust_remote_code: bool = False
    ) -> SentenceTransformerBackend:
        """Load from the spec's folder (or static weights file) onto ``device``."""
        if spec.tokenizer_path:
            model = build_static_model(spec.path, spec.tokenizer_path, device=device)
        else:
            model = _st_class()(
                spec.path,
                device=device,
                local_files_only=True,
                trust_remote_code=trust_remote_code,
            )
        if fp16:
            model.half()
        return cls(model, spec, device)

    def encode(
        self,
        texts: list[str],
        *,
        prompt: str,
        batch_size: int,
        show_progress: bool,
        bf16: bool = False,
    ) -> np.ndarray:
        """``SentenceTransformer.encode`` with an explicit prompt (``""`` = none).

        ``bf16`` runs the forward pass under bf16 autocast (weights stay fp32); outputs
        are returned as float32 either way.
        """
        import torch

        with torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16,
                            enabled=bf16):
            out = self.model.encode(
                texts,
                prompt=prompt,  # explicit, so a saved default_prompt_name never sneaks in
                batch_size=batch_size,
                show_progress_bar=show_progress,
                convert_to_numpy=False,
                convert_to_tensor=True,
                normalize_embeddings=False,
            )
        return np.asarray(out.float().cpu().numpy(), dtype=np.float32)

    def too_long(self, texts: list[str], prompt: str) -> list[int]:
        """Indices of texts longer than the token window (special tokens included)."""
        limit = self.max_seq_length
        if limit is None:
            return []
        inputs = [prompt + t for t in texts] if prompt else texts
        if self._len_tokenizer is None:  # a slow (Python) tokenizer: ask it directly
            ids = self.model.tokenizer(inputs, add_special_tokens=True, truncation=False)
            return [i for i, row in enumerate(ids["input_ids"]) if len(row) > limit]
        encode = getattr(self._len_tokenizer, "encode_batch_fast", None)
        if encode is None:  # pragma: no cover - tokenizers < 0.21
            encode = self._len_tokenizer.encode_batch
        return [i for i, enc in enumerate(encode(inputs)) if len(enc) > limit]


def _length_tokenizer(model: Any) -> Any:
    """A private copy of the model's Rust tokenizer with truncation and padding off.

    The model's own tokenizer carries the truncation settings of its last call, so its
    lengths would be capped at the window we want to detect overflow of.
    """
    from tokenizers import Tokenizer

    tok = getattr(model, "tokenizer", None)
    rust = getattr(tok, "backend_tokenizer", None) or getattr(tok, "_tokenizer", None)
    if rust is None and isinstance(tok, Tokenizer):
        rust = tok
    if rust is None:
        return None
    copy = Tokenizer.from_str(rust.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy

"""Model runtimes behind one small interface, so ``Embedder`` treats every model alike.

``load_backend(spec, device)`` loads a resolved model once per process and device:
embedders of the same model (e.g. at different Matryoshka dims) share its weights.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from embedweave.model_spec import ST_BACKEND, USE_BACKEND, ModelSpec


@runtime_checkable
class Backend(Protocol):
    """A loaded model.

    Attributes:
        spec: The resolved model.
        device: Where it runs (``cpu``, ``cuda``, ``cuda:1``, ``mps``).
        max_seq_length: Token window; ``None`` when inputs are never truncated.
    """

    spec: ModelSpec
    device: str
    max_seq_length: int | None

    def encode(
        self, texts: list[str], *, prompt: str, batch_size: int, show_progress: bool
    ) -> np.ndarray:
        """Embed texts (prompt prepended) -> float32 array (n, native dims), unnormalised."""
        ...

    def too_long(self, texts: list[str], prompt: str) -> list[int]:
        """Indices of texts whose prompt + text exceeds the token window."""
        ...


def pick_device(device: str | None = None) -> str:
    """The requested device, or the best available: cuda > mps > cpu."""
    if device:
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


Runtime = Literal["torch", "openvino"]
"""What runs a sentence-transformers model: PyTorch, or OpenVINO on CPU (``backends.openvino``)."""


def preferred_runtime() -> Runtime:
    """``$EMBEDWEAVE_RUNTIME``, the machine-wide runtime preference (``torch`` when unset).

    ``Embedder`` and ``Reranker`` apply it where no ``runtime=`` is given and it can run
    the model; a value other than ``torch`` or ``openvino`` is an error.
    """
    wanted = os.environ.get("EMBEDWEAVE_RUNTIME", "").strip().lower() or "torch"
    if wanted == "openvino":
        return "openvino"
    if wanted != "torch":
        raise ValueError(f"EMBEDWEAVE_RUNTIME must be 'torch' or 'openvino', got {wanted!r}")
    return "torch"

_LOADED: weakref.WeakValueDictionary[tuple[str, str, str, bool, str], Backend] = (
    weakref.WeakValueDictionary()
)
_LOCK = threading.Lock()


def load_backend(
    spec: ModelSpec,
    device: str | None = None,
    *,
    fp16: bool | None = None,
    trust_remote_code: bool = False,
    runtime: Runtime = "torch",
) -> Backend:
    """Load a model, reusing one already loaded in this process for the same device.

    Args:
        spec: From ``resolve_model``.
        device: ``None`` picks cuda > mps > cpu.
        fp16: Half precision weights; ``None`` means on CUDA only.
        trust_remote_code: Allow model code from the model folder (sentence-transformers).
        runtime: ``torch``, or ``openvino`` (sentence-transformers transformer models on
            CPU; ``device=None`` means CPU there).
    """
    if runtime not in ("torch", "openvino"):
        raise ValueError(f"runtime must be 'torch' or 'openvino', got {runtime!r}")
    if runtime == "openvino" and spec.backend != ST_BACKEND:
        raise ValueError(
            f"runtime='openvino' runs sentence-transformers models; {spec.name!r} does not "
            "(use runtime='torch')"
        )
    if spec.backend == USE_BACKEND:
        if device is not None and device != "cpu":
            raise ValueError(f"model {spec.name!r} runs on numpy (CPU) only, not {device!r}")
        dev, half = "cpu", False
    else:
        dev = pick_device(device or ("cpu" if runtime == "openvino" else None))
        half = dev.startswith("cuda") if fp16 is None else bool(fp16)
    key = (spec.fingerprint, spec.path, dev, half, runtime)
    with _LOCK:
        found = _LOADED.get(key)
        if found is not None:
            return found
        backend: Backend
        if spec.backend == ST_BACKEND and runtime == "openvino":
            from embedweave.backends.openvino import OpenVINOBackend

            backend = OpenVINOBackend.load(
                spec, dev, fp16=half, trust_remote_code=trust_remote_code
            )
        elif spec.backend == ST_BACKEND:
            from embedweave.backends.sentence_transformer import SentenceTransformerBackend

            backend = SentenceTransformerBackend.load(
                spec, dev, fp16=half, trust_remote_code=trust_remote_code
            )
        elif spec.backend == USE_BACKEND:
            from embedweave.backends.use import USEBackend

            backend = USEBackend(spec)
        else:
            raise ValueError(f"model {spec.name!r} has unknown backend {spec.backend!r}")
        _LOADED[key] = backend
        return backend


__all__ = ["Backend", "Runtime", "load_backend", "pick_device"]

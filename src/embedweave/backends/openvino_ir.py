"""A Hugging Face module as OpenVINO IR: converted once, cached, compiled per precision.

Shared by the OpenVINO ``Embedder`` runtime (``backends.openvino``) and the OpenVINO
cross-encoder runtime (``rerank.openvino``). The IR is kept under the cache dir,
keyed by what the caller names (model, token window) and the openvino, torch and
transformers versions; its weights stay fp32 and the precision is chosen at compile time.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embedweave.errors import ModelNotAvailableError
from embedweave.paths import cache_dir

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'embedweave[openvino]'"


def openvino() -> Any:
    """The ``openvino`` package, or an error naming the install."""
    try:
        import openvino
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"runtime='openvino' needs the openvino package: {INSTALL_HINT}"
        ) from exc
    return openvino


def tracing_inputs(module: Any, features: dict[str, Any]) -> dict[str, Any]:
    """The tensors of ``features`` that ``module.forward`` takes: the example to trace with."""
    params = set(inspect.signature(module.forward).parameters)
    return {k: v for k, v in features.items() if k in params and hasattr(v, "shape")}


class OpenVINOModel:
    """One Hugging Face module as OpenVINO IR, compiled for the CPU on demand.

    Args:
        module: The PyTorch module (a transformers model) to convert.
        name: What errors call it (the model's name).
        key: What makes this IR differ from another one (model, path, token window).
        example: Tracing inputs; two lengths, so the traced graph is the padded one.

    Raises:
        ModelNotAvailableError: when openvino is missing or cannot convert the module.
    """

    def __init__(
        self, module: Any, *, name: str, key: Sequence[str], example: dict[str, Any]
    ) -> None:
        self._ov = openvino()
        self.name = name
        self._key = list(key)
        self.ir = self._load(module, example)
        self.input_names: list[str] = [port.get_any_name() for port in self.ir.inputs]
        self._compiled: dict[tuple[bool, bool], Any] = {}
        self._lock = threading.Lock()

    def folder(self) -> Path:
        """Where this IR is cached."""
        import torch
        import transformers

        key = "|".join([
            *self._key, self._ov.__version__, torch.__version__, transformers.__version__,
        ])  # fmt: skip
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return cache_dir() / "openvino" / digest

    def compiled(self, bf16: bool, many: bool) -> Any:
        """Compiled for one precision; ``many``: throughput streams, else one latency stream."""
        key = (bf16, many)
        with self._lock:
            found = self._compiled.get(key)
            if found is None:
                try:
                    found = self._ov.Core().compile_model(self.ir, "CPU", {
                        "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
                        "PERFORMANCE_HINT": "THROUGHPUT" if many else "LATENCY",
                    })  # fmt: skip
                except RuntimeError as exc:
                    raise ModelNotAvailableError(
                        f"OpenVINO could not compile {self.name!r} for "
                        f"{'bf16' if bf16 else 'fp32'} on this CPU: {exc}"
                    ) from exc
                self._compiled[key] = found
            return found

    def _load(self, module: Any, example: dict[str, Any]) -> Any:
        """Read from the cache dir, or convert and save (atomically: a rename)."""
        core = self._ov.Core()
        folder = self.folder()
        xml = folder / "model.xml"
        if xml.is_file():
            try:
                return core.read_model(str(xml))
            except Exception as exc:  # a damaged cache entry: convert it again
                logger.warning("OpenVINO IR in %s unreadable (%s); converting again", folder, exc)
                shutil.rmtree(folder, ignore_errors=True)
        import torch

        try:
            with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                # tracing notes about branches fixed at trace time: for encoders these are
                # the causal and extra-padding checks, False for every input
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                for note in (r".*torch\.jit\.trace", r".*is_gradient_checkpointing"):
                    warnings.filterwarnings("ignore", message=note, category=FutureWarning)
                ir = self._ov.convert_model(module, example_input=example)
        except Exception as exc:
            raise ModelNotAvailableError(
                f"OpenVINO could not convert {self.name!r}: {exc} (use runtime='torch')"
            ) from exc
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        try:  # weights stay fp32: the precision is chosen when compiling
            self._ov.save_model(ir, str(tmp / "model.xml"), compress_to_fp16=False)
            os.replace(tmp, folder)
        except OSError:
            if not xml.is_file():  # not a concurrent writer that won the race
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        logger.info("converted %s to OpenVINO IR in %s", self.name, folder)
        return ir

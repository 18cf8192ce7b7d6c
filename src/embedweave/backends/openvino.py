"""OpenVINO runtime for sentence-transformers transformer models on CPU.

The transformer is converted once to OpenVINO IR (kept under the cache dir, keyed by
model and library versions) and run by OpenVINO's CPU plugin, which fuses the layers
that PyTorch runs one by one and, on CPUs with AMX or AVX512-BF16, runs them in bf16.
Everything around the transformer stays sentence-transformers' own code: its
tokenisation (prompt handling included), its length-sorted batching, and its pooling,
dense and normalise modules, so the vectors are those of the same model (cosine to
the PyTorch fp32 vectors measured in docs/embedding.md).

Batches run on a small pool of infer requests, one Python thread each: the next batch
is tokenised while the current one runs, and on several cores several batches run at
once.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import queue
import shutil
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from embedweave.backends.sentence_transformer import SentenceTransformerBackend
from embedweave.errors import ModelNotAvailableError
from embedweave.model_spec import ModelSpec
from embedweave.paths import cache_dir

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'embedweave[openvino]'"


def _openvino() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"runtime='openvino' needs the openvino package: {INSTALL_HINT}"
        ) from exc
    return openvino


def _transformer_module(model: Any, name: str) -> Any:
    """The model's first module when OpenVINO can stand in for it, else a clear error."""
    from sentence_transformers.base.modules import Transformer

    first = model[0] if len(model) else None
    if not isinstance(first, Transformer):
        raise ValueError(
            f"runtime='openvino' runs transformer models; {name!r} starts with "
            f"{type(first).__name__} (use runtime='torch')"
        )
    text = first.modality_config.get("text", {})
    output = text.get("method_output_name")
    if (
        text.get("method") != "forward"
        or output not in ("last_hidden_state", ("last_hidden_state",), ["last_hidden_state"])
        or first.module_output_name != "token_embeddings"
        or getattr(first.model.config, "output_hidden_states", False)
    ):
        raise ValueError(
            f"runtime='openvino' runs text encoders whose token embeddings are the last "
            f"hidden state; {name!r} is configured otherwise (use runtime='torch')"
        )
    return first


class OpenVINOBackend(SentenceTransformerBackend):
    """A ``SentenceTransformer`` whose transformer runs on OpenVINO (CPU only).

    Args:
        model: The loaded model (on CPU); its tokenizer and modules after the
            transformer are used as they are.
        spec: Its spec.
    """

    def __init__(self, model: Any, spec: ModelSpec) -> None:
        super().__init__(model, spec, "cpu")
        self._ov = _openvino()
        module = _transformer_module(model, spec.name)
        self._hf = module.model
        self._after = list(model)[1:]
        self._ir = self._load_ir()
        self._input_names = [port.get_any_name() for port in self._ir.inputs]
        self._compiled: dict[tuple[bool, bool], Any] = {}
        self._compile_lock = threading.Lock()

    @classmethod
    def load(
        cls, spec: ModelSpec, device: str, *, fp16: bool = False, trust_remote_code: bool = False
    ) -> OpenVINOBackend:
        """Load the model on CPU and its OpenVINO IR (converted on first use)."""
        if device != "cpu":
            raise ValueError(f"runtime='openvino' runs on the CPU, not {device!r}")
        if fp16:
            raise ValueError("runtime='openvino' takes precision 'auto', 'bf16' or 'fp32'")
        _openvino()  # the install hint before the model loads
        base = SentenceTransformerBackend.load(
            spec, "cpu", trust_remote_code=trust_remote_code
        )
        return cls(base.model, spec)

    # ---- conversion ----------------------------------------------------------------

    def _ir_dir(self) -> Path:
        import torch
        import transformers

        key = "|".join([
            self.spec.fingerprint, os.path.abspath(self.spec.path), self._ov.__version__,
            torch.__version__, transformers.__version__, str(self.max_seq_length),
        ])  # fmt: skip
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return cache_dir() / "openvino" / digest

    def _example(self) -> dict[str, Any]:
        """Tracing inputs: two lengths, so the traced graph is the padded (general) path."""
        params = set(inspect.signature(self._hf.forward).parameters)
        features = self.model.preprocess(["an example", "a second, longer example text"])
        return {k: v for k, v in features.items() if k in params and hasattr(v, "shape")}

    def _load_ir(self) -> Any:
        """The transformer as OpenVINO IR: read from the cache dir, or converted and saved."""
        core = self._ov.Core()
        folder = self._ir_dir()
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
                ir = self._ov.convert_model(self._hf, example_input=self._example())
        except Exception as exc:
            raise ModelNotAvailableError(
                f"OpenVINO could not convert {self.spec.name!r}: {exc} (use runtime='torch')"
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
        logger.info("converted %s to OpenVINO IR in %s", self.spec.name, folder)
        return ir

    def _compiled_model(self, bf16: bool, many: bool) -> Any:
        """Compiled for one precision; ``many``: throughput streams, else one latency stream."""
        key = (bf16, many)
        with self._compile_lock:
            found = self._compiled.get(key)
            if found is None:
                try:
                    found = self._ov.Core().compile_model(self._ir, "CPU", {
                        "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
                        "PERFORMANCE_HINT": "THROUGHPUT" if many else "LATENCY",
                    })  # fmt: skip
                except RuntimeError as exc:
                    raise ModelNotAvailableError(
                        f"OpenVINO could not compile {self.spec.name!r} for "
                        f"{'bf16' if bf16 else 'fp32'} on this CPU: {exc}"
                    ) from exc
                self._compiled[key] = found
            return found

    # ---- inference -----------------------------------------------------------------

    def encode(
        self,
        texts: list[str],
        *,
        prompt: str,
        batch_size: int,
        show_progress: bool,
        bf16: bool = False,
    ) -> np.ndarray:
        """Embed like ``SentenceTransformer.encode``, the transformer run by OpenVINO.

        ``bf16`` compiles the transformer for bf16 inference (fp32 otherwise); pooling and
        the modules after it run in fp32. Returns float32 (len(texts), dims).
        """
        import torch

        if not texts:
            return np.zeros((0, self.model.get_embedding_dimension() or 0), np.float32)
        order = np.argsort([-self.model._input_length(t) for t in texts], kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, len(texts), batch_size)]
        compiled = self._compiled_model(bf16, many=len(batches) > 1)
        workers = 1
        if len(batches) > 1:
            optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
            workers = max(1, min(len(batches), optimal))
        # one request per worker thread; each thread tokenises, runs and pools its batch
        # (inference releases the GIL, so one batch is tokenised while another runs)
        idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for _ in range(workers):
            idle.put(compiled.create_infer_request())

        def run(idx: np.ndarray) -> np.ndarray:
            features = self.model.preprocess([texts[i] for i in idx], prompt=prompt or None)
            inputs = {name: features[name].numpy() for name in self._input_names}
            request = idle.get()
            try:
                request.infer(inputs)
                hidden = np.array(request.get_output_tensor(0).data)  # its buffer is reused
            except RuntimeError as exc:  # OpenVINO's own inference errors
                raise ModelNotAvailableError(
                    f"OpenVINO inference of {self.spec.name!r} failed on a batch of "
                    f"{len(idx)}: {exc}"
                ) from exc
            finally:
                idle.put(request)
            with torch.inference_mode():
                features["token_embeddings"] = torch.from_numpy(hidden)
                for module in self._after:
                    features = module(features)
                return features["sentence_embedding"].float().numpy()

        progress = _progress(len(batches), show_progress)
        out: list[np.ndarray] = []
        try:
            if workers == 1:
                for idx in batches:
                    out.append(run(idx))
                    progress.update(1)
            else:
                # Python threads, not OpenVINO's callback queue: the pooling modules
                # (torch) never run on OpenVINO's own threads, and no batch is still
                # running when this returns or raises (map cancels the batches not yet
                # started once one fails)
                with ThreadPoolExecutor(workers, thread_name_prefix="openvino") as pool:
                    for vec in pool.map(run, batches):
                        out.append(vec)
                        progress.update(1)
        finally:
            progress.close()
        vecs = np.concatenate(out)
        result = np.empty_like(vecs)
        result[order] = vecs
        return np.ascontiguousarray(result, dtype=np.float32)


def _progress(total: int, show: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="Batches", disable=not show)

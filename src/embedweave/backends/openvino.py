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

import os
import queue
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from embedweave.backends.openvino_ir import OpenVINOModel, openvino, tracing_inputs
from embedweave.backends.sentence_transformer import SentenceTransformerBackend
from embedweave.errors import ModelNotAvailableError
from embedweave.model_spec import ModelSpec


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
        module = _transformer_module(model, spec.name)
        self._hf = module.model
        self._after = list(model)[1:]
        self._ov_model = OpenVINOModel(
            self._hf, name=spec.name, example=self._example(),
            key=[spec.fingerprint, os.path.abspath(spec.path), str(self.max_seq_length)],
        )  # fmt: skip
        self._input_names = self._ov_model.input_names

    @classmethod
    def load(
        cls, spec: ModelSpec, device: str, *, fp16: bool = False, trust_remote_code: bool = False
    ) -> OpenVINOBackend:
        """Load the model on CPU and its OpenVINO IR (converted on first use)."""
        if device != "cpu":
            raise ValueError(f"runtime='openvino' runs on the CPU, not {device!r}")
        if fp16:
            raise ValueError("runtime='openvino' takes precision 'auto', 'bf16' or 'fp32'")
        openvino()  # the install hint before the model loads
        base = SentenceTransformerBackend.load(
            spec, "cpu", trust_remote_code=trust_remote_code
        )
        return cls(base.model, spec)

    # ---- conversion ----------------------------------------------------------------

    def _example(self) -> dict[str, Any]:
        """Tracing inputs: two lengths, so the traced graph is the padded (general) path."""
        features = self.model.preprocess(["an example", "a second, longer example text"])
        return tracing_inputs(self._hf, features)

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
        compiled = self._ov_model.compiled(bf16, many=len(batches) > 1)
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

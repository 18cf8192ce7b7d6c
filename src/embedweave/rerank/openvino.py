"""OpenVINO runtime for a sentence-transformers ``CrossEncoder`` on CPU.

The cross-encoder's transformer (a sequence-classification model) is converted once to
OpenVINO IR, cached under a key that includes a digest of its weights (a retrained
model in the same folder gets a new IR), and run by OpenVINO's CPU plugin in bf16 or
fp32. Tokenisation and truncation stay sentence-transformers' own
(``CrossEncoder.preprocess``), pairs are length-sorted into batches as
``CrossEncoder.predict`` does, and the scores are its logits (or their sigmoid).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from embedweave.backends.openvino_ir import OpenVINOModel, tracing_inputs
from embedweave.errors import ModelNotAvailableError


class OpenVINOCrossEncoder:
    """Scores (query, text) pairs of a loaded ``CrossEncoder`` with OpenVINO.

    Args:
        model: The ``CrossEncoder``, loaded on CPU; its tokenizer is used as it is.
        name: What errors call it.
        max_length: Token limit of a pair, part of the IR's cache key.

    Raises:
        ValueError: when the model is not a single text transformer that outputs logits.
        ModelNotAvailableError: when openvino is missing or cannot convert it.
    """

    def __init__(self, model: Any, name: str, max_length: int) -> None:
        self.model = model
        self.name = name
        self._hf = _classifier(model, name)
        self._ov = OpenVINOModel(
            self._hf, name=name, example=self._example(),
            key=["cross-encoder", name, str(max_length), _weights_digest(self._hf)],
        )  # fmt: skip
        self._requests: dict[bool, Any] = {}

    def score(
        self, pairs: Sequence[tuple[str, str]], batch_size: int, bf16: bool, normalize: bool
    ) -> np.ndarray:
        """One score per pair, in input order (float64); callers serialise calls."""
        order = np.argsort([-self.model._input_length(p) for p in pairs], kind="stable")
        request = self._requests.get(bf16)
        if request is None:  # one latency request: a rerank is one query's candidates
            request = self._ov.compiled(bf16, many=False).create_infer_request()
            self._requests[bf16] = request
        out = np.empty(len(pairs), dtype=np.float64)
        for start in range(0, len(pairs), batch_size):
            idx = order[start : start + batch_size]
            features = self.model.preprocess([pairs[i] for i in idx])
            inputs = {name: features[name].numpy() for name in self._ov.input_names}
            try:
                request.infer(inputs)
                logits = np.array(request.get_output_tensor(0).data, dtype=np.float64)
            except RuntimeError as exc:  # OpenVINO's own inference errors
                raise ModelNotAvailableError(
                    f"OpenVINO inference of cross-encoder {self.name!r} failed on a batch of "
                    f"{len(idx)} pairs: {exc}"
                ) from exc
            out[idx] = logits.reshape(len(idx), -1)[:, 0]
        return 1.0 / (1.0 + np.exp(-out)) if normalize else out

    def _example(self) -> dict[str, Any]:
        """Tracing inputs: two lengths, so the traced graph is the padded (general) path."""
        features = self.model.preprocess([
            ("an example query", "a text"), ("a second query", "a second, longer example text"),
        ])  # fmt: skip
        return tracing_inputs(self._hf, features)


def _classifier(model: Any, name: str) -> Any:
    """The Hugging Face classifier inside ``model`` when OpenVINO can stand in for it."""
    from sentence_transformers.base.modules import Transformer

    modules = list(model)
    first = modules[0] if len(modules) == 1 else None
    if isinstance(first, Transformer):
        text = first.modality_config.get("text", {})
        if text.get("method") == "forward" and text.get("method_output_name") in (
            "logits", ("logits",), ["logits"],
        ):
            return first.model
    raise ValueError(
        f"runtime='openvino' runs cross-encoders that are one transformer with a "
        f"classification head; {name!r} is built otherwise (use runtime='torch')"
    )


def _weights_digest(module: Any) -> str:
    """A digest of every parameter and buffer: a retrained model never reads a stale IR.

    Hashing reads the weights once per load (about 0.1 s for MiniLM's 90 MB).
    """
    import torch

    digest = hashlib.blake2b(digest_size=16)
    for key, tensor in module.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()

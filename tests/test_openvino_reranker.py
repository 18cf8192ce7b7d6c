"""``Reranker(runtime="openvino")``: the cross-encoder on OpenVINO's CPU plugin, real models."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from embedweave.errors import ModelNotAvailableError
from embedweave.precision import bf16_native
from embedweave.rerank import Reranker
from embedweave.rerank.cross_encoder import resolve_runtime
from embedweave.rerank.openvino import OpenVINOCrossEncoder

QUERY = "Statins reduce the risk of heart attacks."
# lengths from 1 to ~300 tokens, so length sorting reorders them and the longest truncate
TEXTS = [
    "p53",
    "Statin therapy lowered LDL cholesterol and cut myocardial infarction by a third. " * 3,
    "What causes insulin resistance?",
    "Mitochondrial DNA mutations accumulate with age in human colonic crypts. " * 30,
    "CRISPR",
    "Vitamin D supplementation and the risk of fractures in older adults: a trial. " * 6,
    "Statins lower LDL cholesterol.",
]


@pytest.fixture(scope="module")
def fp32(scifact_reranker: Path) -> Reranker:
    return Reranker(scifact_reranker, device="cpu", precision="fp32", max_length=256)


def _scores(reranker: Reranker) -> np.ndarray:
    with pytest.warns(UserWarning, match="exceed max_length"):
        return reranker.score(QUERY, TEXTS)


def test_openvino_scores_are_the_torch_scores_in_input_order(
    scifact_reranker: Path, fp32: Reranker
) -> None:
    ov = Reranker(scifact_reranker, runtime="openvino", batch_size=2, max_length=256)
    assert ov.runtime == "openvino" and fp32.runtime == "torch"
    assert isinstance(ov._scorer._ov, OpenVINOCrossEncoder)  # type: ignore[attr-defined]
    assert ov.precision == ("bf16" if bf16_native("cpu") else "fp32")
    a, b = _scores(ov), _scores(fp32)
    assert a.dtype == np.float64 and a.shape == (len(TEXTS),)
    # a trained reranker's logits span several units: a misplaced pair would be far off
    assert np.ptp(b) > 1.0, b
    assert np.abs(a - b).max() <= 0.05 * np.ptp(b), (a, b)
    assert list(np.argsort(-a)[:3]) == list(np.argsort(-b)[:3])
    exact = Reranker(scifact_reranker, runtime="openvino", precision="fp32", batch_size=3,
                     max_length=256)
    assert np.abs(_scores(exact) - b).max() <= 1e-4


def test_openvino_normalize_is_the_sigmoid_of_its_logits(scifact_reranker: Path) -> None:
    raw = Reranker(scifact_reranker, runtime="openvino", precision="fp32")
    sig = Reranker(scifact_reranker, runtime="openvino", precision="fp32", normalize=True)
    texts = TEXTS[:3]
    expected = 1.0 / (1.0 + np.exp(-raw.score(QUERY, texts)))
    got = sig.score(QUERY, texts)
    assert np.all((got > 0) & (got < 1)) and np.allclose(got, expected, atol=1e-6)
    assert [i for i, _ in sig.rank(QUERY, texts)] == list(np.argsort(-got))


def test_openvino_ir_is_converted_once_then_read_back_and_again_for_new_weights(
    scifact_reranker: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openvino
    from sentence_transformers import CrossEncoder

    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path))
    first = Reranker(scifact_reranker, runtime="openvino", precision="fp32")
    assert list((tmp_path / "openvino").glob("*/model.xml"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted again")

    convert = openvino.convert_model
    monkeypatch.setattr(openvino, "convert_model", refuse)
    again = Reranker(scifact_reranker, runtime="openvino", precision="fp32")
    assert np.allclose(again.score(QUERY, TEXTS[:3]), first.score(QUERY, TEXTS[:3]))
    # the same folder retrained: other weights, so its IR must not be the old one
    retrained = tmp_path / "retrained"
    model = CrossEncoder(str(scifact_reranker), device="cpu")
    with __import__("torch").no_grad():
        model[0].model.classifier.bias += 3.0
    model.save(str(retrained))
    with pytest.raises(ModelNotAvailableError, match="converted again"):
        Reranker(retrained, runtime="openvino")
    monkeypatch.setattr(openvino, "convert_model", convert)
    shifted = Reranker(retrained, runtime="openvino", precision="fp32")
    assert np.allclose(shifted.score(QUERY, TEXTS[:3]) - first.score(QUERY, TEXTS[:3]), 3.0,
                       atol=1e-4)


def test_an_openvino_inference_error_is_ours_and_names_the_model(
    scifact_reranker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    ov = Reranker(scifact_reranker, runtime="openvino")
    inner: OpenVINOCrossEncoder = ov._scorer._ov  # type: ignore[attr-defined]
    monkeypatch.setattr(inner._ov, "input_names", [*inner._ov.input_names, "no_such_input"])
    real = inner.model.preprocess
    # an input the compiled model has no port for: OpenVINO's own RuntimeError
    monkeypatch.setattr(inner.model, "preprocess", lambda batch, prompt=None: {
        **real(batch), "no_such_input": torch.ones((len(batch), 2))
    })
    with pytest.raises(ModelNotAvailableError,
                       match=r"OpenVINO inference of cross-encoder '.+' failed on a batch"):
        ov.score(QUERY, TEXTS[:2])


def test_embedweave_runtime_variable_is_the_default_on_the_cpu(
    scifact_reranker: Path, fp32: Reranker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDWEAVE_RUNTIME", "openvino")
    env = Reranker(scifact_reranker, device="cpu", precision="fp32", max_length=256)
    assert env.runtime == "openvino"
    assert isinstance(env._scorer._ov, OpenVINOCrossEncoder)  # type: ignore[attr-defined]
    assert np.abs(_scores(env) - _scores(fp32)).max() <= 1e-4
    explicit = Reranker(scifact_reranker, device="cpu", runtime="torch")  # explicit wins
    assert explicit.runtime == "torch" and explicit._scorer._ov is None  # type: ignore[attr-defined]
    # a machine-wide preference: a GPU keeps PyTorch, and Cohere takes no runtime at all
    assert resolve_runtime(None, "cuda") == "torch"
    assert resolve_runtime(None, "cpu") == "openvino"
    assert Reranker(backend="cohere", api_key="k").runtime is None
    monkeypatch.setenv("EMBEDWEAVE_RUNTIME", "onnx")
    with pytest.raises(ValueError, match="EMBEDWEAVE_RUNTIME must be 'torch' or 'openvino'"):
        Reranker(scifact_reranker, device="cpu")
    monkeypatch.delenv("EMBEDWEAVE_RUNTIME")
    assert Reranker(scifact_reranker, device="cpu").runtime == "torch"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"device": "cuda"}, ValueError, "runs on the CPU, not 'cuda'"),
        ({"runtime": "onnx"}, ValueError, "runtime must be 'torch' or 'openvino', got 'onnx'"),
        ({"backend": "cohere", "api_key": "k"}, ValueError,
         "device, precision and runtime apply to backend='cross-encoder' only"),
    ],
)
def test_openvino_refuses_what_it_cannot_run(
    scifact_reranker: Path, kwargs: dict[str, str], error: type[Exception], message: str
) -> None:
    kwargs = {"runtime": "openvino", **kwargs}
    model = None if kwargs.get("backend") == "cohere" else scifact_reranker
    with pytest.raises(error, match=message):
        Reranker(model, **kwargs)  # type: ignore[arg-type]


def test_openvino_refuses_a_cross_encoder_with_more_than_a_transformer(
    scifact_reranker: Path,
) -> None:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(scifact_reranker), device="cpu")
    model.append(model[0])  # a second module after the transformer
    with pytest.raises(ValueError, match="one transformer with a classification head"):
        OpenVINOCrossEncoder(model, "two-modules", 256)


def test_missing_openvino_names_the_install(
    scifact_reranker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(ModelNotAvailableError, match=r"pip install 'embedweave\[openvino\]'"):
        Reranker(scifact_reranker, runtime="openvino")

"""Embedder(runtime="openvino"): the same model's vectors, run by OpenVINO on CPU."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from embedweave.backends import load_backend
from embedweave.backends.openvino import OpenVINOBackend
from embedweave.embedding import Embedder
from embedweave.errors import ModelNotAvailableError
from embedweave.models import resolve_model
from embedweave.precision import bf16_native

# lengths from 1 to ~300 tokens, so length sorting reorders them and the longest truncate
TEXTS = [
    "p53",
    "Insulin resistance in skeletal muscle precedes type 2 diabetes. " * 3,
    "What causes insulin resistance?",
    "Mitochondrial DNA mutations accumulate with age in human colonic crypts. " * 30,
    "CRISPR",
    "Vitamin D supplementation and the risk of fractures in older adults: a trial. " * 6,
    "Neutrophils",
    "Statins lower LDL cholesterol.",
]


@pytest.fixture(scope="module")
def fp32() -> Embedder:
    return Embedder("minilm", device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def ov() -> Embedder:
    return Embedder("minilm", runtime="openvino", batch_size=3)  # several queued batches


def test_openvino_vectors_are_the_torch_vectors_in_input_order(
    ov: Embedder, fp32: Embedder
) -> None:
    assert ov.runtime == "openvino" and ov.device == "cpu"
    assert isinstance(ov._backend, OpenVINOBackend)  # really on OpenVINO, not torch
    assert ov.precision == ("bf16" if bf16_native("cpu") else "fp32")
    assert ov.fingerprint == fp32.fingerprint and ov.space() == fp32.space()
    with pytest.warns(UserWarning, match="truncated"):
        a = ov.embed_documents(TEXTS)
    with pytest.warns(UserWarning, match="truncated"):
        b = fp32.embed_documents(TEXTS)
    assert a.dtype == np.float32 and a.shape == (len(TEXTS), 384)
    cos = np.sum(a * b, axis=1)
    assert cos.min() >= 0.9999, cos  # a misplaced row would be far below
    # each text's nearest fp32 vector is its own (the rows were put back in order)
    assert list(np.argmax(a @ b.T, axis=1)) == list(range(len(TEXTS)))
    exact = Embedder("minilm", runtime="openvino", precision="fp32", batch_size=5)
    assert exact.precision == "fp32" and isinstance(exact._backend, OpenVINOBackend)
    with pytest.warns(UserWarning, match="truncated"):
        c = exact.embed_documents(TEXTS)
    assert np.sum(c * b, axis=1).min() >= 0.99999


def test_openvino_applies_prompts_like_torch(fp32: Embedder) -> None:
    ov = Embedder("minilm", runtime="openvino", query_prompt="query: ")
    torch_p = Embedder("minilm", device="cpu", precision="fp32", query_prompt="query: ")
    q = "what lowers cholesterol"
    with_prompt = ov.embed_query(q)
    assert float(with_prompt @ torch_p.embed_query(q)) >= 0.9999
    # the prompt changed the vector: it is not the plain query's
    assert float(with_prompt @ fp32.embed_query(q)) < 0.999


def test_openvino_ir_is_converted_once_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openvino

    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path))
    spec = resolve_model("minilm")
    first = OpenVINOBackend.load(spec, "cpu")
    saved = list(tmp_path.glob("openvino/*/model.xml"))
    assert len(saved) == 1 and saved[0].with_suffix(".bin").stat().st_size > 80e6  # fp32

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted again instead of reading the saved IR")

    monkeypatch.setattr(openvino, "convert_model", refuse)
    second = OpenVINOBackend.load(spec, "cpu")
    args = {"prompt": "", "batch_size": 2, "show_progress": False}
    np.testing.assert_allclose(
        second.encode(TEXTS[:3], **args), first.encode(TEXTS[:3], **args), atol=1e-6
    )


def test_a_damaged_ir_is_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path))
    spec = resolve_model("minilm")
    OpenVINOBackend.load(spec, "cpu")
    (xml,) = tmp_path.glob("openvino/*/model.xml")
    xml.write_text("<net>cut short")
    with caplog.at_level("WARNING", logger="embedweave.backends.openvino"):
        again = OpenVINOBackend.load(spec, "cpu")
    assert "unreadable" in caplog.text and "converting again" in caplog.text
    assert xml.read_text().startswith("<?xml")  # rewritten whole
    vec = again.encode(["p53"], prompt="", batch_size=1, show_progress=False)
    assert vec.shape == (1, 384) and np.isfinite(vec).all()


def test_a_failure_inside_the_queue_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = load_backend(resolve_model("minilm"), runtime="openvino")
    assert isinstance(backend, OpenVINOBackend)

    class Broken:
        def __call__(self, features: object) -> object:
            raise RuntimeError("pooling failed")

    monkeypatch.setattr(backend, "_after", [Broken()])
    with pytest.raises(RuntimeError, match="pooling failed"):
        backend.encode(TEXTS, prompt="", batch_size=2, show_progress=False)


def test_after_a_failed_batch_the_batches_not_started_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = load_backend(resolve_model("minilm"), runtime="openvino")
    assert isinstance(backend, OpenVINOBackend)
    calls: list[int] = []

    def broken(features: object) -> object:
        calls.append(1)
        raise RuntimeError("pooling failed")

    monkeypatch.setattr(backend, "_after", [broken])
    texts = [f"claim number {i} about p53" for i in range(40)]
    with pytest.raises(RuntimeError, match="pooling failed"):
        backend.encode(texts, prompt="", batch_size=1, show_progress=False)
    # only the batches already running when the first failed (one per worker, a
    # few at most) reach pooling; without the cancel all 40 would
    assert 1 <= len(calls) <= 8, len(calls)


def test_an_openvino_inference_error_is_ours_and_names_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = load_backend(resolve_model("minilm"), runtime="openvino")
    assert isinstance(backend, OpenVINOBackend)
    import torch

    monkeypatch.setattr(backend, "_input_names", [*backend._input_names, "no_such_input"])
    real = backend.model.preprocess
    # an input the compiled model has no port for: OpenVINO's own RuntimeError
    monkeypatch.setattr(backend.model, "preprocess", lambda batch, prompt=None: {
        **real(batch, prompt=prompt), "no_such_input": torch.ones((len(batch), 2))
    })
    with pytest.raises(ModelNotAvailableError, match="OpenVINO inference of 'minilm' failed"):
        backend.encode(TEXTS, prompt="", batch_size=4, show_progress=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "wordllama-256"}, "runs transformer models; 'wordllama-256'"),
        ({"model": "use-multilingual"}, "runs sentence-transformers models; 'use-multilingual'"),
        ({"model": "openai:text-embedding-3-small", "api_key": "k"}, "runtime do not apply"),
        ({"model": "minilm", "device": "cuda"}, "runs on the CPU, not 'cuda'"),
        ({"model": "minilm", "precision": "fp16"}, "takes precision 'auto', 'bf16' or 'fp32'"),
    ],
)
def test_openvino_refuses_what_it_cannot_run(kwargs: dict[str, str], message: str) -> None:
    model = kwargs.pop("model")
    with pytest.raises(ValueError, match=message):
        Embedder(model, runtime="openvino", **kwargs)  # type: ignore[arg-type]


def test_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="runtime must be 'torch' or 'openvino', got 'onnx'"):
        Embedder("minilm", runtime="onnx")  # type: ignore[arg-type]


def test_missing_openvino_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(ModelNotAvailableError, match=r"pip install 'embedweave\[openvino\]'"):
        OpenVINOBackend.load(resolve_model("minilm"), "cpu")


def test_embedweave_runtime_variable_is_the_default_where_it_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from embedweave.routing import Router

    monkeypatch.setenv("EMBEDWEAVE_RUNTIME", "openvino")
    default = Embedder("minilm")
    assert default.runtime == "openvino" and isinstance(default._backend, OpenVINOBackend)
    assert default.batch_size == 16  # OpenVINO's own default batch size
    # what the CLI builds: a router from --model
    router = Router.from_settings(model="minilm")
    (space,) = router.spaces
    assert isinstance(router.embedder(space)._backend, OpenVINOBackend)
    assert router.embedder(space).batch_size == 16
    # a machine-wide preference: models it cannot run keep PyTorch, no error
    static = Embedder("wordllama-256")
    assert static.runtime == "torch" and not isinstance(static._backend, OpenVINOBackend)
    assert static.batch_size == 64
    assert Embedder("minilm", runtime="torch").runtime == "torch"  # explicit wins
    monkeypatch.setenv("EMBEDWEAVE_RUNTIME", "onnx")
    with pytest.raises(ValueError, match="EMBEDWEAVE_RUNTIME must be 'torch' or 'openvino'"):
        Embedder("minilm")
    monkeypatch.delenv("EMBEDWEAVE_RUNTIME")
    plain = Embedder("minilm")
    assert plain.runtime == "torch" and not isinstance(plain._backend, OpenVINOBackend)


def test_default_batch_size_follows_the_runtime_and_an_explicit_one_wins() -> None:
    torch_auto = Embedder("minilm", runtime="torch", device="cpu")
    # PyTorch: 64, but 16 for a transformer in fp32 on the CPU (bf16 keeps 64)
    assert torch_auto.batch_size == (64 if torch_auto.precision == "bf16" else 16)
    assert Embedder("minilm", runtime="torch", device="cpu", precision="fp32").batch_size == 16
    assert Embedder("wordllama-256").batch_size == 64  # a lookup: fp32, no smaller batches
    assert Embedder("minilm", runtime="openvino").batch_size == 16
    given = Embedder("minilm", runtime="openvino", batch_size=7)
    assert given.batch_size == 7
    seen: list[int] = []
    real = OpenVINOBackend.encode

    def spy(self: OpenVINOBackend, texts: list[str], **kw: object) -> np.ndarray:
        seen.append(int(kw["batch_size"]))  # type: ignore[call-overload]
        return real(self, texts, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(OpenVINOBackend, "encode", spy)
        given.embed_documents(["a", "b"])
    assert seen == [7]  # what reaches the backend
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            Embedder("minilm", runtime="openvino", batch_size=bad)  # type: ignore[arg-type]

"""Embedder precision: bf16 autocast where it is faster than fp32, same vector space."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedweave.embedding import Embedder
from embedweave.paths import data_dir
from embedweave.precision import bf16_native, bf16_supported


@pytest.fixture(scope="module")
def scifact() -> tuple[list[str], list[str]]:
    """(12 abstracts cut to ~100 words, their titles)."""
    path = data_dir() / "scifact" / "corpus.jsonl"
    if not path.exists():
        from conftest import unavailable

        unavailable(f"SciFact data not found at {path}")
    texts, titles = [], []
    with path.open() as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(" ".join(row["text"].split()[:100]))
            titles.append(row["title"])
            if len(texts) == 12:
                break
    return [*texts, "p53", "What causes insulin resistance in muscle?"], titles


@pytest.mark.slow
def test_auto_is_bf16_where_native_and_keeps_the_fingerprint(
    scifact: tuple[list[str], list[str]],
) -> None:
    abstracts, titles = scifact
    auto = Embedder("minilm", device="cpu")
    fp32 = Embedder("minilm", device="cpu", precision="fp32")
    assert auto.precision == ("bf16" if bf16_native("cpu") else "fp32")
    assert fp32.precision == "fp32"
    assert auto.fingerprint == fp32.fingerprint
    assert auto.space() == fp32.space()
    # the bf16 path where the CPU has bf16 (auto keeps fp32 where bf16 is slower: no AMX)
    if auto.precision == "fp32" and bf16_supported("cpu"):
        auto = Embedder("minilm", device="cpu", precision="bf16")
        assert auto.space() == fp32.space()
    a = auto.embed_documents(abstracts)
    b = fp32.embed_documents(abstracts)
    assert a.dtype == np.float32 and a.shape == b.shape
    cos = np.sum(a * b, axis=1)  # both L2-normalised
    assert cos.min() >= 0.999, cos.min()
    if auto.precision == "bf16":
        # the bf16 path really ran: not bit-identical to fp32
        assert not np.array_equal(a, b)
        # searching bf16 documents with bf16 titles finds what fp32 finds
        qa, qb = auto.embed_queries(titles), fp32.embed_queries(titles)
        assert list(np.argmax(qa @ a.T, axis=1)) == list(np.argmax(qb @ b.T, axis=1))
        # and bf16 queries work against fp32-written vectors (one space)
        assert list(np.argmax(qa @ b.T, axis=1)) == list(np.argmax(qb @ b.T, axis=1))


def test_static_models_run_fp32_and_refuse_bf16() -> None:
    assert Embedder("wordllama-256").precision == "fp32"
    with pytest.raises(ValueError, match="transformer models"):
        Embedder("wordllama-256", precision="bf16")


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="precision must be"):
        Embedder("minilm", precision="int4")  # type: ignore[arg-type]


@pytest.mark.skipif(bf16_supported("cpu"), reason="this CPU has bf16 in hardware")
def test_bf16_refused_without_native_support() -> None:
    with pytest.raises(ValueError, match="no native bf16"):
        Embedder("minilm", device="cpu", precision="bf16")


def test_auto_picks_bf16_only_where_it_is_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    # where bf16 is slower than fp32 (AVX512-BF16 on some CPUs) auto keeps fp32 and an
    # explicit "bf16" is still allowed; with AMX, or where the probe finds bf16 faster,
    # auto picks bf16
    import embedweave.precision as precision

    monkeypatch.delenv("EMBEDWEAVE_CPU_BF16", raising=False)
    monkeypatch.setattr(precision, "bf16_supported", lambda device: True)
    monkeypatch.setattr(precision, "_cpu_has_amx", lambda: False)
    monkeypatch.setattr(precision, "_cpu_bf16_faster", lambda: False)
    assert not precision.bf16_native("cpu")
    assert precision.use_bf16("auto", "cpu") is False
    assert precision.use_bf16("bf16", "cpu") is True
    monkeypatch.setenv("EMBEDWEAVE_CPU_BF16", "1")  # the user's override wins
    assert precision.use_bf16("auto", "cpu") is True
    monkeypatch.delenv("EMBEDWEAVE_CPU_BF16")
    monkeypatch.setattr(precision, "_cpu_bf16_faster", lambda: True)  # AVX512-BF16, fast
    assert precision.use_bf16("auto", "cpu") is True
    monkeypatch.setattr(precision, "_cpu_bf16_faster", lambda: False)
    monkeypatch.setattr(precision, "_cpu_has_amx", lambda: True)
    assert precision.bf16_native("cpu") and precision.use_bf16("auto", "cpu") is True
    monkeypatch.setenv("EMBEDWEAVE_CPU_BF16", "0")
    assert precision.use_bf16("auto", "cpu") is False
    monkeypatch.setattr(precision, "bf16_supported", lambda device: False)
    assert not precision.bf16_native("cpu")
    with pytest.raises(ValueError, match="no native bf16"):
        precision.use_bf16("bf16", "cpu")

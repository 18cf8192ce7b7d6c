"""Embedder: prompts, normalisation, truncation counting, bad input, devices, async."""

from __future__ import annotations

import asyncio
import warnings

import numpy as np
import pytest

from embedweave.embedding import Embedder, TruncationWarning, space_name, validate_texts

LONG = " ".join(["retrieval augmented generation with dense embeddings"] * 60)  # > 256 tokens


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    # fp32, so vectors can be compared with raw fp32 encode at 1e-5 (bf16 agreement with
    # fp32 is tested in test_precision.py)
    return Embedder("minilm", device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def raw(minilm):
    """The underlying SentenceTransformer, called directly as the reference."""
    model = minilm._backend.model

    def encode(texts, prompt=""):
        return model.encode(texts, prompt=prompt, convert_to_numpy=True)

    return encode


def test_matches_raw_encode_normalized_float32(minilm, raw):
    texts = ["A cat sits on the mat.", "Dense retrieval with MiniLM."]
    got = minilm.embed_documents(texts)
    assert got.shape == (2, 384) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    ref = raw(texts)
    ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert minilm.embed_query(texts[0]).shape == (384,)


def test_normalize_false_keeps_raw_vectors():
    # WordLlama's mean-pooled vectors are not unit length: normalisation is visible.
    plain = Embedder("wordllama-256", normalize=False, device="cpu")
    unit = Embedder("wordllama-256", device="cpu")
    v = plain.embed_documents(["a sentence about proteins"])
    assert abs(float(np.linalg.norm(v)) - 1.0) > 0.01
    u = unit.embed_documents(["a sentence about proteins"])
    np.testing.assert_allclose(u, v / np.linalg.norm(v), atol=1e-6)
    assert plain.fingerprint != unit.fingerprint


def test_prompts_apply_to_queries_only_when_configured(minilm, raw):
    text = "what causes fever"
    # No prompt configured: query and document embeddings are identical.
    np.testing.assert_allclose(minilm.embed_query(text), minilm.embed_documents([text])[0])

    prompted = Embedder("minilm", device="cpu", precision="fp32", query_prompt="query: ")
    q = prompted.embed_query(text)
    d = prompted.embed_documents([text])[0]
    np.testing.assert_allclose(q, raw([text], prompt="query: ")[0], atol=1e-5)
    np.testing.assert_allclose(d, raw([text])[0], atol=1e-5)
    assert float(q @ d) < 0.999  # the prompt really changed the query vector
    np.testing.assert_allclose(prompted.embed_queries([text])[0], q)
    # Per-call override: "" disables, a string replaces.
    np.testing.assert_allclose(prompted.embed_query(text, prompt=""), d, atol=1e-6)
    np.testing.assert_allclose(
        prompted.embed_documents([text], prompt="passage: ")[0],
        raw([text], prompt="passage: ")[0],
        atol=1e-5,
    )


def test_truncation_counted_one_warning_per_call(minilm):
    before = minilm.truncated
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        minilm.embed_documents(["short", LONG, "also short", LONG + " more"])
    trunc = [w for w in caught if issubclass(w.category, TruncationWarning)]
    assert len(trunc) == 1
    msg = str(trunc[0].message)
    assert "2 of 4 texts" in msg and "256-token" in msg and "index 1" in msg
    assert minilm.truncated - before == 2
    assert minilm.stats.truncated == minilm.truncated
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        minilm.embed_documents(["short enough"])  # no warning


def test_truncation_counts_prompt_tokens(minilm):
    # A text that fits alone overflows once a long prompt is prepended.
    text = " ".join(["word"] * 250)
    assert minilm._backend.too_long([text], "") == []
    assert minilm._backend.too_long([text], "represent this for retrieval: " * 3) == [0]


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        (["ok", ""], "index 1 is empty"),
        (["ok", "   \n"], "index 1 is empty"),
        (["ok", "fine", None], "index 2 is None"),
        ([3, "ok"], "index 0 is a int"),
        (["ok", b"bytes"], "index 1 is a bytes"),
    ],
)
def test_bad_input_names_index_and_embeds_nothing(minilm, texts, match):
    calls = minilm.calls
    with pytest.raises(ValueError, match=match):
        minilm.embed_documents(texts)
    assert minilm.calls == calls


def test_bad_query_and_container(minilm):
    with pytest.raises(ValueError, match="query at index 0 is empty"):
        minilm.embed_query("")
    with pytest.raises(ValueError, match="is None"):
        minilm.embed_query(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="single str"):
        minilm.embed_documents("not a list")  # type: ignore[arg-type]
    assert minilm.embed_documents([]).shape == (0, 384)


def test_duplicates_embedded_once(minilm):
    n = minilm.embedded
    out = minilm.embed_documents(["same text", "other", "same text"])
    assert minilm.embedded - n == 2
    np.testing.assert_array_equal(out[0], out[2])


def test_device_auto_and_batch_size(minilm):
    import torch

    auto = Embedder("minilm", precision="fp32")  # the fixture's precision: shares its model
    mps = getattr(torch.backends, "mps", None)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and mps is not None and mps.is_available():
        expected = "mps"
    assert auto.device == expected
    assert auto._backend is minilm._backend or expected != "cpu"  # one model shared per device
    with pytest.raises(ValueError, match="batch_size"):
        Embedder("minilm", batch_size=0)
    small = Embedder("minilm", device="cpu", precision="fp32", batch_size=1)
    np.testing.assert_allclose(
        small.embed_documents(["a b c", "d e f g h"]),
        minilm.embed_documents(["a b c", "d e f g h"]),
        atol=1e-5,
    )


def test_async_forms(minilm):
    async def both():
        return await minilm.aembed_query("hello"), await minilm.aembed_documents(["hello"])

    q, d = asyncio.run(both())
    np.testing.assert_allclose(q, minilm.embed_query("hello"), atol=1e-6)
    np.testing.assert_allclose(d[0], q, atol=1e-6)


def test_space_and_fingerprint(minilm):
    sp = minilm.space()
    assert (sp.name, sp.model, sp.dims, sp.distance) == ("minilm", "minilm", 384, "cosine")
    assert sp.fingerprint == minilm.fingerprint
    assert minilm.fingerprint.startswith(minilm.spec.fingerprint)
    assert minilm.space("dense").name == "dense"
    assert space_name("BAAI/bge-small-en-v1.5") == "BAAI_bge_small_en_v1_5"
    assert space_name("use-multilingual", 128) == "use_multilingual_d128"
    assert space_name("7b-model") == "m_7b_model"


def test_validate_texts_accepts_any_iterable():
    assert validate_texts(t for t in ["a", "b"]) == ["a", "b"]
    with pytest.raises(TypeError):
        validate_texts(5)  # type: ignore[arg-type]


def test_use_embedder_with_prompt_and_dims():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # USE is not Matryoshka-trained (tested elsewhere)
        use = Embedder("use-multilingual", dimensions=128)
    assert use.device == "cpu" and use.dims == 128
    v = use.embed_documents(["Hallo Welt", "Bonjour le monde"])
    assert v.shape == (2, 128)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    full = Embedder("use-multilingual")
    q = full.embed_query("Hallo Welt", prompt="question: ")
    assert float(q @ full.embed_query("Hallo Welt")) < 0.999

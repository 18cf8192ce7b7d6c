"""Matryoshka dims: truncation + renormalisation, validation, warnings, space mismatches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from embedweave.embedding import Embedder
from embedweave.errors import SpaceMismatchError
from embedweave.matryoshka import (
    MatryoshkaWarning,
    check_dims,
    l2_normalize,
    layer_norm,
    truncate,
    validate_dims,
)
from embedweave.models import resolve_model
from embedweave.store import MemoryStore
from embedweave.types import Chunk

TEXTS = ["Aspirin lowers the risk of heart attack.", "Stars form in molecular clouds."]


def test_truncate_then_renormalize_by_hand():
    v = np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 5.0]], dtype=np.float32)
    out = truncate(v, 2)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])  # zero row stays zero
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(truncate(v, 2, normalize=False), [[3, 4], [0, 0]])
    np.testing.assert_allclose(truncate(v[0], 1), [1.0])  # a single vector
    same = truncate(v, 3, normalize=False)
    same[0, 0] = 99  # a copy, never a view of the input
    assert v[0, 0] == 3.0


def test_layer_norm_before_slice_by_hand():
    v = np.array([1.0, 2.0, 3.0, 6.0], dtype=np.float32)
    mean, std = 3.0, np.sqrt(((v - 3.0) ** 2).mean() + 1e-5)
    ln = (v - mean) / std
    np.testing.assert_allclose(layer_norm(v), ln, rtol=1e-6)
    expected = ln[:2] / np.linalg.norm(ln[:2])
    np.testing.assert_allclose(truncate(v, 2, layer_norm_first=True), expected, rtol=1e-6)
    assert not np.allclose(truncate(v, 2), expected)
    np.testing.assert_allclose(np.linalg.norm(l2_normalize(v)), 1.0, rtol=1e-6)


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "64"])
def test_validate_dims_rejects_non_positive_ints(bad):
    with pytest.raises(ValueError, match="positive integer"):
        validate_dims(bad, 10)  # type: ignore[arg-type]


def test_dims_above_native_is_an_error_naming_both():
    with pytest.raises(ValueError, match=r"dimensions=512 exceeds the 384 native .*'minilm'"):
        Embedder("minilm", dimensions=512, device="cpu")
    with pytest.raises(ValueError, match="exceeds"):
        truncate(np.ones((2, 4), np.float32), 5)


def test_trained_dims_no_warning_and_equal_to_truncated_full():
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatryoshkaWarning)
        small = Embedder("wordllama-256", dimensions=64, device="cpu")
    full = Embedder("wordllama-256", device="cpu")
    got = small.embed_documents(TEXTS)
    assert got.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, truncate(full.embed_documents(TEXTS), 64), atol=1e-6)
    np.testing.assert_allclose(small.embed_query(TEXTS[0]), got[0], atol=1e-6)
    assert small.fingerprint != full.fingerprint
    assert small.space().name == "wordllama_256_d64"


def test_untrained_dims_warn_once_per_model_and_size():
    spec = resolve_model("minilm")
    with pytest.warns(MatryoshkaWarning, match=r"'minilm' to 77 of 384 .*not trained.*48\.4"):
        assert check_dims(spec, 77) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatryoshkaWarning)
        assert check_dims(spec, 77) is False  # already warned
        assert check_dims(spec, 384) is True  # native
        emb = Embedder("minilm", dimensions=77, device="cpu")
    out = emb.embed_documents(TEXTS)
    assert out.shape == (2, 77)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_layer_norm_option():
    ln = Embedder("wordllama-256", dimensions=128, layer_norm=True, device="cpu")
    raw = Embedder("wordllama-256", normalize=False, device="cpu").embed_documents(TEXTS)
    np.testing.assert_allclose(
        ln.embed_documents(TEXTS), truncate(raw, 128, layer_norm_first=True), atol=1e-5
    )
    assert ln.fingerprint.endswith("-ln")
    plain = Embedder("wordllama-256", dimensions=128, device="cpu")
    assert plain.fingerprint != ln.fingerprint


def test_mismatched_dims_never_compared():
    full = Embedder("wordllama-256", device="cpu")
    small = Embedder("wordllama-256", dimensions=128, device="cpu")
    # Reopening a space with the other embedder's vectors is refused, naming both.
    with pytest.raises(SpaceMismatchError, match=r"256 dims.*128 dims"):
        small.space("dense").check_compatible(full.space("dense"), "docs")
    store = MemoryStore([full.space("dense")])
    store.upsert([Chunk("d", 0, TEXTS[0])], {"dense": full.embed_documents(TEXTS[:1])})
    with pytest.raises(SpaceMismatchError, match=r"128 dims.*256"):
        store.search(small.embed_query("aspirin"), space="dense")
    with pytest.raises(ValueError, match=r"shape \(1, 256\)"):
        store.upsert([Chunk("d", 1, TEXTS[1])], {"dense": small.embed_documents(TEXTS[1:])})

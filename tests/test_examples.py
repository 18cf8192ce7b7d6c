"""Every bundled example runs, as a user would run it, against the session's Weaviate.

Each example is a subprocess (`python examples/<name>.py`); the server is passed through
``EMBEDWEAVE_WEAVIATE_URL`` / ``EMBEDWEAVE_WEAVIATE_GRPC_PORT`` (without them an example
starts its own). The examples' corpora are authored for this project (examples/data).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(server, name: str, *args: str, timeout: int = 900) -> str:
    env = {
        **os.environ,
        "EMBEDWEAVE_WEAVIATE_URL": server.url,
        "EMBEDWEAVE_WEAVIATE_GRPC_PORT": str(server.grpc_port),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    env.pop("EMBEDWEAVE_LLM_MODEL", None)  # the extractive answer, whatever the shell has
    collection = "Ex" + uuid.uuid4().hex[:10]
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args, "--collection", collection],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_every_example_is_tested() -> None:
    shipped = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    tested = {"llama_index_rag", "langchain_rag", "multilingual", "matryoshka_tradeoff",
              "rerank"}
    assert shipped == tested


def test_llama_index_rag_answers_with_sources(weaviate_server) -> None:
    out = run_example(weaviate_server, "llama_index_rag")
    assert "indexed 7 files as 22 sections" in out
    answer = out.split("Answer (extractive):", 1)[1]
    assert "dimensions" in answer.split("Sources:")[0] and "[1]" in answer
    first = re.search(r"\*?\[1\] [\d.]+\s+(\S+) § (.+)", answer)
    assert first and first.groups() == ("matryoshka.md", "Shrinking vectors to save memory")


def test_langchain_rag_answers_with_sources(weaviate_server) -> None:
    out = run_example(weaviate_server, "langchain_rag", "--alpha", "0.5")
    assert "indexed 22 sections" in out
    answer, sources = out.split("Answer (extractive):", 1)[1].split("Sources:")
    assert "pure BM25" in answer and "[" in answer
    assert "hybrid.md § The alpha parameter" in sources


def test_multilingual_finds_answers_across_languages(weaviate_server) -> None:
    out = run_example(weaviate_server, "multilingual")
    assert "de-kaffee        de -> use_multilingual" in out
    assert "en-bees          en -> minilm, use_multilingual" in out
    top1 = re.search(r"top-1: (\d+)/12", out)
    assert top1 and int(top1.group(1)) >= 11, out[-1500:]


def test_matryoshka_tradeoff_prints_table_and_plot(weaviate_server, tmp_path) -> None:
    plot = tmp_path / "tradeoff.png"
    out = run_example(weaviate_server, "matryoshka_tradeoff", "--plot", str(plot))
    rows = {m.group(1, 2): float(m.group(3)) for m in re.finditer(
        r"^\s*(wordllama-256|minilm)\s+(\d+|funnel 64->256)\s+(?:yes|no)\s+([\d.]+)", out,
        re.M)}
    assert set(rows) == {("wordllama-256", "64"), ("wordllama-256", "128"),
                         ("wordllama-256", "256"), ("minilm", "96"), ("minilm", "192"),
                         ("minilm", "384"), ("wordllama-256", "funnel 64->256")}
    assert all(40 < v <= 100 for v in rows.values())
    # the funnel shortlist (20 of 22 sections) recovers the full-dims ranking
    assert rows[("wordllama-256", "funnel 64->256")] == rows[("wordllama-256", "256")]
    # HNSW MiB per million vectors at 256 / 64 dims with the default maxConnections 32
    # (float32 vector + 2 x 32 links x 10 B): 1,587 / 854 (1,892 / 1,160 at the old 48)
    assert "1,587" in out and "854" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_rerank_moves_hits_with_the_scifact_reranker(weaviate_server, scifact_reranker) -> None:
    """The example with a SciFact cross-encoder trained here (the quick recipe, by path)."""
    out = run_example(weaviate_server, "rerank", "--model", str(scifact_reranker), timeout=600)
    assert f"reranker: {scifact_reranker}" in out
    before = re.search(r"first stage \(MiniLM\):\s+MRR@10 ([\d.]+)", out)
    after = re.search(r"after reranking:\s+MRR@10 ([\d.]+)", out)
    assert before and after and float(before.group(1)) > 50
    assert 0 < float(after.group(1)) <= 100
    assert len(re.findall(r"^\s+(?:\d+|-)\s+(?:\d+|-)\s+\S", out, re.M)) == 22

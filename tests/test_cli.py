"""The ``embedweave`` CLI: ingest, query, ask and eval against a real Weaviate and real models.

Commands run in-process through ``embedweave.cli.main`` (one model load for the module);
one subprocess checks the installed console script and its usage exit code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from embedweave.cli import main

ROOT = Path(__file__).resolve().parents[1]

GUIDE = """# Guide

Intro to the guide.

## Shrinking vectors

Matryoshka models let you keep only the first dimensions of each vector, which saves
memory. Pass dimensions to the embedder to shrink vectors.

## Hybrid search

Alpha zero means BM25 only; alpha one means vector search only.
"""


def _pdf(pages: list[str]) -> bytes:
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
                    f"<< /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode())
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "guide.md").write_text(GUIDE)
    (root / "pets.html").write_text(
        "<html><head><title>Pets</title></head><body><h1>Dogs</h1><p>Dogs bark loudly at the "
        "mailman every morning.</p></body></html>"
    )
    (root / "notes.txt").write_text("Kettles boil water for tea. Tea leaves steep for minutes.")
    (root / "manual.pdf").write_bytes(_pdf(["Press the red button to start the pump.",
                                            "Clean the filter every week."]))
    (root / "photo.jpg").write_bytes(b"\xff\xd8")
    return root


@pytest.fixture
def store_args(weaviate_server) -> list[str]:
    name = "Cli" + uuid.uuid4().hex[:10]
    return ["-c", name, "--url", weaviate_server.url, "--grpc-port",
            str(weaviate_server.grpc_port)]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_query_ask_round_trip(capsys, corpus, store_args) -> None:
    code, out, err = run_cli(capsys, "ingest", str(corpus), *store_args, "--json", "--progress")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["files"] == 4 and summary["failed"] == []
    assert summary["skipped"] == [str(corpus / "photo.jpg")]
    assert summary["chunks"] == summary["collection_chunks"] == 7  # 3 md + 1 html + 1 txt + 2 pdf
    assert "embedding" in err  # the progress bar
    # the same files again: overwritten, not duplicated
    code, out, _ = run_cli(capsys, "ingest", str(corpus), *store_args, "--json")
    assert json.loads(out)["collection_chunks"] == 7

    code, out, _ = run_cli(capsys, "query", "How do I make vectors smaller?", *store_args,
                           "--json", "-k", "3")
    assert code == 0
    res = json.loads(out)
    top = res["hits"][0]
    assert top["source"].endswith("guide.md") and top["section"] == "Guide > Shrinking vectors"
    assert top["language"] == "en" and top["rank"] == 1 and len(res["hits"]) == 3
    assert "minilm" in res["route"]

    code, out, _ = run_cli(capsys, "query", "red button", *store_args, "--json",
                           "--filter", '{"format": "pdf"}')
    hits = json.loads(out)["hits"]
    assert [h["page"] for h in hits] == [1, 2]

    code, out, _ = run_cli(capsys, "query", "mailman", *store_args, "--json", "--mode",
                           "keyword", "-k", "1")
    assert json.loads(out)["hits"][0]["source"].endswith("pets.html")

    code, out, _ = run_cli(capsys, "query", "what does alpha zero mean", *store_args,
                           "--mode", "hybrid", "--alpha", "0.5", "-k", "2")
    assert code == 0 and out.startswith(" 1. ") and "guide.md § Guide > Hybrid search" in out

    code, out, _ = run_cli(capsys, "ask", "What does alpha zero mean?", *store_args, "--json")
    ans = json.loads(out)
    assert ans["method"] == "extractive" and "BM25 only" in ans["answer"]
    assert ans["cited"] and ans["sources"][ans["cited"][0] - 1]["section"].endswith("Hybrid search")

    code, out, _ = run_cli(capsys, "ask", "Why do dogs bark?", *store_args)
    assert code == 0 and "Dogs bark loudly" in out and "Sources:" in out

    # a file that shrinks loses its old chunks
    (corpus / "guide.md").write_text("# Guide\n\nOnly one short section now.\n")
    code, out, _ = run_cli(capsys, "ingest", str(corpus / "guide.md"), *store_args, "--json")
    assert json.loads(out)["collection_chunks"] == 5


def test_ask_with_an_llm_server(capsys, corpus, store_args) -> None:
    """`ask --llm` talks to any OpenAI-compatible server (here a local one)."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: list[dict] = []

    class Chat(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = json.dumps({"choices": [{"message": {"content": "Dogs bark [1]."}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Chat)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert run_cli(capsys, "ingest", str(corpus / "pets.html"), *store_args)[0] == 0
        code, out, err = run_cli(capsys, "ask", "Why do dogs bark?", *store_args, "--llm",
                                 "local-model", "--llm-url",
                                 f"http://127.0.0.1:{server.server_port}/v1", "--json")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, err
    ans = json.loads(out)
    assert ans["answer"] == "Dogs bark [1]." and ans["method"] == "llm:local-model"
    assert ans["cited"] == [1]
    prompt = seen[0]["messages"][0]["content"]
    assert "Dogs bark loudly at the mailman" in prompt and "Question: Why do dogs bark?" in prompt


def test_errors_have_messages_and_exit_codes(capsys, corpus, store_args, tmp_path) -> None:
    code, _, err = run_cli(capsys, "query", "anything", *store_args)
    assert code == 1 and "does not exist" in err and "embedweave ingest" in err
    code, _, err = run_cli(capsys, "ingest", str(tmp_path / "nope"), *store_args)
    assert code == 1 and "no such file or directory" in err
    code, _, err = run_cli(capsys, "ingest", str(corpus / "photo.jpg"), *store_args)
    assert code == 1 and "unsupported file type" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(capsys, "ingest", str(empty), *store_args)
    assert code == 1 and "no supported files" in err
    # one bad file: the rest is ingested, the failure reported, exit code 1
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    code, out, err = run_cli(capsys, "ingest", str(corpus), *store_args)
    assert code == 1 and "broken.pdf" in err and "ingested 4 file(s)" in out
    code, _, err = run_cli(capsys, "query", "x", *store_args, "--funnel", "64")
    assert code == 1 and "DIMS:SHORTLIST" in err
    code, _, err = run_cli(capsys, "query", "x", *store_args, "--alpha", "2", "--mode", "hybrid")
    assert code == 1 and "alpha" in err
    code, _, err = run_cli(capsys, "query", "x", *store_args, "--filter", "{bad")
    assert code == 1 and "not valid JSON" in err
    with pytest.raises(SystemExit) as usage:
        main(["query"])
    assert usage.value.code == 2


def test_query_needs_a_running_server(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("EMBEDWEAVE_WEAVIATE_URL", raising=False)
    code, _, err = run_cli(capsys, "query", "x", "--data-dir", str(tmp_path / "none"))
    assert code == 1 and "no Weaviate is running" in err and "embedweave weaviate start" in err


def test_console_script_usage_error_exits_2() -> None:
    exe = shutil.which("embedweave", path=str(Path(sys.executable).parent))
    assert exe, "the embedweave console script is not installed in the venv"
    proc = subprocess.run([exe, "query"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "QUERY" in proc.stderr


def write_beir(folder: Path) -> Path:
    docs = {"d1": "Bees dance to show where flowers are.", "d2": "Lighthouses guide ships.",
            "d3": "Magma rises from the mantle.", "d4": "Tea is brewed in a pot."}
    queries = {"q1": "how do bees find flowers", "q2": "what guides ships at night",
               "q3": "where does magma come from"}
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": d, "title": "", "text": t}) + "\n" for d, t in docs.items()))
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items()))
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n")
    return folder


def test_eval_command_sweeps_and_saves(capsys, weaviate_server, tmp_path) -> None:
    data = write_beir(tmp_path / "mini")
    conn = ["--url", weaviate_server.url, "--grpc-port", str(weaviate_server.grpc_port)]
    out_dir = tmp_path / "results"
    code, out, err = run_cli(capsys, "eval", "--data", str(data), "--mode", "hybrid",
                             "--alpha", "0,1", "--k-values", "1,3", "--out", str(out_dir),
                             "--json", "--no-keep", *conn)
    assert code == 0, err
    results = json.loads(out)["results"]
    assert [r["config"]["alpha"] for r in results] == [0.0, 1.0]
    assert all(r["metrics"]["ndcg@3"] > 0.9 for r in results)  # easy queries
    saved = json.loads((out_dir / "results.json").read_text())
    assert saved["results"][0]["metrics"] == results[0]["metrics"]
    assert (out_dir / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    code, out, _ = run_cli(capsys, "eval", "--data", str(data), "--k-values", "1,3",
                           "--store", "memory", "--model", "wordllama-256", "--dims", "64,128")
    assert code == 0 and "wordllama-256@64 dense" in out and "memory (exact search)" in out
    code, _, err = run_cli(capsys, "eval", "--data", str(tmp_path / "nothing"), *conn)
    assert code == 1 and "not a BEIR dataset folder" in err
    code, _, err = run_cli(capsys, "eval", "--data", str(data), "--mode", "fuzzy", *conn)
    assert code == 1 and "--mode" in err


def test_fresh_setup_ingest_docs_then_query_finds_matryoshka(capsys, tmp_path,
                                                              monkeypatch) -> None:
    """The issue's acceptance: `embedweave ingest docs/ && embedweave query "How do I shrink
    vectors?"` on a fresh setup (no server running: ingest starts one, detached)."""
    for var in ("EMBEDWEAVE_WEAVIATE_URL", "EMBEDWEAVE_COLLECTION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("EMBEDWEAVE_WEAVIATE_DATA", str(tmp_path / "weaviate"))
    monkeypatch.chdir(ROOT)
    try:
        code, out, err = run_cli(capsys, "ingest", "docs/")
        assert code == 0, err
        assert "starting a local Weaviate" in err and "ingested" in out
        code, out, err = run_cli(capsys, "query", "How do I shrink vectors?", "--json")
        assert code == 0, err
        top = json.loads(out)["hits"][0]
        assert top["source"].startswith("docs/") and "Matryoshka" in (top["section"] or ""), top
    finally:
        assert main(["weaviate", "stop"]) == 0
    assert main(["weaviate", "status"]) == 3  # not running any more
    capsys.readouterr()


@pytest.mark.slow
def test_query_rerank_scores_hits_with_the_given_cross_encoder(
    capsys, tmp_path, store_args, scifact_reranker
) -> None:
    from embedweave.rerank import Reranker

    claim = "Vitamin D supplementation reduces the risk of hip fractures in elderly people."
    texts = {
        "market.txt": "The stock market closed higher on Tuesday after strong earnings.",
        "trial.txt": "A randomized trial of vitamin D and calcium supplements in older adults "
                     "found fewer hip fractures in the treated group than with placebo.",
        "plants.txt": "Photosynthesis converts light energy into chemical energy in plants.",
        "bones.txt": "Bone density falls with age, and falls are the main cause of fractures.",
    }
    root = tmp_path / "sci"
    root.mkdir()
    for name, text in texts.items():
        (root / name).write_text(text)
    code, _, err = run_cli(capsys, "ingest", str(root), *store_args)
    assert code == 0, err

    code, out, err = run_cli(capsys, "query", claim, *store_args, "--json", "-k", "3")
    assert code == 0, err
    plain = json.loads(out)["hits"]
    assert all(h["first_stage_rank"] is None for h in plain)  # no reranking asked

    code, out, err = run_cli(capsys, "query", claim, *store_args, "--json", "-k", "3",
                             "--rerank", str(scifact_reranker))
    assert code == 0, err
    hits = json.loads(out)["hits"]
    assert len(hits) == 3 and hits[0]["source"].endswith("trial.txt")
    # the scores are the given model's (a folder: not blended), best first, and each hit
    # keeps where the first stage had put it
    raw = Reranker(scifact_reranker, device="cpu").score(claim, [h["text"] for h in hits])
    assert [h["score"] for h in hits] == pytest.approx([float(s) for s in raw], abs=1e-4)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all(isinstance(h["first_stage_rank"], int) for h in hits)

    missing = tmp_path / "no-such-model"
    code, _, err = run_cli(capsys, "query", claim, *store_args, "--rerank", str(missing))
    assert code == 1 and "no-such-model" in err

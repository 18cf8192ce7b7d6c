"""API embedding throughput: embedweave vs LangChain ``OpenAIEmbeddings`` and LlamaIndex
``OpenAIEmbedding`` against one local OpenAI-protocol server, side by side in one process.

The server (``ThreadingHTTPServer`` on 127.0.0.1) answers ``POST /v1/embeddings`` like
OpenAI (base64 float32, ``index``, ``usage``) after a fixed latency per request (default
100 ms), with a fixed unit vector per text (1536 dims, precomputed), so every returned
vector is checked against what the server would return for that text: any lost or
misordered vector is counted. A second round answers 10% of requests (drawn at random,
seeded) with 429 and ``Retry-After: 1``. Each client embeds a small warm-up list first,
then 10,000 texts; rounds rotate the order of the systems. Each system's best and median
round are printed, each against embedweave's: with 429s the median is the fairer figure,
since the best round is the one that drew the fewest.

Systems at their defaults: LangChain ``OpenAIEmbeddings`` (1,000 texts per request, one
request at a time, ``max_retries=2``; ``check_embedding_ctx_length=False`` because its
default tiktoken split needs a download this machine cannot make, and skipping it only
saves LangChain time), LlamaIndex ``OpenAIEmbedding`` (100 texts per request, one at a
time, ``max_retries=10``), embedweave ``Embedder("openai:text-embedding-3-small")``
(2,048 texts per request, up to 8 in flight). Also embedweave limited to one request in
flight and to their batch sizes, so the ratios can be read at the same limits.

Reproduce:
    .venv/bin/python benchmarks/api_embed_throughput.py              # ~2 min
    .venv/bin/python benchmarks/api_embed_throughput.py --n 2000 --rounds 1   # quick
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import json
import os
import random
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

COMMAND = "python benchmarks/api_embed_throughput.py"
DIMS = 1536
KEY = "sk-bench"


class Server:
    """OpenAI ``/v1/embeddings`` with fixed latency, optional random 429s, fixed vectors."""

    def __init__(self, texts: list[str], latency: float) -> None:
        self.latency = latency
        self.rate_429 = 0.0
        self.rng = random.Random(0)
        self.lock = threading.Lock()
        self.requests = 0
        self.rejected = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.vectors = {t: unit(t) for t in texts}
        # precomputed base64 answers, so the server's own CPU is small beside the clients'
        self.b64 = {t: base64.b64encode(v.tobytes()).decode() for t, v in self.vectors.items()}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 128
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def reset(self, rate_429: float) -> None:
        with self.lock:
            self.rate_429, self.requests, self.rejected, self.max_in_flight = rate_429, 0, 0, 0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # /stats: counters for a client in another process
                with srv.lock:
                    stats = {"requests": srv.requests, "rejected": srv.rejected,
                             "max_in_flight": srv.max_in_flight}
                self._send(200, stats)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.endswith("/reset"):
                    srv.reset(float(body["rate_429"]))
                    self._send(200, {})
                    return
                with srv.lock:
                    srv.requests += 1
                    srv.in_flight += 1
                    srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
                    reject = srv.rng.random() < srv.rate_429
                    srv.rejected += reject
                try:
                    time.sleep(srv.latency)
                    if reject:
                        self._send(429, {"error": {"message": "rate limited", "type": "x"}},
                                   {"Retry-After": "1"})
                        return
                    texts = body["input"]
                    if body.get("encoding_format") == "base64":
                        emb = [f'"{srv.b64[t]}"' for t in texts]
                    else:
                        emb = [json.dumps(srv.vectors[t].tolist()) for t in texts]
                    n_tok = sum(len(t.split()) for t in texts)
                    items = ",".join(f'{{"object":"embedding","index":{i},"embedding":{e}}}'
                                     for i, e in enumerate(emb))
                    raw = (f'{{"object":"list","data":[{items}],"model":"{body["model"]}",'
                           f'"usage":{{"prompt_tokens":{n_tok},"total_tokens":{n_tok}}}}}')
                    self._send(200, raw.encode())
                finally:
                    with srv.lock:
                        srv.in_flight -= 1

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None
                      ) -> None:
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


class RemoteServer:
    """The same server in a child process, so its CPU and GIL are not the clients'."""

    def __init__(self, texts: list[str], latency: float) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(texts, latency, child), daemon=True)
        self.proc.start()
        self.url = parent.recv()
        self.vectors = {t: unit(t) for t in texts}
        self.requests = self.rejected = self.max_in_flight = 0

    def _call(self, path: str, body: Any = None) -> Any:
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:  # loopback only
            return json.loads(resp.read())

    def reset(self, rate_429: float) -> None:
        self._call("/reset", {"rate_429": rate_429})

    def refresh(self) -> None:
        stats = self._call("/stats")
        self.requests, self.rejected = stats["requests"], stats["rejected"]
        self.max_in_flight = stats["max_in_flight"]


def _serve(texts: list[str], latency: float, conn: Any) -> None:
    srv = Server(texts, latency)
    conn.send(srv.url)
    threading.Event().wait()


def unit(text: str) -> np.ndarray:
    """The fixed unit vector the server returns for ``text``."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(DIMS).astype("<f4")
    return v / np.linalg.norm(v)


def make_systems(url: str) -> dict[str, Callable[[list[str]], Any]]:
    from langchain_openai import OpenAIEmbeddings
    from llama_index.embeddings.openai import OpenAIEmbedding

    from embedweave.embedding import Embedder

    model = "text-embedding-3-small"
    lc = OpenAIEmbeddings(model=model, api_key=KEY, base_url=url,  # type: ignore[arg-type]
                          check_embedding_ctx_length=False)
    li = OpenAIEmbedding(model=model, api_key=KEY, api_base=url)
    ew = Embedder(f"openai:{model}", api_key=KEY, base_url=url)
    ew1 = Embedder(f"openai:{model}", api_key=KEY, base_url=url, max_concurrency=1)
    ew_lc = Embedder(f"openai:{model}", api_key=KEY, base_url=url, max_concurrency=1,
                     request_size=1000)
    ew_li = Embedder(f"openai:{model}", api_key=KEY, base_url=url, max_concurrency=8,
                     request_size=100)
    return {
        "embedweave (defaults: 2048/request, 8 in flight)": ew.embed_documents,
        "embedweave, 1 in flight": ew1.embed_documents,
        "embedweave, 1000/request, 1 in flight (LangChain's shape)": ew_lc.embed_documents,
        "embedweave, 100/request, 8 in flight": ew_li.embed_documents,
        "LangChain OpenAIEmbeddings (defaults)": lc.embed_documents,
        "LlamaIndex OpenAIEmbedding (defaults)": li.get_text_embedding_batch,
    }


def check(out: Any, texts: list[str], srv: Server) -> tuple[int, int]:
    """(lost, wrong): missing rows, and rows not equal to the server's vector for the text."""
    arr = np.asarray(out, dtype=np.float32)
    lost = len(texts) - (arr.shape[0] if arr.ndim == 2 else 0)
    wrong = 0
    for row, t in zip(arr, texts, strict=False):
        if not np.allclose(row, srv.vectors[t], atol=1e-5):
            wrong += 1
    return lost, wrong


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="texts per run")
    ap.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    ap.add_argument("--rounds", type=int, default=1, help="rounds per setting")
    ap.add_argument("--in-process", action="store_true",
                    help="run the server in this process (its CPU then competes with the clients')")
    args = ap.parse_args()
    texts = [f"document {i}: notes on vector search, chunk {i % 97} of the corpus"
             for i in range(args.n)]
    warm = [f"warm-up text {i}" for i in range(8)]
    srv: Any
    if args.in_process:
        srv = Server(texts + warm, args.latency)
    else:
        srv = RemoteServer(texts + warm, args.latency)
    systems = make_systems(srv.url)
    for f in systems.values():
        f(warm)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    where = "in this process" if args.in_process else "in a child process"
    print(f"{args.n} texts, {args.latency * 1000:.0f} ms per request, {DIMS} dims, server "
          f"{where}, commit {commit}, {os.cpu_count()} CPUs")
    for rate in (0.0, 0.10):
        print(f"\n429 rate {rate:.0%} (Retry-After: 1)")
        results: dict[str, list[float]] = {name: [] for name in systems}
        drawn: dict[str, list[int]] = {name: [] for name in systems}
        failed: dict[str, list[str]] = {name: [] for name in systems}
        notes: dict[str, str] = {}
        for r in range(args.rounds):
            names = list(systems)
            names = names[r % len(names):] + names[: r % len(names)]
            for name in names:
                srv.reset(rate)
                start = time.perf_counter()
                try:
                    out = systems[name](texts)
                except Exception as exc:  # a peer giving up is a result, not a crash
                    failed[name].append(f"{type(exc).__name__}: {str(exc)[:60]}")
                    out = None
                took = time.perf_counter() - start
                if not args.in_process:
                    srv.refresh()
                drawn[name].append(srv.rejected)
                if out is None:
                    continue
                lost, wrong = check(out, texts, srv)
                # free this answer now: freed on the next assignment, a peer's 15M Python
                # floats would be timed as the next system's (0.2 s to free here)
                del out
                gc.collect()
                results[name].append(took)
                notes[name] = f"max {srv.max_in_flight} in flight, lost {lost}, misordered {wrong}"
        ours = results["embedweave (defaults: 2048/request, 8 in flight)"]
        best, mid = min(ours), statistics.median(ours)
        print(f"{'system':58s} {'best s':>6s} {'texts/s':>8s} {'embedweave x':>12s} "
              f"{'median s':>8s} {'x':>5s}  checks")
        for name, times in results.items():
            checks = f"429s per round {drawn[name]}, {notes.get(name, '')}"
            if failed[name]:
                checks += (f"; FAILED {len(failed[name])} of {args.rounds} rounds "
                           f"(left out of its times): {failed[name][0]}")
            if not times:
                print(f"{name:58s} {'-':>6s} {'-':>8s} {'-':>12s} {'-':>8s} {'-':>5s}  {checks}")
                continue
            t, m = min(times), statistics.median(times)
            print(f"{name:58s} {t:6.2f} {args.n / t:8.0f} {t / best:11.1f}x "
                  f"{m:8.2f} {m / mid:4.1f}x  {checks}")
    flag = " --in-process" if args.in_process else ""
    print(f"\nreproduce: {COMMAND} --n {args.n} --latency {args.latency} "
          f"--rounds {args.rounds}{flag}")


if __name__ == "__main__":
    main()

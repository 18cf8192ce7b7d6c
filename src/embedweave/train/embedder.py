"""Fine-tune an embedding model on your own (query, positive) pairs, with mined hard negatives.

``train_embedder`` runs sentence-transformers' ``SentenceTransformerTrainer`` with
``MultipleNegativesRankingLoss`` (in-batch negatives plus mined hard negatives, the
no-duplicates batch sampler so no batch holds a text twice) inside ``MatryoshkaLoss``
over the dims asked for, so the model stays good when truncated. Negatives come from
``mining.mine_negatives`` (BM25 + the model being trained, minus positives, with the
false-negative guard), re-mined with the current weights each epoch when asked. The
output is a plain sentence-transformers folder (with the base model's prompts) plus a
model card and a manifest, so ``Embedder(path)`` and everything built on it load it.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedweave.errors import ModelNotAvailableError
from embedweave.eval.beir import BeirDataset
from embedweave.models import ST_BACKEND, ModelSpec, resolve_model
from embedweave.paths import cache_dir
from embedweave.precision import bf16_native
from embedweave.train.data import TrainingData
from embedweave.train.mining import POOL_MINERS, MinedPools, mine_negatives
from embedweave.train.report import BeforeAfter, dims_scores

logger = logging.getLogger(__name__)

#: File written last into a trained embedder folder; its presence marks it complete.
EMBEDDER_MANIFEST = "embedweave-embedder.json"
#: Bump when the training code changes in a way the config does not show.
EMBEDDER_RECIPE_VERSION = 1
#: Matryoshka dims tried by default (those <= the model's native dims, native included).
STANDARD_DIMS = (1024, 768, 512, 384, 256, 128, 64)


@dataclass(frozen=True)
class EmbedderTrainConfig:
    """Hyper-parameters of an embedder fine-tune; any change gives a new cache folder.

    Attributes:
        dims: Matryoshka dims (native included); ``None`` = the native dims and each
            of ``STANDARD_DIMS`` below it down to 64.
        matryoshka: Wrap the loss in ``MatryoshkaLoss`` over ``dims`` (else plain MNRL).
        negatives: Hard negatives per (query, positive) row, drawn afresh each epoch.
        miners: Where negatives come from: ``random``, ``bm25``, ``dense`` (the model
            being trained); empty = in-batch negatives only.
        pool: Candidates each miner contributes per query.
        guard: False-negative guard (drop candidates scoring above this fraction of
            the positive's score); ``None`` = off.
        remine: Mine again with the current weights before every epoch after the first.
        epochs: Passes over the pairs.
        batch_size: Rows per step (each row's negatives and the other rows' texts are
            its in-batch negatives).
        mini_batch_size: Use ``CachedMultipleNegativesRankingLoss`` with this
            mini-batch (large batches in bounded memory); ``None`` = plain MNRL.
        learning_rate: Peak AdamW learning rate (linear warm-up and decay).
        warmup_ratio: Share of steps warming up.
        weight_decay: AdamW weight decay.
        max_seq_length: Token window while training; ``None`` = the model's.
        scale: Inverse temperature of the loss's softmax over cosine scores.
        seed: Seed of sampling, shuffling and the trainer.
    """

    dims: tuple[int, ...] | None = None
    matryoshka: bool = True
    negatives: int = 1
    miners: tuple[str, ...] = ("bm25", "dense")
    pool: int = 30
    guard: float | None = 0.95
    remine: bool = False
    epochs: int = 2
    batch_size: int = 32
    mini_batch_size: int | None = None
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_seq_length: int | None = None
    scale: float = 20.0
    seed: int = 13

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "pool"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.negatives < 0:
            raise ValueError(f"negatives must be >= 0, got {self.negatives}")
        if self.negatives and not self.miners:
            raise ValueError("negatives > 0 needs at least one miner")
        if set(self.miners) - set(POOL_MINERS) or len(set(self.miners)) != len(self.miners):
            raise ValueError(f"miners must be distinct names from {POOL_MINERS}, "
                             f"got {self.miners!r}")
        if self.dims is not None and (not self.dims or min(self.dims) < 1):
            raise ValueError(f"dims must be positive sizes, got {self.dims!r}")
        if self.guard is not None and not 0 < self.guard <= 1:
            raise ValueError(f"guard must be in (0, 1] or None, got {self.guard}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.mini_batch_size is not None and self.mini_batch_size < 1:
            raise ValueError(f"mini_batch_size must be >= 1, got {self.mini_batch_size}")

    def dims_for(self, native: int) -> tuple[int, ...]:
        """The Matryoshka dims for a model of ``native`` dims, largest first.

        Raises:
            ValueError: when a dims asked for exceeds ``native``.
        """
        if self.dims is None:
            return (native, *(d for d in STANDARD_DIMS if 64 <= d < native))
        too_big = [d for d in self.dims if d > native]
        if too_big:
            raise ValueError(f"dims {too_big} exceed the model's {native} dims")
        return tuple(sorted(set(self.dims) | {native}, reverse=True))

    def fingerprint(self) -> str:
        """Short hash of the recipe (and its version)."""
        blob = json.dumps({"recipe": EMBEDDER_RECIPE_VERSION, **dataclasses.asdict(self)},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass
class TrainedEmbedder:
    """Result of ``train_embedder``.

    Attributes:
        path: The model folder (pass it to ``Embedder``).
        manifest: What the manifest file records (config, data, mining, timing, losses).
        report: Before/after scores when an evaluation set was given.
        vectors: With ``keep_vectors``: ``"base"``/``"tuned"`` -> the evaluation
            vectors ``dims_scores`` computed (``"documents"``, ``"queries"``).
    """

    path: Path
    manifest: dict[str, Any]
    report: BeforeAfter | None = None
    vectors: dict[str, dict[str, np.ndarray]] | None = None


def data_fingerprint(data: TrainingData) -> str:
    """Short hash of the training data (corpus, queries, positives, given negatives)."""
    h = hashlib.sha256()
    for part in (data.corpus, data.queries, data.positives, data.negatives):
        h.update(json.dumps(part, sort_keys=True).encode())
    return h.hexdigest()[:12]


def embedder_cache_path(base: ModelSpec, data: TrainingData, config: EmbedderTrainConfig
                        ) -> Path:
    """Cache folder of one (base model, data, recipe): ``<cache>/embedders/<name>``."""
    key = hashlib.sha256(
        f"{base.fingerprint}:{data_fingerprint(data)}:{config.fingerprint()}".encode()
    ).hexdigest()[:12]
    stem = Path(base.name).name if base.source == "local" else base.name
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in f"{stem}-{data.name}")
    return cache_dir() / "embedders" / f"{safe}-ft-{key}"


def is_trained_embedder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds a completely written fine-tuned embedder."""
    return (Path(path) / EMBEDDER_MANIFEST).is_file()


def load_st_model(spec: ModelSpec, device: str) -> Any:
    """The ``SentenceTransformer`` of a spec (folders, hub models, static weights).

    Raises:
        ModelNotAvailableError: for models that are not sentence-transformers (USE, APIs).
    """
    if spec.backend != ST_BACKEND:
        raise ModelNotAvailableError(
            f"model {spec.name!r} ({spec.backend}) cannot be fine-tuned here: only "
            "sentence-transformers models can (e.g. minilm, wordllama-256, a model folder)"
        )
    from embedweave.backends.sentence_transformer import SentenceTransformerBackend

    return SentenceTransformerBackend.load(spec, device).model


def st_encoder(model: Any, prompts: dict[str, str], *, bf16: bool, batch_size: int = 64
               ) -> Any:
    """``encode(texts, kind)`` of a live model: its prompts, unit vectors, bf16 where native.

    Used for dense mining, the guard and evaluation, so all see the weights as trained.
    """
    import torch

    def encode(texts: Sequence[str], kind: str) -> np.ndarray:
        was_training = model.training
        model.eval()
        try:
            with torch.autocast(device_type=model.device.type, dtype=torch.bfloat16,
                                enabled=bf16):
                vecs = model.encode(list(texts), prompt=prompts.get(kind, ""),
                                    batch_size=batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        finally:
            model.train(was_training)
        return np.asarray(vecs, dtype=np.float32)

    return encode


def train_embedder(
    data: TrainingData,
    output_dir: str | os.PathLike[str] | None = None,
    config: EmbedderTrainConfig | None = None,
    *,
    base: str | os.PathLike[str] = "minilm",
    eval_data: BeirDataset | TrainingData | None = None,
    device: str | None = None,
    show_progress: bool = False,
    keep_vectors: bool = False,
) -> TrainedEmbedder:
    """Fine-tune ``base`` on ``data``; save a sentence-transformers folder with a model card.

    Without ``output_dir`` the model goes to a cache folder keyed by the base model, the
    data and the recipe, trained once (a file lock keeps concurrent callers from
    training twice) and reused after.

    Args:
        data: Training pairs (``embedweave.train.data``).
        output_dir: Target folder; must not already hold a trained embedder.
        config: The recipe (default ``EmbedderTrainConfig()``).
        base: Base model: bundled name, folder or HF id (sentence-transformers models).
        eval_data: Held-out queries to score base and fine-tuned on (test split or
            ``TrainingData.split``); must not share queries with ``data``.
        device: Torch device; default CUDA when available, else CPU.
        show_progress: Show the trainer's progress bar.
        keep_vectors: Return the base and fine-tuned evaluation vectors (benchmarks
            reuse them instead of encoding the corpus again).

    Raises:
        FileExistsError: ``output_dir`` already holds a trained embedder.
        ValueError: bad dims, or ``eval_data`` sharing queries with ``data``.
        ModelNotAvailableError: the base is not a sentence-transformers model, or the
            ``train`` extra (``datasets``, ``accelerate``) is missing.
    """
    config = config or EmbedderTrainConfig()
    spec = resolve_model(base)
    if isinstance(eval_data, TrainingData):
        eval_data = eval_data.as_beir("held-out")
    if eval_data is not None:
        shared = {data.queries[q] for q in data.queries} & set(eval_data.queries.values())
        if shared:
            raise ValueError(f"eval_data shares {len(shared)} queries with the training data "
                             f"(e.g. {sorted(shared)[0]!r}); evaluate on held-out queries")
    if output_dir is not None:
        out = Path(output_dir)
        if is_trained_embedder(out):
            raise FileExistsError(f"{out} already holds a trained embedder; delete it to retrain")
        return _train(data, out, config, spec, eval_data, device, show_progress, keep_vectors)
    from filelock import FileLock

    out = embedder_cache_path(spec, data, config)
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not is_trained_embedder(out):
            return _train(data, out, config, spec, eval_data, device, show_progress,
                          keep_vectors)
    manifest = json.loads((out / EMBEDDER_MANIFEST).read_text(encoding="utf-8"))
    report = manifest.get("before_after")
    return TrainedEmbedder(out, manifest, BeforeAfter.from_dict(report) if report else None)


def _train(
    data: TrainingData,
    out: Path,
    config: EmbedderTrainConfig,
    spec: ModelSpec,
    eval_data: BeirDataset | None,
    device: str | None,
    show_progress: bool,
    keep_vectors: bool = False,
) -> TrainedEmbedder:
    import torch

    try:
        from datasets import Dataset
        from sentence_transformers import (
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
        )
        from sentence_transformers.base.sampler import BatchSamplers
        from sentence_transformers.sentence_transformer.losses import (
            CachedMultipleNegativesRankingLoss,
            MatryoshkaLoss,
            MultipleNegativesRankingLoss,
        )
        from transformers import PrinterCallback, TrainerCallback, set_seed
        from transformers.optimization import get_linear_schedule_with_warmup
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"training an embedder needs the 'train' extra ({exc}); "
            "pip install 'embedweave[train]'"
        ) from exc
    started = time.time()
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    bf16 = bf16_native(dev)
    set_seed(config.seed)
    model = load_st_model(spec, str(dev))
    if config.max_seq_length is not None:
        model.max_seq_length = config.max_seq_length
    native = int(model.get_embedding_dimension())
    dims = config.dims_for(native)
    prompts = {"query": spec.query_prompt, "document": spec.document_prompt}
    live = st_encoder(model, prompts, bf16=bf16)
    untrained: dict[tuple[str, int], np.ndarray] = {}  # base-weight vectors, reused once

    def encode(texts: Sequence[str], kind: str) -> np.ndarray:
        if losses or trained_once:  # the weights moved: always encode afresh
            return live(texts, kind)
        key = (kind, hash(tuple(texts)))
        if key not in untrained:
            untrained[key] = live(texts, kind)
        return untrained[key]

    trained_once = False
    losses: list[float] = []
    kept: dict[str, dict[str, np.ndarray]] = {"base": {}, "tuned": {}}
    before = (dims_scores(encode, eval_data, dims, vectors=kept["base"])
              if eval_data is not None else None)
    seconds_eval = time.time() - started

    rng = random.Random(config.seed)
    pairs = data.pairs()
    mining: list[dict[str, Any]] = []

    def mine() -> MinedPools | None:
        if not config.negatives:
            return None
        t = time.time()
        pools = mine_negatives(data.corpus, data.queries, data.positives,
                               miners=config.miners, k=config.pool,
                               encode=encode if ("dense" in config.miners
                                                 or config.guard is not None) else None,
                               guard=config.guard, seed=rng.randrange(1 << 30))
        mining.append({"positives_removed": pools.positives_removed,
                       "guard_removed": pools.guard_removed,
                       "seconds": round(time.time() - t, 1)})
        return pools

    negative_cols = [f"negative_{i + 1}" for i in range(config.negatives)]
    short = 0

    def rows(pools: MinedPools | None) -> Any:
        nonlocal short
        order = list(pairs)
        rng.shuffle(order)
        cols: dict[str, list[str]] = {"anchor": [], "positive": []}
        for c in negative_cols:
            cols[c] = []
        for qid, pid in order:
            cols["anchor"].append(data.queries[qid])
            cols["positive"].append(data.corpus[pid])
            if not negative_cols:
                continue
            assert pools is not None
            given = list(data.negatives.get(qid, []))
            rng.shuffle(given)
            pool = [d for d in pools.pools.get(qid, []) if d not in given]
            need = config.negatives - min(len(given), config.negatives)
            picked = given[: config.negatives] + rng.sample(pool, min(need, len(pool)))
            if len(picked) < config.negatives:  # a tiny pool: top up with random documents
                short += 1
                known = set(data.positives[qid]) | set(picked)
                rest = [d for d in data.corpus if d not in known]
                picked += rng.sample(rest, min(len(rest), config.negatives - len(picked)))
            if len(picked) < config.negatives:
                raise ValueError(f"corpus too small for {config.negatives} negatives per query")
            for c, d in zip(negative_cols, picked, strict=True):
                cols[c].append(data.corpus[d])
        return Dataset.from_dict(cols)

    inner: Any
    if config.mini_batch_size is not None:
        inner = CachedMultipleNegativesRankingLoss(model, scale=config.scale,
                                                   mini_batch_size=config.mini_batch_size)
    else:
        inner = MultipleNegativesRankingLoss(model, scale=config.scale)
    loss = MatryoshkaLoss(model, inner, list(dims)) if config.matryoshka else inner

    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    total = steps_per_epoch * config.epochs
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, round(total * config.warmup_ratio),
                                                total)
    column_prompts = {c: prompts["document"] for c in ("positive", *negative_cols)}
    column_prompts["anchor"] = prompts["query"]
    column_prompts = {c: p for c, p in column_prompts.items() if p}

    class _Losses(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:
            if logs and "loss" in logs:
                if not math.isfinite(logs["loss"]):
                    raise FloatingPointError(
                        f"embedder training diverged at step {state.global_step}"
                    )
                losses.append(float(logs["loss"]))

    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    seconds_train = 0.0
    try:
        pools = mine()
        for epoch in range(config.epochs):
            if epoch and config.remine:
                pools = mine()
            t = time.time()
            args = SentenceTransformerTrainingArguments(
                output_dir=str(tmp / "trainer"),
                num_train_epochs=1,
                per_device_train_batch_size=config.batch_size,
                batch_sampler=BatchSamplers.NO_DUPLICATES,
                prompts=column_prompts or None,
                max_grad_norm=1.0,
                bf16=bf16,
                use_cpu=dev.type == "cpu",
                seed=config.seed + epoch,
                data_seed=config.seed + epoch,
                logging_steps=1,
                logging_nan_inf_filter=False,  # a diverged loss must reach _Losses
                save_strategy="no",
                report_to="none",
                disable_tqdm=not show_progress,
                dataloader_num_workers=0,
            )
            trainer = SentenceTransformerTrainer(
                model=model, args=args, train_dataset=rows(pools), loss=loss,
                optimizers=(optimizer, scheduler), callbacks=[_Losses()],
            )
            trainer.remove_callback(PrinterCallback)
            trained_once = True
            trainer.train()
            seconds_train += time.time() - t
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        model.eval()
        model.save_pretrained(str(tmp), create_model_card=False)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written is left behind
        raise
    if short:
        logger.warning("%d rows had fewer than %d mined negatives; topped up with random "
                       "documents", short, config.negatives)
    t = time.time()
    report = None
    if eval_data is not None and before is not None:
        after = dims_scores(encode, eval_data, dims, vectors=kept["tuned"])
        report = BeforeAfter(f"{eval_data.name} {eval_data.split}", len(eval_data.queries),
                             before, after, base_model=spec.name, tuned_model=str(out))
        report.save(tmp)
    seconds_eval += time.time() - t
    manifest: dict[str, Any] = {
        "recipe_version": EMBEDDER_RECIPE_VERSION,
        "config": dataclasses.asdict(config),
        "base_model": spec.name,
        "base_fingerprint": spec.fingerprint,
        "dims": list(dims),
        "data": {"name": data.name, "fingerprint": data_fingerprint(data),
                 "queries": len(data.queries), "pairs": len(pairs),
                 "corpus": len(data.corpus), "report": data.report.to_dict()},
        "mining": mining,
        "rows_topped_up": short,
        "steps": len(losses),
        "bf16": bf16,
        "device": str(dev),
        "seconds_train": round(seconds_train, 1),
        "seconds_mining": round(sum(m["seconds"] for m in mining), 1),
        "seconds_eval": round(seconds_eval, 1),
        "seconds": round(time.time() - started, 1),
        "loss_first_10": _mean(losses[:10]),
        "loss_last_10": _mean(losses[-10:]),
        "losses": [round(x, 4) for x in losses],
        "before_after": report.to_dict() if report else None,
    }
    (tmp / "README.md").write_text(model_card(manifest, spec, report), encoding="utf-8")
    (tmp / EMBEDDER_MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)  # an incomplete earlier attempt (no manifest)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out)
    logger.info("fine-tuned embedder saved to %s in %.0fs", out, manifest["seconds"])
    return TrainedEmbedder(out, manifest, report, kept if keep_vectors else None)


def model_card(manifest: dict[str, Any], spec: ModelSpec, report: BeforeAfter | None) -> str:
    """README.md of a fine-tuned folder: front matter (read back by ``resolve_model``) + facts.

    ``matryoshka_dims`` and ``language`` in the front matter are what
    ``embedweave.models`` reads, so the folder keeps the trained dims and languages.
    """
    cfg = manifest["config"]
    front = ["---", "library_name: sentence-transformers", f"base_model: {spec.name}",
             "tags: [sentence-transformers, embedweave, fine-tuned]"]
    if spec.languages and len(spec.languages) == 1:
        front.append(f"language: {spec.languages[0]}")
    if cfg["matryoshka"]:
        front.append(f"matryoshka_dims: [{', '.join(str(d) for d in manifest['dims'])}]")
    front.append("---")
    d = manifest["data"]
    miners = "+".join(cfg["miners"]) or "in-batch only"
    guard = f"guard {cfg['guard']}" if cfg["guard"] is not None else "no guard"
    lines = [
        *front, "",
        f"# {spec.name} fine-tuned on {d['name']} (embedweave)", "",
        f"- Base model: `{spec.name}` (fingerprint {spec.fingerprint})",
        f"- Data: {d['name']}: {d['pairs']} (query, positive) pairs over {d['queries']} "
        f"queries, corpus of {d['corpus']}; {d['report']['source']}",
        "- Recipe: MultipleNegativesRankingLoss"
        + (" in MatryoshkaLoss" if cfg["matryoshka"] else "")
        + f", {cfg['negatives']} hard negative(s) per pair from {miners} "
        f"(pool {cfg['pool']}, {guard}{', re-mined each epoch' if cfg['remine'] else ''}), "
        f"{cfg['epochs']} epochs, batch {cfg['batch_size']}, lr {cfg['learning_rate']}, "
        f"no-duplicates batches, bf16 {manifest['bf16']} on {manifest['device']}",
        f"- Dims: {', '.join(str(x) for x in manifest['dims'])}",
        f"- Training: {manifest['steps']} steps, {manifest['seconds_train']:.0f} s "
        f"(+ {manifest['seconds_mining']:.0f} s mining); loss {manifest['loss_first_10']} -> "
        f"{manifest['loss_last_10']}",
        f"- embedweave recipe version {manifest['recipe_version']}",
    ]
    if report is not None:
        lines += ["", f"## Before / after ({report.dataset}, {report.queries} held-out queries)",
                  "", report.table()]
    lines += ["", "Load it with `embedweave.Embedder(\"<this folder>\")`.", ""]
    return "\n".join(lines)


def _mean(xs: Sequence[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None

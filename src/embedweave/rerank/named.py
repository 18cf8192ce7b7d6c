"""Reranker models known by a short name: the general default and the ones trained here.

A named model trained by embedweave lives in the cache; training writes a small record
(``<name>.json``) naming its folder, so the query path finds it without importing any
training code. A name whose model is not built yet is an error naming the command.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from embedweave.errors import ModelNotAvailableError
from embedweave.paths import cache_dir

#: What ``Reranker()`` loads: the general English cross-encoder online users expect.
DEFAULT_RERANKER = "cross-encoder/ms-marco-MiniLM-L6-v2"


@dataclass(frozen=True)
class NamedReranker:
    """A reranker embedweave builds itself.

    Attributes:
        name: What users pass as ``Reranker(name)``.
        command: The command that builds it into the cache.
        blend: Weight its score gets against the first stage's under ``blend="auto"``
            (``None``: the rerank score alone).
        about: One line for error messages and docs.
    """

    name: str
    command: str
    blend: float | None
    about: str


#: ``scifact-minilm``: all-MiniLM-L6-v2 fine-tuned as a cross-encoder on SciFact train
#: claims. Alone it ranks below its first stages (809 training claims make a modest
#: reranker), blended it lifts each of them; 0.3 was chosen on SciFact train claims held
#: out of training (``benchmarks/rerank_scifact.py --heldout 100``).
NAMED_RERANKERS: dict[str, NamedReranker] = {
    "scifact-minilm": NamedReranker(
        "scifact-minilm", "embedweave train reranker", 0.3,
        "MiniLM cross-encoder trained on SciFact train claims",
    ),
}


def rerankers_dir() -> Path:
    """Cache folder of the rerankers trained here."""
    return cache_dir() / "rerankers"


def _record_path(name: str) -> Path:
    return rerankers_dir() / f"{name}.json"


def record_named(name: str, folder: str | os.PathLike[str], recipe: str) -> None:
    """Point a named reranker at a complete model folder (called by the trainer).

    The record is replaced atomically, so a reader sees the old or the new model.
    """
    if name not in NAMED_RERANKERS:
        raise ValueError(f"unknown named reranker {name!r}; known: {sorted(NAMED_RERANKERS)}")
    path = _record_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"path": str(Path(folder).resolve()), "recipe": recipe}))
    os.replace(tmp, path)


def resolve_named(name: str) -> Path:
    """The model folder of a named reranker.

    Raises:
        ModelNotAvailableError: when it has not been built here yet (names the command),
            or its recorded folder is gone.
    """
    known = NAMED_RERANKERS[name]
    record = _record_path(name)
    try:
        folder = Path(json.loads(record.read_text())["path"])
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotAvailableError(
            f"reranker {name!r} ({known.about}) is not built on this machine (no record at "
            f"{record}); run `{known.command}` once (minutes on a CPU), then use "
            f"Reranker({name!r})"
        ) from exc
    if not folder.is_dir():
        raise ModelNotAvailableError(
            f"reranker {name!r} points at {folder}, which no longer exists; run "
            f"`{known.command}` again"
        )
    return folder

"""Where embedweave keeps caches and finds evaluation data."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of expensive, reproducible artefacts (Weaviate binary, trained models, embeddings).

    ``$EMBEDWEAVE_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/embedweave`` or
    ``~/.cache/embedweave``. Kept outside the checkout so clean clones reuse it.
    """
    env = os.environ.get("EMBEDWEAVE_CACHE_DIR")
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "embedweave"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Evaluation data folder: ``$EMBEDWEAVE_DATA_DIR`` or ``../shared/data`` beside the repo.

    Raises:
        FileNotFoundError: when neither exists, naming both places looked at.
    """
    env = os.environ.get("EMBEDWEAVE_DATA_DIR")
    candidates = [Path(env).expanduser()] if env else []
    repo = Path(__file__).resolve().parents[2]
    candidates += [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        "evaluation data not found; set EMBEDWEAVE_DATA_DIR (looked at: "
        + ", ".join(str(c) for c in candidates)
        + ")"
    )

"""Where embedweave keeps caches and finds evaluation data."""

from __future__ import annotations

import os
import subprocess
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

    A clone made elsewhere (``git clone /path/to/checkout /tmp/x``) also looks beside the
    checkout it was cloned from, following local ``origin`` remotes, so a fresh clone
    finds the data its source checkout uses without any machine path in the project.

    Raises:
        FileNotFoundError: when none exists, naming every place looked at.
    """
    env = os.environ.get("EMBEDWEAVE_DATA_DIR")
    candidates = [Path(env).expanduser()] if env else []
    repo = Path(__file__).resolve().parents[2]
    candidates += [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    candidates += [origin.parent / "shared" / "data" for origin in _local_origins(repo)]
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        "evaluation data not found; set EMBEDWEAVE_DATA_DIR (looked at: "
        + ", ".join(str(c) for c in dict.fromkeys(candidates))
        + ")"
    )


def _local_origins(repo: Path, depth: int = 4) -> list[Path]:
    """Checkouts ``repo`` was cloned from, nearest first, while ``origin`` is a local path."""
    found: list[Path] = []
    for _ in range(depth):
        url = _origin_url(repo)
        if url is None:
            break
        if url.startswith("file://"):
            url = url[len("file://"):]
        if "://" in url or (":" in url.split("/", 1)[0] and not Path(url).exists()):
            break  # a network remote (https://, ssh, host:path): nothing local to look beside
        path = Path(url) if Path(url).is_absolute() else repo / url
        path = path.resolve()
        if path.name == ".git":
            path = path.parent
        if not path.is_dir() or path in found or path == repo:
            break
        found.append(path)
        repo = path
    return found


def _origin_url(repo: Path) -> str | None:
    """``remote.origin.url`` of the git checkout at ``repo``, or None."""
    if not (repo / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "config", "--get", "remote.origin.url"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    url = out.stdout.strip()
    return url or None

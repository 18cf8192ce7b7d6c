"""Evaluation datasets: a BEIR folder, or a BEIR name found locally or downloaded once.

A name (``scifact``, ``nfcorpus``...) is looked up in the evaluation data dir, then in
the cache, then downloaded from BEIR's server and unpacked into the cache, so a second
run reads it from disk. ``dataset_checksum`` names what an index was built from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from embedweave import paths
from embedweave.errors import EmbedweaveError
from embedweave.eval.beir import BeirDataset, load_beir
from embedweave.eval.progress import disable_progress

#: Where BEIR's datasets are published (``<name>.zip``); ``$EMBEDWEAVE_BEIR_URL`` overrides.
BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"


def resolve_dataset(name_or_path: str | os.PathLike[str], *, base_url: str | None = None,
                    show_progress: bool | None = None) -> Path:
    """A BEIR dataset folder from a path or a BEIR dataset name.

    A name (``scifact``, ``nfcorpus``...) is looked up in the evaluation data dir
    (``$EMBEDWEAVE_DATA_DIR``), then in ``<cache>/beir/``, then downloaded from
    ``base_url`` (default ``$EMBEDWEAVE_BEIR_URL`` or BEIR's server) and unpacked there.

    Raises:
        FileNotFoundError: a path that is not a BEIR folder.
        EmbedweaveError: the download failed (the message names the URL).
    """
    text = os.fspath(name_or_path)
    p = Path(text).expanduser()
    if p.exists() or os.sep in text or text.startswith((".", "~")):
        if not (p / "corpus.jsonl").is_file():
            raise FileNotFoundError(
                f"{p} is not a BEIR dataset folder (needs corpus.jsonl, queries.jsonl, qrels/)"
            )
        return p
    name = text
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"{name!r} is neither a folder nor a BEIR dataset name")
    try:
        shared = paths.data_dir() / name
        if (shared / "corpus.jsonl").is_file():
            return shared
    except FileNotFoundError:
        pass
    cached = paths.cache_dir() / "beir" / name
    if (cached / "corpus.jsonl").is_file():
        return cached
    return _download(name, cached, base_url, show_progress)


def _download(name: str, target: Path, base_url: str | None,
              show_progress: bool | None) -> Path:
    import httpx
    from tqdm import tqdm

    base = (base_url or os.environ.get("EMBEDWEAVE_BEIR_URL") or BEIR_URL).rstrip("/")
    url = f"{base}/{name}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
        archive = Path(tmp) / f"{name}.zip"
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as resp:
                if resp.status_code != 200:
                    raise EmbedweaveError(
                        f"BEIR dataset {name!r}: GET {url} answered HTTP {resp.status_code}"
                    )
                total = int(resp.headers.get("content-length") or 0) or None
                with open(archive, "wb") as f, tqdm(
                    total=total, unit="B", unit_scale=True, desc=f"downloading {name}",
                    disable=disable_progress(show_progress),
                ) as bar:
                    for block in resp.iter_bytes(1 << 16):
                        f.write(block)
                        bar.update(len(block))
        except httpx.HTTPError as exc:
            raise EmbedweaveError(f"BEIR dataset {name!r}: cannot download {url}: {exc}") from exc
        try:
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise EmbedweaveError(f"BEIR dataset {name!r}: {url} is not a zip file") from exc
        found = [c.parent for c in Path(tmp).rglob("corpus.jsonl")]
        if not found:
            raise EmbedweaveError(f"BEIR dataset {name!r}: {url} holds no corpus.jsonl")
        if target.exists():  # another process finished first
            return target
        shutil.move(str(found[0]), str(target))
    return target


def load_dataset(name_or_path: str | os.PathLike[str], split: str = "test", *,
                 max_queries: int | None = None) -> BeirDataset:
    """``resolve_dataset`` + ``load_beir``; optionally only the first ``max_queries`` queries."""
    data = load_beir(resolve_dataset(name_or_path), split)
    if max_queries is not None:
        if max_queries <= 0:
            raise ValueError(f"max_queries must be positive, got {max_queries}")
        keep = list(data.queries)[:max_queries]
        data = dataclasses.replace(
            data,
            queries={q: data.queries[q] for q in keep},
            qrels={q: data.qrels[q] for q in keep},
        )
    return data


def dataset_checksum(data: BeirDataset) -> str:
    """sha256 over the corpus ids and texts (what the index is built from)."""
    h = hashlib.sha256(data.name.encode())
    for doc_id in data.corpus:
        h.update(b"\x00" + doc_id.encode() + b"\x1f" + data.doc_text(doc_id).encode())
    return h.hexdigest()[:16]

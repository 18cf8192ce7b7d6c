"""Shared by the examples: where Weaviate is, and where the bundled example data lives.

Every example starts its own local Weaviate (no Docker) in a temporary folder unless
``--weaviate-url`` (or ``$EMBEDWEAVE_WEAVIATE_URL``) names a running one; the test
suite passes its session server that way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no per-model "Loading weights" bar

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DOCS = DATA / "docs"
MULTILINGUAL = DATA / "multilingual"


@dataclass
class Weaviate:
    """Connection settings for ``WeaviateStore`` and the framework wrappers."""

    url: str
    grpc_port: int
    server: Any = None  # the ManagedWeaviate this example started, if any

    def store_args(self) -> dict[str, Any]:
        """``url=``/``grpc_port=`` keyword arguments."""
        return {"url": self.url, "grpc_port": self.grpc_port}


def add_weaviate_args(parser: argparse.ArgumentParser, collection: str) -> None:
    """``--weaviate-url``, ``--grpc-port`` and ``--collection``."""
    parser.add_argument(
        "--weaviate-url",
        default=os.environ.get("EMBEDWEAVE_WEAVIATE_URL"),
        help="a running Weaviate (default $EMBEDWEAVE_WEAVIATE_URL; else start a local one)",
    )
    parser.add_argument(
        "--grpc-port",
        type=int,
        default=int(os.environ.get("EMBEDWEAVE_WEAVIATE_GRPC_PORT") or 50051),
        help="its gRPC port (default $EMBEDWEAVE_WEAVIATE_GRPC_PORT or 50051)",
    )
    parser.add_argument("--collection", default=collection, help="collection to (re)create")


@contextlib.contextmanager
def weaviate(args: argparse.Namespace) -> Iterator[Weaviate]:
    """The Weaviate named on the command line, or a local one for the example's lifetime."""
    if args.weaviate_url:
        yield Weaviate(args.weaviate_url, args.grpc_port)
        return
    from embedweave.server import ManagedWeaviate

    with tempfile.TemporaryDirectory(prefix="embedweave-example-") as tmp:
        print("starting a local Weaviate (no Docker) ...", flush=True)
        with ManagedWeaviate(Path(tmp) / "weaviate") as server:
            yield Weaviate(server.url, server.grpc_port, server)


def drop_collection(conn: Weaviate, name: str) -> None:
    """Delete a collection if it exists, so every run of an example starts clean."""
    from embedweave.errors import EmbedweaveError
    from embedweave.store.weaviate import WeaviateStore

    try:
        store = WeaviateStore(name, (), create=False, **conn.store_args())
    except EmbedweaveError:
        return
    store.drop()
    store.close()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """One JSON object per non-empty line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def print_answer(result: Any) -> None:
    """An ``embedweave.answer.Answer`` with its numbered sources."""
    print(f"\nAnswer ({result.method}):\n  {result.text}\n\nSources:")
    for s in result.sources:
        mark = "*" if s.number in result.cited else " "
        score = "  -  " if s.score != s.score else f"{s.score:.3f}"  # NaN: no score given
        print(f" {mark}[{s.number}] {score}  {s.label}")

"""What the ``ingest``, ``query``, ``ask`` and ``eval`` commands share: the store and the model.

The store is, in order: ``--url`` (or ``$EMBEDWEAVE_WEAVIATE_URL``), any Weaviate; else
the detached server of ``embedweave weaviate start``; else that server is started now
(detached, so the next command finds it). The model a collection was built with is
remembered per (server, collection) in ``<cache>/cli/collections.json``, so ``query``
needs no ``--model``; without a record the collection's own space record is used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedweave.errors import EmbedweaveError
from embedweave.paths import cache_dir

if TYPE_CHECKING:
    from embedweave.routing import Router
    from embedweave.store.weaviate import WeaviateStore

DEFAULT_COLLECTION = "Embedweave"
DEFAULT_MODEL = "minilm"


@dataclass(frozen=True)
class Connection:
    """Where a command's Weaviate is: URL, gRPC port, API key, and how it was found."""

    url: str
    grpc_port: int
    api_key: str | None
    origin: str  # "url", "running", "started"

    def open(
        self,
        collection: str,
        spaces: Any = (),
        *,
        create: bool = True,
        replication_factor: int | None = None,
        consistency: str | None = None,
    ) -> WeaviateStore:
        """Open (or create) a collection on this server.

        Args:
            collection: Collection name.
            spaces: Vector spaces to create or check.
            create: Create the collection when it does not exist.
            replication_factor: Copies of every object (new collections, clusters).
            consistency: Replicas that must acknowledge reads and writes.

        Raises:
            EmbedweaveError: the server cannot be reached or refuses the credentials, or
                a setting is invalid.
        """
        from weaviate.exceptions import WeaviateBaseError

        from embedweave.store.weaviate import WeaviateStore

        try:
            return WeaviateStore(
                collection, list(spaces), url=self.url, grpc_port=self.grpc_port,
                api_key=self.api_key, create=create,
                replication_factor=replication_factor, consistency=consistency,
            )  # fmt: skip
        except ValueError as exc:
            raise EmbedweaveError(str(exc)) from exc
        except WeaviateBaseError as exc:
            hint = " (check --api-key / $EMBEDWEAVE_WEAVIATE_API_KEY)" if "401" in str(
                exc) else ""
            raise EmbedweaveError(
                f"Weaviate at {self.url} (gRPC port {self.grpc_port}): {exc}{hint}"
            ) from exc


def add_store_args(p: argparse.ArgumentParser, *, collection: bool = True) -> None:
    """``--collection``, ``--url``, ``--grpc-port``, ``--api-key``, ``--data-dir``."""
    g = p.add_argument_group("store")
    if collection:
        g.add_argument(
            "-c", "--collection",
            default=os.environ.get("EMBEDWEAVE_COLLECTION", DEFAULT_COLLECTION),
            help=f"collection name (default $EMBEDWEAVE_COLLECTION or {DEFAULT_COLLECTION})",
        )  # fmt: skip
    g.add_argument(
        "--url", default=os.environ.get("EMBEDWEAVE_WEAVIATE_URL"),
        help="any Weaviate, e.g. http://127.0.0.1:8080 (default $EMBEDWEAVE_WEAVIATE_URL; "
        "else the local server of `embedweave weaviate start`, started when needed)",
    )  # fmt: skip
    g.add_argument(
        "--grpc-port", type=int,
        default=_int_env("EMBEDWEAVE_WEAVIATE_GRPC_PORT"),
        help="gRPC port of --url's server (default $EMBEDWEAVE_WEAVIATE_GRPC_PORT or 50051)",
    )  # fmt: skip
    g.add_argument(
        "--api-key", default=None,
        help="Weaviate API key (default $EMBEDWEAVE_WEAVIATE_API_KEY or $WEAVIATE_API_KEY)",
    )  # fmt: skip
    g.add_argument(
        "--data-dir", type=Path, default=None,
        help="data dir of the local server (default: that of `embedweave weaviate`)",
    )  # fmt: skip


def add_model_args(p: argparse.ArgumentParser) -> None:
    """The model a command embeds queries with; default: as the collection was ingested."""
    m = p.add_argument_group("model (default: what the collection was ingested with)")
    m.add_argument("-m", "--model", default=None, help="embedding model")
    m.add_argument("--dims", type=int, default=None, help="Matryoshka dims")
    m.add_argument("--routing", default=None, help="route table YAML")
    m.add_argument("--base-url", default=None,
                   help="API root of an openai: model's OpenAI-compatible server "
                   "(default: as ingested, else $OPENAI_BASE_URL)")


def add_output_args(p: argparse.ArgumentParser) -> None:
    """``--json`` and ``--progress/--no-progress``."""
    p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    p.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bars on stderr (default: when stderr is a terminal)",
    )  # fmt: skip


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise SystemExit(
            f"embedweave: error: ${name} must be a port number, got {value!r}"
        ) from exc


def progress_enabled(args: argparse.Namespace) -> bool | None:
    """tqdm's ``disable`` value: ``None`` lets tqdm decide by terminal."""
    flag = getattr(args, "progress", None)
    if flag is None:
        return None if sys.stderr.isatty() else True
    return not flag


def note(message: str) -> None:
    """A status line for humans on stderr (stdout stays clean for ``--json``)."""
    print(message, file=sys.stderr, flush=True)


def connect(args: argparse.Namespace, *, start: bool = True) -> Connection:
    """Find the Weaviate to use (see the module doc); start the local one if needed.

    Raises:
        EmbedweaveError: when ``start`` is False and no server is running.
    """
    api_key = (
        args.api_key
        or os.environ.get("EMBEDWEAVE_WEAVIATE_API_KEY")
        or os.environ.get("WEAVIATE_API_KEY")
    )
    if args.url:
        return Connection(args.url, args.grpc_port or 50051, api_key, "url")
    from embedweave import server as srv
    from embedweave.commands.weaviate import default_data_dir

    data = args.data_dir or default_data_dir()
    info = srv.status(data)
    origin = "running"
    if not info["running"]:
        if not start:
            raise EmbedweaveError(
                f"no Weaviate is running (data dir {data}); run `embedweave weaviate start` "
                "or pass --url"
            )
        note(f"starting a local Weaviate (data dir {data}); stop it with "
             "`embedweave weaviate stop`")
        srv.ManagedWeaviate(data).start(detach=True)
        info = srv.status(data)
        origin = "started"
    ports = info["ports"]
    return Connection(f"http://127.0.0.1:{ports['http']}", int(ports["grpc"]), api_key, origin)


# ---------------------------------------------------------------------------------------
# Which model built a collection.


def _registry_path() -> Path:
    return cache_dir() / "cli" / "collections.json"


def _registry_key(conn: Connection, collection: str) -> str:
    name = collection[0].upper() + collection[1:]
    return f"{conn.url}|{name}"


def remember(conn: Connection, collection: str, config: dict[str, Any]) -> None:
    """Record how a collection was built (model, dims, routing, chunking)."""
    path = _registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _read_registry(path)
    data[_registry_key(conn, collection)] = config
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def recall(conn: Connection, collection: str) -> dict[str, Any] | None:
    """The recorded build config of a collection, if this machine built it."""
    return _read_registry(_registry_path()).get(_registry_key(conn, collection))


def _read_registry(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def build_router(
    *,
    model: str | None,
    dims: int | None,
    routing: str | None,
    cache: bool = True,
    base_url: str | None = None,
) -> Router:
    """A router from ``--routing`` (YAML file) or one ``--model`` at ``--dims``.

    ``base_url`` is the API root of an ``openai:`` model (an OpenAI-compatible server);
    API keys come only from the provider's variable, so they are never recorded.
    """
    from embedweave.cache import EmbeddingCache
    from embedweave.routing import Router

    emb_cache = EmbeddingCache() if cache else None
    if routing:
        if model or dims:
            raise EmbedweaveError("give either --routing or --model/--dims, not both")
        path = Path(routing)
        if not path.is_file():
            raise EmbedweaveError(f"routing file not found: {routing}")
        return Router.from_settings(routing=path, cache=emb_cache)
    return Router.from_settings(
        model=model or DEFAULT_MODEL, dims=dims, cache=emb_cache, base_url=base_url or None
    )


def router_for_collection(
    args: argparse.Namespace, conn: Connection, store: WeaviateStore
) -> Router:
    """The router a collection was built with: flags, else the record, else its spaces."""
    model, dims, routing = getattr(args, "model", None), getattr(args, "dims", None), getattr(
        args, "routing", None)
    base_url = getattr(args, "base_url", None)
    if model or routing:
        return build_router(model=model, dims=dims, routing=routing, base_url=base_url)
    rec = recall(conn, store.name)
    if rec:
        return build_router(model=rec.get("model"), dims=rec.get("dims"),
                            routing=rec.get("routing"),
                            base_url=base_url or rec.get("base_url"))
    full = [s for s in store.spaces.values() if ">" not in s.fingerprint]
    if len(full) != 1:
        raise EmbedweaveError(
            f"collection {store.name!r} has spaces {sorted(store.spaces)} and no local record of "
            "how it was built; pass --routing (the route table YAML it was built with)"
        )
    space = full[0]
    from embedweave.models import resolve_model

    native = resolve_model(space.model).dims
    return build_router(model=space.model, dims=None if space.dims == native else space.dims,
                        routing=None)


def quiet_model_loading() -> None:
    """CLI output for humans: no per-load "Loading weights" bar, warnings on one line."""
    import warnings

    warnings.formatwarning = _one_line_warning
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - a dependency of sentence-transformers
        return
    hf_logging.disable_progress_bar()


def _one_line_warning(message: Warning | str, category: type[Warning], *args: Any,
                      **kwargs: Any) -> str:
    return f"warning: {message}\n"

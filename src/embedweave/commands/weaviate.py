"""``embedweave weaviate start|stop|status``: a detached local server for the CLI."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from embedweave.paths import cache_dir


def default_data_dir() -> Path:
    """CLI server data dir: ``$EMBEDWEAVE_WEAVIATE_DATA`` or ``<cache>/weaviate-data/cli``."""
    env = os.environ.get("EMBEDWEAVE_WEAVIATE_DATA")
    return Path(env) if env else cache_dir() / "weaviate-data" / "cli"


def register(sub: Any) -> None:
    """Add the ``weaviate`` command group."""
    p = sub.add_parser("weaviate", help="run a local Weaviate server (no Docker)")
    actions = p.add_subparsers(dest="action", required=True)
    for name, func, text in (
        ("start", _start, "start a detached server and wait until ready"),
        ("stop", _stop, "stop the server (SIGTERM, then kill)"),
        ("status", _status, "report running state, version and ports"),
    ):
        a = actions.add_parser(name, help=text)
        a.add_argument("--data-dir", type=Path, default=None, help="persistence directory")
        a.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "start":
            a.add_argument("--port", type=int, default=None, help="HTTP port (default: free)")
            a.add_argument("--grpc-port", type=int, default=None, help="gRPC port")
        a.set_defaults(func=func)


def _print(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(info))
        return
    if not info.get("running"):
        print(f"not running (data dir {info['data_dir']})")
        return
    ports = info["ports"]
    print(f"Weaviate {info['version']} running (pid {info['pid']}) at {info['url']}")
    print("ports: " + ", ".join(f"{k}={v}" for k, v in ports.items()))
    print(f"data dir: {info['data_dir']}")


def _start(args: argparse.Namespace) -> int:
    from embedweave import server as srv

    data = args.data_dir or default_data_dir()
    info = srv.status(data)
    if not info["running"]:
        srv.ManagedWeaviate(data, http_port=args.port, grpc_port=args.grpc_port).start(
            detach=True
        )
        info = srv.status(data)
    _print(info, args.json)
    return 0


def _stop(args: argparse.Namespace) -> int:
    from embedweave import server as srv

    data = args.data_dir or default_data_dir()
    stopped = srv.stop_detached(data)
    if args.json:
        print(json.dumps({"stopped": stopped}))
    else:
        print("stopped" if stopped else "not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from embedweave import server as srv

    data = args.data_dir or default_data_dir()
    info = srv.status(data)
    _print(info, args.json)
    return 0 if info["running"] else 3

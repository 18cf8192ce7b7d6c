"""The ``embedweave`` command line: one sub-command module per verb in ``commands/``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from embedweave.errors import EmbedweaveError

#: Sub-command modules; each exposes ``register(subparsers)`` setting ``func`` on its parser.
COMMANDS = (
    "embedweave.commands.weaviate",
    "embedweave.commands.train",
    "embedweave.commands.ingest",
    "embedweave.commands.query",
    "embedweave.commands.eval",
    "embedweave.commands.tune",
)


def build_parser() -> argparse.ArgumentParser:
    """Parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="embedweave", description="Retrieval with sentence-transformers and Weaviate."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # command not shipped in this build
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 error, 2 usage, 3 not running)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except EmbedweaveError as exc:
        print(f"embedweave: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

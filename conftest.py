"""Shared pytest fixtures: one real managed Weaviate server per test session.

With ``CI=true`` a server that cannot be started fails the run; locally it skips the
tests that need it, with the reason.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger("embedweave.tests")


def in_ci() -> bool:
    """Whether missing servers/models must fail instead of skip."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Fail in CI, skip locally."""
    if in_ci():
        pytest.fail(f"required component unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def weaviate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real Weaviate process on free loopback ports, for the whole session."""
    from embedweave.errors import ServerError
    from embedweave.server import ManagedWeaviate

    data = Path(tmp_path_factory.mktemp("weaviate-data"))
    server = ManagedWeaviate(data)
    try:
        server.start()
    except ServerError as exc:
        unavailable(f"could not start Weaviate: {exc}")
    version = server.server_version()
    msg = f"managed Weaviate {version} running at {server.url} (grpc {server.grpc_port})"
    log.warning(msg)
    _SERVER_LINES.append(f"[embedweave] {msg}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def multilingual() -> dict[str, Any]:
    """The multilingual example (examples/data/multilingual): six languages, 12 questions.

    Keys: ``routes`` (routes.yaml path), ``corpus`` (``id``, ``language``, ``title``,
    ``text``), ``questions`` (``query``, ``language``, ``relevant`` passage id).
    """
    folder = Path(__file__).parent / "examples" / "data" / "multilingual"

    def read(name: str) -> list[dict[str, Any]]:
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    return {
        "routes": folder / "routes.yaml",
        "corpus": read("corpus.jsonl"),
        "questions": read("queries.jsonl"),
    }


@pytest.fixture(scope="session")
def scifact_reranker() -> Path:
    """A SciFact-trained cross-encoder built here with the quick recipe, by path.

    Tests need *a* reranker trained on SciFact claims, not the best one: ``QUICK_CONFIG``
    trains in minutes on a CPU (once per cache) where ``scifact-minilm`` takes 14-30
    minutes, which would not fit a cold ``make test``. Benchmarks and examples use the
    full model.
    """
    from embedweave.train import QUICK_CONFIG, build_scifact_reranker

    return build_scifact_reranker(QUICK_CONFIG)


@pytest.fixture
def collection_name() -> str:
    """A fresh collection name per test."""
    return "T" + uuid.uuid4().hex[:12]


_SERVER_LINES: list[str] = []


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: object) -> None:
    """Say which real Weaviate the suite ran against (acceptance evidence)."""
    for line in _SERVER_LINES:
        terminalreporter.write_line(line)  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``slow`` tests may train the quick SciFact reranker on first use (minutes on a cold
    cache, 2 CPU cores): give them an hour instead of the suite's 15-minute limit."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(3600))

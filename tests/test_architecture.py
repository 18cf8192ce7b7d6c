"""The floors of the house (docs/architecture.md): query-time code never reaches training
or evaluation code, no two embedweave modules import each other in a loop, and the
package's own names load lazily."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGE = Path(importlib.util.find_spec("embedweave").origin).parent  # type: ignore[arg-type,union-attr]
#: Beside the query path: nothing below may import these.
OFFLINE = ("embedweave.train", "embedweave.eval")
#: The command line sits on top of everything, training and evaluation included.
ON_TOP = ("embedweave.commands", "embedweave.cli")


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()
QUERY_TIME = sorted(m for m in MODULES if not _within(m, OFFLINE + ON_TOP) and m != "embedweave")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, *, type_only: bool) -> set[str]:
    """embedweave modules that ``module`` imports, at module level or inside functions.

    ``type_only=False`` skips ``if TYPE_CHECKING:`` blocks: they never run, so they
    cannot close a loop at import time.
    """
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def target(base: str, names: list[str]) -> None:
        subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
        found.update(subs or ([base] if base in MODULES else []))

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not type_only:
            for stmt in node.orelse:
                visit(stmt)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("embedweave"):
                    target(alias.name, [])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.startswith("embedweave"):
                target(base, [a.name for a in node.names])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    return found


def _fresh(script: str) -> Any:
    """Run ``script`` in a new interpreter; the JSON of its last output line."""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=300)
    return json.loads(out.stdout.splitlines()[-1])


def test_the_package_is_read_whole() -> None:
    # guards the walk itself: the rooms the table in docs/architecture.md names
    for name in ("embedweave.pipeline", "embedweave.routing.router", "embedweave.routing.table",
                 "embedweave.store.weaviate.store", "embedweave.eval.runner",
                 "embedweave.train.reranker", "embedweave.chunking.sections"):
        assert name in MODULES, name
    assert "embedweave.routing" in _imports("embedweave.pipeline", type_only=False)
    assert "embedweave.model_spec" in _imports("embedweave.models", type_only=False)
    # a function-level import counts: models resolves API specs through the backends
    assert "embedweave.backends.api_factory" in _imports("embedweave.models", type_only=False)


def test_query_time_code_names_no_training_or_evaluation_module() -> None:
    # every import statement, type-only and function-level ones included
    bad = {
        m: sorted(i for i in _imports(m, type_only=True) if _within(i, OFFLINE))
        for m in QUERY_TIME
    }
    assert {m: found for m, found in bad.items() if found} == {}


def test_query_time_modules_load_without_training_or_evaluation() -> None:
    # one fresh interpreter imports the query-time modules one by one and stops at the
    # first after which a training/evaluation module is loaded (the one that pulled it in)
    script = (
        "import importlib, json, sys\n"
        f"offline = {OFFLINE!r}\n"
        f"for m in {QUERY_TIME!r}:\n"
        "    importlib.import_module(m)\n"
        "    hit = sorted(k for k in sys.modules if k.startswith(offline))\n"
        "    if hit:\n"
        "        print(json.dumps([m, hit])); break\n"
        "else:\n"
        "    print(json.dumps(None))\n"
    )
    assert _fresh(script) is None
    assert len(QUERY_TIME) > 30


def test_no_import_cycle_among_embedweave_modules() -> None:
    graph = {m: _imports(m, type_only=False) for m in MODULES}
    cycles = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m)
    assert cycles == []


def test_package_exports_load_on_first_use() -> None:
    script = (
        "import json, sys\n"
        "import embedweave\n"
        "heavy = ['embedweave.pipeline', 'embedweave.store.weaviate', 'embedweave.rerank',\n"
        "         'torch', 'weaviate', 'sentence_transformers']\n"
        "before = [m for m in heavy if m in sys.modules]\n"
        "from embedweave import Embedder, Index, ManagedWeaviate, Reranker, Retriever\n"
        "from embedweave import WeaviateStore\n"
        "from embedweave.embedding import Embedder as E\n"
        "from embedweave.pipeline import Index as I, Retriever as R\n"
        "from embedweave.rerank import Reranker as K\n"
        "from embedweave.server import ManagedWeaviate as M\n"
        "from embedweave.store.weaviate import WeaviateStore as W\n"
        "same = [Embedder is E, Index is I, Retriever is R, Reranker is K,\n"
        "        ManagedWeaviate is M, WeaviateStore is W]\n"
        "missing = [n for n in embedweave.__all__ if not hasattr(embedweave, n)]\n"
        "try:\n"
        "    embedweave.NoSuchName\n"
        "    err = None\n"
        "except AttributeError as exc:\n"
        "    err = str(exc)\n"
        "print(json.dumps([before, same, missing, err]))\n"
    )
    before, same, missing, err = _fresh(script)
    assert before == []
    assert same == [True] * 6
    assert missing == []
    assert err is not None and "NoSuchName" in err

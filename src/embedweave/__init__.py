"""embedweave: production-grade retrieval.

The names users reach for first, importable from the package itself. Each is loaded on
first use (PEP 562), so ``import embedweave`` (and every ``embedweave.*`` import, the
CLI's included) stays light: the Weaviate client, torch and the models load only when
their class is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedweave.chunking import Chunker as Chunker
    from embedweave.chunking import SectionChunker as SectionChunker
    from embedweave.embedding import Embedder as Embedder
    from embedweave.language import LanguageDetector as LanguageDetector
    from embedweave.language import LanguageGuess as LanguageGuess
    from embedweave.language import detect_language as detect_language
    from embedweave.pipeline import Index as Index
    from embedweave.pipeline import Retriever as Retriever
    from embedweave.rerank import Reranker as Reranker
    from embedweave.routing import RouteDecision as RouteDecision
    from embedweave.routing import Router as Router
    from embedweave.routing import RouteTable as RouteTable
    from embedweave.routing import Space as Space
    from embedweave.routing import UnsupportedLanguageError as UnsupportedLanguageError
    from embedweave.routing import UnsupportedLanguageWarning as UnsupportedLanguageWarning
    from embedweave.server import ManagedWeaviate as ManagedWeaviate
    from embedweave.store.memory import MemoryStore as MemoryStore
    from embedweave.store.weaviate import WeaviateStore as WeaviateStore
    from embedweave.types import Chunk as Chunk
    from embedweave.types import Document as Document
    from embedweave.types import Hit as Hit

#: Public name -> the module that defines it.
_WHERE = {
    "Embedder": "embedweave.embedding",
    "WeaviateStore": "embedweave.store.weaviate",
    "MemoryStore": "embedweave.store.memory",
    "ManagedWeaviate": "embedweave.server",
    "Reranker": "embedweave.rerank",
    "Index": "embedweave.pipeline",
    "Retriever": "embedweave.pipeline",
    "Document": "embedweave.types",
    "Chunk": "embedweave.types",
    "Hit": "embedweave.types",
    "Chunker": "embedweave.chunking",
    "SectionChunker": "embedweave.chunking",
    "LanguageDetector": "embedweave.language",
    "LanguageGuess": "embedweave.language",
    "detect_language": "embedweave.language",
    "Router": "embedweave.routing",
    "RouteTable": "embedweave.routing",
    "RouteDecision": "embedweave.routing",
    "Space": "embedweave.routing",
    "UnsupportedLanguageError": "embedweave.routing",
    "UnsupportedLanguageWarning": "embedweave.routing",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'embedweave' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

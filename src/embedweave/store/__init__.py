"""Vector stores: Weaviate (HNSW, the default) and an exact in-memory store."""

from embedweave.store.base import SearchMode, Store, VectorSpace
from embedweave.store.memory import MemoryStore

__all__ = ["MemoryStore", "SearchMode", "Store", "VectorSpace", "WeaviateStore"]


def __getattr__(name: str) -> object:
    if name == "WeaviateStore":
        from embedweave.store.weaviate import WeaviateStore

        return WeaviateStore
    raise AttributeError(name)

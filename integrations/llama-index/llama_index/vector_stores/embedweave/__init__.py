"""embedweave vector store for LlamaIndex: ``EmbedweaveVectorStore``."""

from llama_index.vector_stores.embedweave.base import EmbedweaveVectorStore

__all__ = ["EmbedweaveVectorStore"]

"""embedweave embeddings for LlamaIndex: ``EmbedweaveEmbedding``."""

from llama_index.embeddings.embedweave.base import DEFAULT_EMBED_BATCH_SIZE, EmbedweaveEmbedding

__all__ = ["DEFAULT_EMBED_BATCH_SIZE", "EmbedweaveEmbedding"]

"""embedweave retriever for LlamaIndex: ``EmbedweaveRetriever``."""

from llama_index.retrievers.embedweave.base import EmbedweaveRetriever

__all__ = ["EmbedweaveRetriever"]

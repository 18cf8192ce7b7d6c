"""embedweave reranking for LlamaIndex: ``EmbedweaveRerank``."""

from llama_index.postprocessor.embedweave_rerank.base import EmbedweaveRerank

__all__ = ["EmbedweaveRerank"]

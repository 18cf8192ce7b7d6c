"""LangChain integration for embedweave: embeddings, vector store, retriever, reranker."""

from importlib import metadata

from langchain_embedweave.embeddings import EmbedweaveEmbeddings
from langchain_embedweave.rerank import EmbedweaveRerank
from langchain_embedweave.retrievers import EmbedweaveRetriever
from langchain_embedweave.vectorstores import EmbedweaveVectorStore

try:
    __version__ = metadata.version("langchain-embedweave")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = ""

__all__ = [
    "EmbedweaveEmbeddings",
    "EmbedweaveRerank",
    "EmbedweaveRetriever",
    "EmbedweaveVectorStore",
    "__version__",
]

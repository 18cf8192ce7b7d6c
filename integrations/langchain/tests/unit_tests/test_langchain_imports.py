"""The public names of langchain_embedweave."""

from __future__ import annotations

import langchain_embedweave

EXPECTED_ALL = [
    "EmbedweaveEmbeddings",
    "EmbedweaveRerank",
    "EmbedweaveRetriever",
    "EmbedweaveVectorStore",
    "__version__",
]


def test_all_imports() -> None:
    assert sorted(EXPECTED_ALL) == sorted(langchain_embedweave.__all__)
    for name in EXPECTED_ALL:
        assert getattr(langchain_embedweave, name) is not None


def test_version_is_the_distribution_version() -> None:
    from importlib import metadata

    assert langchain_embedweave.__version__ == metadata.version("langchain-embedweave")

"""Chunking: documents into chunks that fit an embedding model.

``chunker`` holds the token-aware ``Chunker`` (sizes, sentence boundaries, overlap);
``sections`` holds ``SectionChunker``, which splits at headings or PDF pages first.
"""

from embedweave.chunking.chunker import Chunker
from embedweave.chunking.sections import (
    PAGE_BREAK,
    Section,
    SectionChunker,
    document_sections,
    markdown_sections,
)

__all__ = [
    "PAGE_BREAK",
    "Chunker",
    "Section",
    "SectionChunker",
    "document_sections",
    "markdown_sections",
]

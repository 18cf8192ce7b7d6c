"""Section-aware chunking: split a document at its headings (or PDF pages) first.

``SectionChunker`` chunks each section on its own and prefixes every chunk with the
section's heading path (``Embedding > Matryoshka dimensions``), so a chunk is never cut
off from the heading that says what it is about. Markdown and HTML (converted by the
loaders to the same heading-marked text) split at headings; PDF text at ``PAGE_BREAK``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from embedweave.chunking.chunker import Chunker
from embedweave.types import Chunk, Document

#: Separates PDF pages in a document's text.
PAGE_BREAK = "\f"

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_ATX_EMPTY = re.compile(r"^ {0,3}(#{1,6})[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Section:
    """A stretch of a document under one heading (or one PDF page).

    Attributes:
        heading: The section's own heading ('' before the first heading).
        level: Heading level 1-6 (0 for text before any heading).
        path: Headings from the top down to this one, e.g. ``("Embedding", "Matryoshka")``.
        body: Text under the heading, up to the next heading of any level.
        page: 1-based PDF page, when the document is a PDF.
    """

    heading: str
    level: int
    path: tuple[str, ...]
    body: str
    page: int | None = None

    @property
    def breadcrumb(self) -> str:
        """``"A > B > C"``: the heading path as one line."""
        return " > ".join(self.path)


def markdown_sections(text: str) -> list[Section]:
    """Split markdown at ATX (``#``) and setext (``===``/``---``) headings outside code fences."""
    lines = text.split("\n")
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    current: tuple[str, int] = ("", 0)
    body: list[str] = []
    fence: str | None = None

    def flush() -> None:
        heading, level = current
        sections.append(
            Section(heading, level, tuple(h for _, h in stack), "\n".join(body).strip("\n"))
        )

    i = 0
    while i < len(lines):
        line = lines[i]
        fm = _FENCE.match(line)
        if fence is not None:
            if fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence):
                fence = None
            body.append(line)
            i += 1
            continue
        if fm:
            fence = fm.group(1)
            body.append(line)
            i += 1
            continue
        heading: tuple[int, str] | None = None
        m = _ATX.match(line)
        if m:
            heading = (len(m.group(1)), m.group(2).strip())
        elif _ATX_EMPTY.match(line):
            heading = (len(line.strip()), "")
        elif (
            i + 1 < len(lines)
            and line.strip()
            and _SETEXT.match(lines[i + 1])
            and not (body and body[-1].strip())  # a setext heading follows a blank line
            and not line.lstrip().startswith(("-", "*", "+", ">", "|"))
        ):
            heading = (1 if lines[i + 1].strip()[0] == "=" else 2, line.strip())
            i += 1
        if heading is None:
            body.append(line)
            i += 1
            continue
        flush()
        level, title = heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        if title:
            stack.append((level, title))
        current, body = (title, level), []
        i += 1
    flush()
    return [s for s in sections if s.level > 0 or s.body.strip()]


def document_sections(document: Document) -> list[Section]:
    """Sections of a document by its ``format`` metadata: headings, PDF pages, or one."""
    fmt = document.metadata.get("format")
    if fmt in ("markdown", "html"):
        return [s for s in markdown_sections(document.text) if s.body.strip()]
    if fmt == "pdf":
        return [
            Section("", 0, (), page, page=i + 1)
            for i, page in enumerate(document.text.split(PAGE_BREAK))
            if page.strip()
        ]
    return [Section("", 0, (), document.text)] if document.text.strip() else []


class SectionChunker(Chunker):
    """A ``Chunker`` that splits at headings (or PDF pages) before splitting by size.

    Every chunk of a section starts with the section's heading path on its own line and
    carries ``section`` (the path) and, for PDFs, ``page`` metadata. The heading counts
    against ``max_tokens``. Documents without a ``format`` of markdown, html or pdf are
    chunked as plain text.

    Args:
        max_tokens: Most tokens in a chunk, heading included.
        min_tokens: A chunk is cut at a sentence boundary only once it holds this many.
        overlap: Tokens repeated from the end of one chunk at the start of the next.
        tokenizer: As for ``Chunker``.
        headings: Prefix chunks with their heading path.
    """

    def __init__(
        self,
        max_tokens: int = 512,
        min_tokens: int = 256,
        overlap: int = 50,
        *,
        tokenizer: Any = None,
        headings: bool = True,
    ) -> None:
        super().__init__(max_tokens, min_tokens, overlap, tokenizer=tokenizer)
        self.headings = headings
        self._sized: dict[int, Chunker] = {}

    @classmethod
    def like(cls, chunker: Chunker, *, headings: bool = True) -> SectionChunker:
        """A section chunker with ``chunker``'s sizes and tokenizer."""
        return cls(
            chunker.max_tokens,
            chunker.min_tokens,
            chunker.overlap,
            tokenizer=chunker.tokenizer,
            headings=headings,
        )

    def _within(self, budget: int) -> Chunker:
        """A plain chunker for section bodies with ``budget`` tokens left after the heading."""
        budget = max(8, min(self.max_tokens, budget))
        if budget == self.max_tokens:
            return Chunker(self.max_tokens, self.min_tokens, self.overlap, tokenizer=self.tokenizer)
        if budget not in self._sized:
            self._sized[budget] = Chunker(
                budget,
                min(self.min_tokens, budget),
                min(self.overlap, budget // 4),
                tokenizer=self.tokenizer,
            )
        return self._sized[budget]

    def chunk(self, document: Document) -> list[Chunk]:
        """Chunks of one document, section by section, with heading and page metadata."""
        if not isinstance(document, Document):
            raise TypeError(f"expected a Document, got {type(document).__name__}")
        out: list[Chunk] = []
        for sec in document_sections(document):
            prefix = sec.breadcrumb if self.headings else ""
            budget = self.max_tokens - (self.count_tokens(prefix) + 1 if prefix else 0)
            for piece in self._within(budget).split(sec.body):
                meta = dict(document.metadata)
                if sec.path:
                    meta["section"] = sec.breadcrumb
                if sec.page is not None:
                    meta["page"] = sec.page
                out.append(
                    Chunk(
                        document_id=document.id,
                        index=len(out),
                        text=f"{prefix}\n{piece}" if prefix else piece,
                        metadata=meta,
                        language=document.language,
                    )
                )
        return out

    def chunk_documents(self, documents: Sequence[Document]) -> list[Chunk]:
        """Chunks of every document, in order."""
        return [c for d in documents for c in self.chunk(d)]

    def __repr__(self) -> str:
        return "Section" + super().__repr__()


__all__ = [
    "PAGE_BREAK",
    "Section",
    "SectionChunker",
    "document_sections",
    "markdown_sections",
]

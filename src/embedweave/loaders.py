"""Files to ``Document``s (txt, md, html, pdf), and a chunker that keeps headings with sections.

Each file becomes one ``Document`` whose id is its absolute path, so re-ingesting a
file replaces all of its chunks. Markdown keeps its headings; HTML is converted to the
same heading-marked text (BeautifulSoup); PDF text comes from pypdf, one form feed
between pages. ``SectionChunker`` then splits a document at its headings (or pages)
first and chunks each section on its own, prefixing every chunk with the section's
heading path (``Embedding > Matryoshka dimensions``), so a chunk is never cut off from
the heading that says what it is about.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedweave.chunking import Chunker
from embedweave.errors import EmbedweaveError
from embedweave.types import Chunk, Document

#: File suffix -> format name.
FORMATS: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}

#: Separates PDF pages in a document's text.
PAGE_BREAK = "\f"

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_ATX_EMPTY = re.compile(r"^ {0,3}(#{1,6})[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*\n", re.S)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


class UnsupportedFileError(EmbedweaveError):
    """A file's type cannot be read (the message lists the supported suffixes)."""


class LoaderWarning(UserWarning):
    """A file was read, but something about it was lossy (encoding, no PDF text)."""


# ---------------------------------------------------------------------------------------
# Finding files.


def discover(
    paths: Iterable[str | os.PathLike[str]], *, recursive: bool = True
) -> tuple[list[Path], list[Path]]:
    """Files to load under ``paths``: ``(supported, skipped)``.

    A file named explicitly must have a supported suffix; inside a folder, unsupported
    files and hidden entries (``.git``...) are skipped and returned as such.

    Raises:
        FileNotFoundError: a path does not exist.
        UnsupportedFileError: an explicitly named file has an unknown suffix.
    """
    found: list[Path] = []
    skipped: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"no such file or directory: {raw}")
        if p.is_file():
            if p.suffix.lower() not in FORMATS:
                raise UnsupportedFileError(_unsupported(p))
            found.append(p)
            continue
        walker = p.rglob("*") if recursive else p.glob("*")
        for f in sorted(walker):
            rel = f.relative_to(p)
            if any(part.startswith(".") for part in rel.parts) or not f.is_file():
                continue
            (found if f.suffix.lower() in FORMATS else skipped).append(f)
    unique = list(dict.fromkeys(f.resolve() for f in found))
    return unique, skipped


def _unsupported(path: Path) -> str:
    return (
        f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; supported: "
        + ", ".join(sorted(FORMATS))
    )


# ---------------------------------------------------------------------------------------
# Reading one file.


def load_file(
    path: str | os.PathLike[str], *, base: str | os.PathLike[str] | None = None
) -> Document:
    """Read one file into a ``Document``.

    Args:
        path: A .txt, .md, .html or .pdf file.
        base: Folder the ``source`` metadata is shown relative to (default: the current
            directory when the file is under it).

    Returns:
        A document with id = absolute path and metadata ``source`` (display path),
        ``title`` and ``format``.

    Raises:
        UnsupportedFileError: unknown suffix, or a PDF that cannot be read.
    """
    p = Path(path).expanduser().resolve()
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise UnsupportedFileError(_unsupported(p))
    if fmt == "pdf":
        text, title = _read_pdf(p)
    else:
        raw = _read_text(p)
        if fmt == "html":
            text, title = html_to_text(raw)
        elif fmt == "markdown":
            text, title = _clean_markdown(raw)
        else:
            text, title = raw, None
    metadata: dict[str, Any] = {
        "source": display_path(p, base),
        "title": title or p.stem,
        "format": fmt,
    }
    return Document(id=str(p), text=text, metadata=metadata)


def load_documents(
    paths: Iterable[str | os.PathLike[str]], *, recursive: bool = True
) -> list[Document]:
    """Every supported file under ``paths`` as a ``Document`` (see ``load_file``)."""
    files, _ = discover(paths, recursive=recursive)
    return [load_file(f) for f in files]


def display_path(path: Path, base: str | os.PathLike[str] | None = None) -> str:
    """``path`` relative to ``base`` (or the current directory) when under it, else absolute."""
    root = Path(base).resolve() if base is not None else Path.cwd().resolve()
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warnings.warn(
            f"{path} is not valid UTF-8 (byte {exc.start}); read as Latin-1",
            LoaderWarning,
            stacklevel=3,
        )
        return data.decode("latin-1")


def _read_pdf(path: Path) -> tuple[str, str | None]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover - an optional dependency
        raise UnsupportedFileError(
            f"{path}: reading PDF needs pypdf (`pip install 'embedweave[docs]'`)"
        ) from exc
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise UnsupportedFileError(f"{path}: the PDF is encrypted; decrypt it first")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata else None
    except PdfReadError as exc:
        raise UnsupportedFileError(f"{path}: not a readable PDF ({exc})") from exc
    if not any(pages):
        warnings.warn(
            f"{path}: no extractable text in {len(pages)} page(s) (a scan? run OCR first)",
            LoaderWarning,
            stacklevel=3,
        )
    return PAGE_BREAK.join(pages), (str(meta_title).strip() or None) if meta_title else None


def _clean_markdown(raw: str) -> tuple[str, str | None]:
    """Drop front matter and comments, keep link text; title from front matter or first H1."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    title = None
    m = _FRONT_MATTER.match(text)
    if m:
        t = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", m.group(1), re.M)
        title = t.group(1) if t else None
        text = text[m.end():]
    text = _HTML_COMMENT.sub("", text)
    text = _LINK.sub(lambda mm: mm.group(1), text)
    if title is None:
        for sec in markdown_sections(text):
            if sec.level == 1:
                title = sec.heading
                break
    return text, title


_BLOCK_TAGS = (
    "p", "div", "section", "article", "main", "li", "ul", "ol", "pre", "blockquote",
    "table", "tr", "td", "th", "dt", "dd", "br", "hr", "figcaption", "header",
)  # fmt: skip
_DROP_TAGS = ("script", "style", "noscript", "nav", "footer", "template", "svg", "form", "head")


def html_to_text(html: str) -> tuple[str, str | None]:
    """Visible text of an HTML page, headings marked ``#``..``######``; and its title.

    Scripts, styles, navigation and footers are dropped.
    """
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for level in range(1, 7):
        for h in soup.find_all(f"h{level}"):
            heading = " ".join(h.get_text(" ", strip=True).split())
            h.replace_with(NavigableString(f"\n\n{'#' * level} {heading}\n\n" if heading else ""))
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before(NavigableString("\n"))
        tag.insert_after(NavigableString("\n"))
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not title:
        for sec in markdown_sections(text):
            if sec.heading:
                title = sec.heading
                break
    return text, title or None


# ---------------------------------------------------------------------------------------
# Sections.


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
    "FORMATS",
    "PAGE_BREAK",
    "LoaderWarning",
    "Section",
    "SectionChunker",
    "UnsupportedFileError",
    "discover",
    "display_path",
    "document_sections",
    "html_to_text",
    "load_documents",
    "load_file",
    "markdown_sections",
]

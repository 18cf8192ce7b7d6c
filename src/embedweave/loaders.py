"""Files to ``Document``s (txt, md, html, pdf).

Each file becomes one ``Document`` whose id is its absolute path, so re-ingesting a
file replaces all of its chunks. Markdown keeps its headings; HTML is converted to the
same heading-marked text (BeautifulSoup); PDF text comes from pypdf, one form feed
(``PAGE_BREAK``) between pages. ``embedweave.chunking.SectionChunker`` then splits a
document at those headings or pages (its names stay importable from here).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from embedweave.chunking.sections import (
    PAGE_BREAK,
    Section,
    SectionChunker,
    document_sections,
    markdown_sections,
)
from embedweave.errors import EmbedweaveError
from embedweave.types import Document

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

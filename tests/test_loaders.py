"""File loaders (txt, md, html, pdf) and the heading-keeping SectionChunker; no models needed."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from embedweave.chunking import Chunker
from embedweave.loaders import (
    LoaderWarning,
    SectionChunker,
    UnsupportedFileError,
    discover,
    html_to_text,
    load_file,
    markdown_sections,
)
from embedweave.types import Document, chunk_uuid

MARKDOWN = """---
title: The Guide
---
Text before any heading.

# Embedding

Models turn text into [vectors](https://example.org/v).

## Matryoshka dimensions

Shrink vectors by keeping a prefix.

```python
# a comment, not a heading
x = 1
```

### Funnel search
Shortlist small, rescore full.

Setext heading
--------------

Under a setext heading.

## Empty

# Second top
Last words.
"""


def make_pdf(pages: list[str], title: str = "Pets") -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << "
            f"/F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objs.append(f"<< /Title ({title}) >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R /Info {len(objs)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "guide.md").write_text(MARKDOWN)
    (tmp_path / "notes.txt").write_text("Plain notes. Nothing else.\n")
    (tmp_path / "page.html").write_text(
        "<html><head><title>Dogs</title><style>p{}</style></head><body><nav>menu</nav>"
        "<h1>Dogs</h1><p>Dogs <b>bark</b> at the mailman.</p><h2>Food</h2><ul><li>meat</li>"
        "<li>bones</li></ul><script>var x = 1;</script><footer>legal</footer></body></html>"
    )
    (tmp_path / "pets.pdf").write_bytes(make_pdf(["First page about cats.", "Dogs on two."]))
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.md").write_text("# no")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.md").write_text("# Deep\nDown here.")
    return tmp_path


def test_discover_walks_folders_skips_hidden_and_unsupported(tree: Path) -> None:
    files, skipped = discover([tree])
    names = sorted(f.name for f in files)
    assert names == ["deep.md", "guide.md", "notes.txt", "page.html", "pets.pdf"]
    assert [s.name for s in skipped] == ["image.png"]
    flat, _ = discover([tree], recursive=False)
    assert "deep.md" not in {f.name for f in flat}
    # the same file named twice is loaded once
    twice, _ = discover([tree / "notes.txt", tree / "notes.txt"])
    assert len(twice) == 1


def test_discover_errors_name_the_path(tree: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such"):
        discover([tree / "no-such"])
    with pytest.raises(UnsupportedFileError, match=r"image\.png.*\.md"):
        discover([tree / "image.png"])


def test_markdown_sections_follow_headings_not_code(tree: Path) -> None:
    doc = load_file(tree / "guide.md", base=tree)
    assert doc.id == str((tree / "guide.md").resolve())
    assert doc.metadata == {"source": "guide.md", "title": "The Guide", "format": "markdown"}
    assert "https://example.org" not in doc.text and "vectors" in doc.text  # link text kept
    secs = markdown_sections(doc.text)
    paths = [s.path for s in secs]
    assert paths == [
        (),
        ("Embedding",),
        ("Embedding", "Matryoshka dimensions"),
        ("Embedding", "Matryoshka dimensions", "Funnel search"),
        ("Embedding", "Setext heading"),
        ("Embedding", "Empty"),
        ("Second top",),
    ]
    assert "# a comment, not a heading" in secs[2].body  # inside a code fence
    assert secs[5].body == ""


def test_section_chunker_keeps_each_heading_with_its_text(tree: Path) -> None:
    doc = load_file(tree / "guide.md")
    chunks = SectionChunker(64, 8, 4).chunk(doc)
    by_section = {c.metadata.get("section"): c.text for c in chunks}
    assert by_section["Embedding > Matryoshka dimensions"].startswith(
        "Embedding > Matryoshka dimensions\nShrink vectors by keeping a prefix."
    )
    assert "Embedding > Empty" not in by_section  # no body, no chunk
    assert by_section[None] == "Text before any heading."
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.id == chunk_uuid(doc.id, c.index) for c in chunks)
    assert all(c.metadata["format"] == "markdown" for c in chunks)


def test_long_sections_repeat_the_heading_in_every_chunk_within_budget() -> None:
    body = " ".join(f"Sentence number {i} talks about shrinking vectors." for i in range(60))
    doc = Document("d", f"# Guide\n\n## Shrinking vectors\n\n{body}\n", {"format": "markdown"})
    chunker = SectionChunker(40, 20, 5)
    chunks = chunker.chunk(doc)
    assert len(chunks) > 5
    for c in chunks:
        assert c.text.startswith("Guide > Shrinking vectors\n")
        assert chunker.count_tokens(c.text) <= 40
    # consecutive chunks overlap
    second = chunks[1].text.split("\n", 1)[1]
    assert second.split()[0] in chunks[0].text


def test_plain_text_is_chunked_like_the_base_chunker() -> None:
    text = " ".join(f"Word{i} is here." for i in range(200))
    doc = Document("t", text, {"format": "text"})
    base = Chunker(50, 20, 10)
    assert [c.text for c in SectionChunker.like(base).chunk(doc)] == base.split(text)


def test_html_headings_become_sections_and_chrome_is_dropped(tree: Path) -> None:
    doc = load_file(tree / "page.html")
    assert doc.metadata["title"] == "Dogs" and doc.metadata["format"] == "html"
    for gone in ("menu", "var x", "legal", "p{}"):
        assert gone not in doc.text
    chunks = SectionChunker(64, 8, 4).chunk(doc)
    assert [c.metadata.get("section") for c in chunks] == ["Dogs", "Dogs > Food"]
    assert chunks[0].text == "Dogs\nDogs bark at the mailman."
    assert "meat" in chunks[1].text and "bones" in chunks[1].text
    text, title = html_to_text("<p>no title here</p>")
    assert (text, title) == ("no title here", None)


def test_pdf_pages_become_page_metadata(tree: Path) -> None:
    doc = load_file(tree / "pets.pdf")
    assert doc.metadata["title"] == "Pets" and doc.metadata["format"] == "pdf"
    chunks = SectionChunker(64, 8, 4).chunk(doc)
    assert [(c.metadata["page"], c.text) for c in chunks] == [
        (1, "First page about cats."),
        (2, "Dogs on two."),
    ]


def test_bad_pdf_and_bad_encoding_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(UnsupportedFileError, match=r"broken\.pdf"):
        load_file(bad)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café crème".encode("latin-1"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        doc = load_file(latin)
    assert doc.text == "café crème"
    assert any(issubclass(w.category, LoaderWarning) and "UTF-8" in str(w.message)
               for w in caught)

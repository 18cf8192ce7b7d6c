"""Token-aware chunking: documents into overlapping chunks that fit an embedding model.

A chunk holds between ``min_tokens`` and ``max_tokens`` tokens and ends at a sentence
boundary when one lies in that window (otherwise mid-sentence at ``max_tokens``); the
next chunk starts about ``overlap`` tokens earlier, at a sentence start when one is
near, so a sentence cut at a chunk end is whole in the next chunk. Chunk text is the
exact substring of the document, whitespace included.

Tokens come from a model tokenizer when given (a Hugging Face fast tokenizer: exact
counts) or from an approximation: words, numbers and punctuation marks are one token
each and every CJK character is one token. Subword tokenizers produce more tokens
than the approximation (about 1.1x for English WordPiece), so leave headroom below a
model's ``max_seq_length`` when approximating.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Any

from embedweave.types import Chunk, Document

_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\u0e00-\u0e7f"  # thai (no spaces between words either)
)
#: Approximate tokens: one CJK character, a run of other word characters, or one mark.
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")
#: Where a new sentence starts: after terminal punctuation plus space, after CJK
#: terminal punctuation, or after a line break.
_BOUNDARY_RE = re.compile(
    r"[.!?…]+[\"'”’»)\]]*\s+|[。！？；]+[\"”’」』)）]*\s*|\n\s*"
)


class Chunker:
    """Split documents into overlapping, sentence-aligned chunks of bounded token count.

    Args:
        max_tokens: Most tokens in a chunk.
        min_tokens: A chunk is cut at a sentence boundary only once it holds this many
            tokens; shorter documents give one shorter chunk.
        overlap: Tokens repeated from the end of one chunk at the start of the next.
        tokenizer: ``None`` for the approximation, a Hugging Face fast tokenizer (any
            object whose call accepts ``return_offsets_mapping=True``), or a local
            tokenizer path for ``transformers.AutoTokenizer``.

    Raises:
        ValueError: when the sizes are inconsistent (e.g. overlap >= max_tokens).
    """

    def __init__(
        self,
        max_tokens: int = 512,
        min_tokens: int = 256,
        overlap: int = 50,
        *,
        tokenizer: Any = None,
    ) -> None:
        if not isinstance(max_tokens, int) or max_tokens <= 0:
            raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}")
        if not 0 <= min_tokens <= max_tokens:
            raise ValueError(
                f"min_tokens must be in [0, max_tokens={max_tokens}], got {min_tokens}"
            )
        if not 0 <= overlap < max_tokens:
            raise ValueError(f"overlap must be in [0, max_tokens={max_tokens}), got {overlap}")
        self.max_tokens = max_tokens
        self.min_tokens = min_tokens
        self.overlap = overlap
        if isinstance(tokenizer, str):
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        if tokenizer is not None and not getattr(tokenizer, "is_fast", True):
            raise ValueError(
                "chunking needs a fast (Rust) tokenizer for character offsets; "
                f"{type(tokenizer).__name__} is a slow one"
            )
        self.tokenizer = tokenizer

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character (start, end) of every token of ``text``."""
        if self.tokenizer is None:
            return [m.span() for m in _TOKEN_RE.finditer(text)]
        enc = self.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [(int(s), int(e)) for s, e in enc["offset_mapping"] if e > s]

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` holds under this chunker's tokenizer."""
        return len(self.token_spans(text))

    def split(self, text: str) -> list[str]:
        """Split one text into chunk texts (an empty or blank text gives none)."""
        spans = self.token_spans(text)
        if not spans:
            return []
        starts = _sentence_starts(text, spans)
        n = len(spans)
        first_cut = max(self.min_tokens, self.overlap + 1, 1)
        pieces: list[str] = []
        start = 0
        while True:
            limit = min(start + self.max_tokens, n)
            if limit == n:
                end = n
            else:
                # the latest sentence start in [start + first_cut, limit] ends the chunk
                lo = bisect.bisect_left(starts, start + first_cut)
                hi = bisect.bisect_right(starts, limit) - 1
                end = starts[hi] if hi >= lo else limit
            pieces.append(text[spans[start][0] : spans[end - 1][1]])
            if end == n:
                return pieces
            nxt = end - self.overlap
            if self.overlap:
                # begin at the earliest sentence start inside the overlap, if any
                j = bisect.bisect_left(starts, nxt)
                if j < len(starts) and starts[j] < end:
                    nxt = starts[j]
            start = max(nxt, start + 1)

    def chunk(self, document: Document) -> list[Chunk]:
        """Chunks of one document, inheriting its metadata and forced language."""
        if not isinstance(document, Document):
            raise TypeError(f"expected a Document, got {type(document).__name__}")
        return [
            Chunk(
                document_id=document.id,
                index=i,
                text=piece,
                metadata=dict(document.metadata),
                language=document.language,
            )
            for i, piece in enumerate(self.split(document.text))
        ]

    def chunk_documents(self, documents: Sequence[Document]) -> list[Chunk]:
        """Chunks of every document, in order."""
        return [c for d in documents for c in self.chunk(d)]

    def __repr__(self) -> str:
        tok = "approx" if self.tokenizer is None else type(self.tokenizer).__name__
        return (
            f"Chunker(max_tokens={self.max_tokens}, min_tokens={self.min_tokens}, "
            f"overlap={self.overlap}, tokenizer={tok})"
        )


def _sentence_starts(text: str, spans: Sequence[tuple[int, int]]) -> list[int]:
    """Indexes of tokens that begin a sentence (token 0 excluded), ascending."""
    bounds = [m.end() for m in _BOUNDARY_RE.finditer(text)]
    out: list[int] = []
    for i in range(1, len(spans)):
        prev_end, cur_start = spans[i - 1][1], spans[i][0]
        j = bisect.bisect_left(bounds, prev_end)
        if j < len(bounds) and bounds[j] <= cur_start:
            out.append(i)
    return out

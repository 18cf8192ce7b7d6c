"""Answers from retrieved chunks: extractive by default, an LLM when one is configured.

The extractive answer needs no model beyond the embedder used for retrieval: it
splits the top hits into sentences, scores each against the query (cosine similarity
with the same embedder, or word overlap without one) and returns the best few, in the
order they appear, each cited as ``[n]`` with ``n`` its source's number.

An LLM is any callable ``prompt -> text``, a LangChain chat model or LLM (``invoke``),
a LlamaIndex LLM (``complete``), or ``OpenAICompatibleLLM`` (any server speaking the
OpenAI chat-completions protocol: OpenAI, vLLM, Ollama, llama.cpp...).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embedweave.errors import EmbedweaveError
from embedweave.types import Hit

if TYPE_CHECKING:
    from embedweave.embedding import Embedder

#: Sentence ends: terminal punctuation then space, CJK terminal punctuation, line breaks.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+|(?<=[。！？；])\s*|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
#: Markdown/code lines that are not prose: fences, table rules, bare headings.
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_NOT_PROSE = re.compile(r"^\s*(```|~~~|\|?\s*:?-{3,}|#{1,6}\s|[-*+]\s*$)")


#: Share of word overlap in a sentence's score when an embedder gives the rest.
LEXICAL_WEIGHT = 0.3


class LLMError(EmbedweaveError):
    """The configured LLM could not produce an answer (the message says why)."""


@dataclass(frozen=True)
class Source:
    """One retrieved chunk an answer may cite.

    Attributes:
        number: 1-based citation number (``[number]`` in the answer text).
        source: Where the chunk came from (file path, or the document id).
        section: Heading path or ``""``.
        page: PDF page, if any.
        score: Retrieval score.
        language: Chunk language, if known.
        text: The chunk text.
        chunk_id: Storage id of the chunk.
    """

    number: int
    source: str
    section: str
    page: int | None
    score: float
    language: str | None
    text: str
    chunk_id: str

    @property
    def label(self) -> str:
        """``path#section`` or ``path p.N`` for display."""
        out = self.source
        if self.section:
            out += f" § {self.section}"
        if self.page is not None:
            out += f" p.{self.page}"
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain form for ``--json`` output."""
        return {
            "number": self.number, "source": self.source, "section": self.section,
            "page": self.page, "score": self.score, "language": self.language,
            "chunk_id": self.chunk_id, "text": self.text,
        }  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """An answer with the sources it was drawn from.

    Attributes:
        text: The answer, with ``[n]`` citations.
        sources: Every retrieved chunk offered as a source, numbered from 1.
        method: ``"extractive"`` or ``"llm:<name>"``.
        cited: Numbers of the sources the answer cites.
    """

    text: str
    sources: list[Source]
    method: str
    cited: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain form for ``--json`` output."""
        return {
            "answer": self.text,
            "method": self.method,
            "cited": self.cited,
            "sources": [s.to_dict() for s in self.sources],
        }


def sources_from_hits(hits: Sequence[Hit]) -> list[Source]:
    """Number the hits as citable sources, best first."""
    out = []
    for i, h in enumerate(hits, 1):
        meta = h.chunk.metadata
        page = meta.get("page")
        out.append(
            Source(
                number=i,
                source=str(meta.get("source") or h.chunk.document_id),
                section=str(meta.get("section") or ""),
                page=int(page) if isinstance(page, (int, float)) else None,
                score=float(h.score),
                language=h.chunk.language,
                text=h.chunk.text,
                chunk_id=h.id,
            )
        )
    return out


def split_sentences(text: str) -> list[str]:
    """Prose sentences of a chunk: code blocks, tables and heading lines left out.

    Lines of one paragraph (or list item) are joined first, so a sentence wrapped over
    several lines stays whole.
    """
    blocks: list[list[str]] = [[]]
    in_code = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_code = not in_code
            blocks.append([])
            continue
        if in_code or not stripped or _NOT_PROSE.match(line) or stripped.startswith("|"):
            blocks.append([])  # tables are data, not sentences to quote
            continue
        if _ITEM.match(line):
            blocks.append([])  # a list item starts a new block
        blocks[-1].append(_ITEM.sub("", stripped))
    out: list[str] = []
    for block in blocks:
        if not block:
            continue
        for s in _SENTENCE_END.split(" ".join(block)):
            s = s.strip(" |*-")
            if len(_WORD.findall(s)) >= 3 or (s and _is_cjk(s) and len(s) >= 6):
                out.append(s)
    return out


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def _words(text: str) -> set[str]:
    if _is_cjk(text):
        chars = [c for c in text if c.strip() and not c.isascii()]
        pairs = {a + b for a, b in itertools.pairwise(chars)}
        return pairs | set(_WORD.findall(text.lower()))
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


def extractive_answer(
    query: str,
    hits: Sequence[Hit],
    *,
    embedder: Embedder | None = None,
    max_sentences: int = 3,
    relative_cutoff: float = 0.8,
) -> Answer:
    """The sentences of the hits that best answer ``query``, cited.

    Args:
        query: The question.
        hits: Retrieved chunks, best first.
        embedder: Scores sentences by cosine similarity to the query; ``None`` uses
            word overlap.
        max_sentences: Most sentences in the answer.
        relative_cutoff: Sentences after the best must score at least this share of it.

    Returns:
        The answer; ``text`` is empty when there are no hits.
    """
    if max_sentences < 1:
        raise ValueError(f"max_sentences must be >= 1, got {max_sentences}")
    sources = sources_from_hits(hits)
    candidates: list[tuple[int, int, str]] = []  # (source number, position, sentence)
    for src in sources:
        body = src.text
        if src.section and body.startswith(src.section + "\n"):
            body = body[len(src.section) + 1 :]  # the heading path SectionChunker prefixed
        for pos, s in enumerate(split_sentences(body)):
            candidates.append((src.number, pos, s))
    if not candidates:
        # chunks with no prose sentence (a code block, a table): quote the top chunk
        if not sources:
            return Answer("", [], "extractive")
        return Answer(f"{sources[0].text.strip()} [1]", sources, "extractive", [1])
    scores = _sentence_scores(query, [c[2] for c in candidates], embedder)
    # a small prior for better-ranked sources breaks near-ties in retrieval's favour
    prior = np.array([0.02 * (1.0 / c[0]) for c in candidates], dtype=np.float64)
    total = scores + prior
    order = np.argsort(-total, kind="stable")
    best = float(total[order[0]])
    chosen: list[int] = []
    seen: set[str] = set()
    for j in order:
        if len(chosen) >= max_sentences:
            break
        if chosen and (best <= 0 or float(total[j]) < relative_cutoff * best):
            break
        key = candidates[j][2].lower()
        if key in seen:
            continue
        seen.add(key)
        chosen.append(int(j))
    chosen.sort(key=lambda j: (candidates[j][0], candidates[j][1]))
    text = " ".join(f"{candidates[j][2]} [{candidates[j][0]}]" for j in chosen)
    cited = sorted({candidates[j][0] for j in chosen})
    return Answer(text, sources, "extractive", cited)


def _sentence_scores(query: str, sentences: list[str], embedder: Embedder | None) -> np.ndarray:
    """Cosine similarity to the query (when an embedder is given) mixed with word overlap.

    Overlap weighs each query word by its rarity among the candidate sentences (idf), so
    the one sentence naming a rare query term (``alpha``) beats general ones.
    """
    words = [_words(s) for s in sentences]
    qw = _words(query)
    n = len(sentences)
    idf = {w: math.log(1 + n / (1 + sum(w in x for x in words))) for w in qw}
    total = sum(idf.values())
    lexical = np.array(
        [sum(idf[w] for w in qw & x) / total if total else 0.0 for x in words], dtype=np.float64
    )
    if embedder is None:
        return lexical
    q = np.asarray(embedder.embed_query(query), dtype=np.float32)
    m = np.asarray(embedder.embed_documents(sentences), dtype=np.float32)
    qn = q / (np.linalg.norm(q) or 1.0)
    mn = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    return (1 - LEXICAL_WEIGHT) * (mn @ qn).astype(np.float64) + LEXICAL_WEIGHT * lexical


# ---------------------------------------------------------------------------------------
# LLM answers.

PROMPT = """Answer the question using only the numbered sources below. Cite the sources \
you use as [n]. If the sources do not contain the answer, say so.

{sources}

Question: {question}
Answer:"""


def build_prompt(query: str, sources: Sequence[Source], *, max_chars: int = 12000) -> str:
    """The grounded prompt: numbered sources, then the question."""
    parts: list[str] = []
    used = 0
    for s in sources:
        block = f"[{s.number}] ({s.label})\n{s.text.strip()}"
        if used + len(block) > max_chars and parts:
            break
        parts.append(block)
        used += len(block)
    return PROMPT.format(sources="\n\n".join(parts), question=query.strip())


LLMLike = Callable[[str], str] | Any


def as_llm(llm: LLMLike) -> tuple[Callable[[str], str], str]:
    """A ``prompt -> text`` function and a display name for any supported LLM object.

    Accepts a callable, a LangChain chat model / LLM (``invoke``), a LlamaIndex LLM
    (``complete``) or an ``OpenAICompatibleLLM``.

    Raises:
        TypeError: for anything else.
    """
    name = str(getattr(llm, "model", None) or getattr(llm, "model_name", None) or
               type(llm).__name__)
    if hasattr(llm, "complete") and not isinstance(llm, OpenAICompatibleLLM):
        return (lambda p: str(llm.complete(p).text)), name
    if hasattr(llm, "invoke"):

        def run(p: str) -> str:
            out = llm.invoke(p)
            content = getattr(out, "content", out)
            if isinstance(content, list):  # content blocks
                content = "".join(
                    b.get("text", "") if isinstance(b, dict) else str(b) for b in content
                )
            return str(content)

        return run, name
    if callable(llm):
        return (lambda p: str(llm(p))), name
    raise TypeError(
        f"llm must be a callable, a LangChain model (invoke) or a LlamaIndex LLM (complete); "
        f"got {type(llm).__name__}"
    )


def llm_answer(query: str, hits: Sequence[Hit], llm: LLMLike) -> Answer:
    """Ask an LLM to answer from the hits (grounded prompt with numbered sources).

    Raises:
        LLMError: the LLM call failed or returned nothing.
    """
    sources = sources_from_hits(hits)
    if not sources:
        return Answer("", [], "llm")
    fn, name = as_llm(llm)
    try:
        text = fn(build_prompt(query, sources)).strip()
    except LLMError:
        raise
    except Exception as exc:  # any client error: say which LLM failed and why
        raise LLMError(f"LLM {name!r} failed: {type(exc).__name__}: {exc}") from exc
    if not text:
        raise LLMError(f"LLM {name!r} returned an empty answer")
    cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", text) if 0 < int(n) <= len(sources)})
    return Answer(text, sources, f"llm:{name}", cited)


def answer(
    query: str,
    hits: Sequence[Hit],
    *,
    llm: LLMLike | None = None,
    embedder: Embedder | None = None,
    max_sentences: int = 3,
) -> Answer:
    """``llm_answer`` when an LLM is given, else ``extractive_answer``."""
    if llm is not None:
        return llm_answer(query, hits, llm)
    return extractive_answer(query, hits, embedder=embedder, max_sentences=max_sentences)


class OpenAICompatibleLLM:
    """A chat model behind the OpenAI chat-completions HTTP API (no SDK needed).

    Args:
        model: Model name the server knows, e.g. ``gpt-4o-mini`` or ``llama3.1``.
        base_url: API root ending in ``/v1``; default ``$EMBEDWEAVE_LLM_URL``, then
            ``$OPENAI_BASE_URL``, then ``https://api.openai.com/v1``.
        api_key: Bearer key; default ``$EMBEDWEAVE_LLM_API_KEY``, then ``$OPENAI_API_KEY``.
            Never logged.
        timeout: Seconds per request.
        temperature: Sampling temperature (0 = deterministic where supported).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        temperature: float = 0.0,
    ) -> None:
        if not model:
            raise ValueError("model must name the LLM, e.g. 'gpt-4o-mini'")
        self.model = model
        self.base_url = (
            base_url
            or os.environ.get("EMBEDWEAVE_LLM_URL")
            or os.environ.get("OPENAI_BASE_URL")
            or "https://api.openai.com/v1"
        ).rstrip("/")
        self._api_key = (
            api_key or os.environ.get("EMBEDWEAVE_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        )
        self.timeout = timeout
        self.temperature = temperature

    def __call__(self, prompt: str) -> str:
        """One chat completion for ``prompt``; returns the message text."""
        import httpx

        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.temperature,
        }
        url = f"{self.base_url}/chat/completions"
        try:
            resp = httpx.post(url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise LLMError(f"cannot reach LLM server at {url}: {exc}") from exc
        if resp.status_code != 200:
            raise LLMError(
                f"LLM server {url} answered HTTP {resp.status_code}: {resp.text[:300]}"
            )
        try:
            return str(resp.json()["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"LLM server {url} sent an unexpected reply: {resp.text[:300]}") from exc

    def __repr__(self) -> str:
        return f"OpenAICompatibleLLM({self.model!r}, base_url={self.base_url!r})"


def llm_from_env() -> OpenAICompatibleLLM | None:
    """The LLM configured by ``$EMBEDWEAVE_LLM_MODEL`` (with its URL and key), else None."""
    model = os.environ.get("EMBEDWEAVE_LLM_MODEL")
    return OpenAICompatibleLLM(model) if model else None


__all__ = [
    "Answer",
    "LLMError",
    "OpenAICompatibleLLM",
    "Source",
    "answer",
    "as_llm",
    "build_prompt",
    "extractive_answer",
    "llm_answer",
    "llm_from_env",
    "sources_from_hits",
    "split_sentences",
]

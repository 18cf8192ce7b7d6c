"""Answers from hits: extractive with the real MiniLM, and LLM answers over the OpenAI protocol.

The LLM contract test runs a local HTTP server speaking the chat-completions protocol
(as the Cohere contract test does); the framework adapters use LangChain's and
LlamaIndex's own fake models.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from embedweave.answer import (
    LLMError,
    OpenAICompatibleLLM,
    answer,
    as_llm,
    build_prompt,
    extractive_answer,
    llm_answer,
    sources_from_hits,
    split_sentences,
)
from embedweave.types import Chunk, Hit


def hit(text: str, source: str, score: float, section: str = "", **meta: object) -> Hit:
    md = {"source": source, **({"section": section} if section else {}), **meta}
    return Hit(Chunk(source, 0, f"{section}\n{text}" if section else text, md, "en"), score)


HITS = [
    hit("Hybrid search runs BM25 and vector search and fuses the scores. It helps with codes.",
        "hybrid.md", 0.71, "Hybrid search"),
    hit("`alpha` weighs the two sides: 0 is pure BM25 and 1 is pure vector search.\n"
        "embedweave passes alpha to Weaviate\nexactly, so alpha=0 is keyword only.",
        "hybrid.md", 0.64, "Hybrid search > The alpha parameter"),
    hit("A Matryoshka model can be truncated to fewer dimensions.", "matryoshka.md", 0.4),
]


def test_sentences_skip_code_tables_headings_and_join_wrapped_lines() -> None:
    text = (
        "# Title\nFirst sentence is\nwrapped over lines. Second one here!\n\n```\ncode x = 1 "
        "here\n```\n- a list item with words\n| cell one | cell two |\n|---|---|\n| a | b |\n"
        "钢琴是一种键盘乐器。按下琴键时发出声音。"
    )
    assert split_sentences(text) == [
        "First sentence is wrapped over lines.",
        "Second one here!",
        "a list item with words",
        "钢琴是一种键盘乐器。",
        "按下琴键时发出声音。",
    ]


def test_extractive_answer_cites_the_sentences_that_answer() -> None:
    from embedweave.embedding import Embedder

    result = extractive_answer("What does alpha mean in hybrid search?", HITS,
                               embedder=Embedder("minilm"))
    assert result.method == "extractive"
    assert "0 is pure BM25" in result.text
    assert "[2]" in result.text and 2 in result.cited
    assert "Hybrid search > The alpha parameter" not in result.text  # heading path stripped
    assert [s.number for s in result.sources] == [1, 2, 3]
    assert result.sources[1].label == "hybrid.md § Hybrid search > The alpha parameter"
    # every cited number points at a source that holds the quoted sentence
    for n in result.cited:
        assert any(part in result.sources[n - 1].text for part in result.text.split(f" [{n}]"))


def test_extractive_answer_without_embedder_uses_rare_query_words() -> None:
    result = extractive_answer("Can vectors be truncated to fewer dimensions?", HITS)
    assert result.text == "A Matryoshka model can be truncated to fewer dimensions. [3]"
    assert result.cited == [3]


def test_extractive_edge_cases() -> None:
    assert extractive_answer("q", []).text == ""
    code_only = [hit("```\nx = 1\n```", "a.py", 0.5)]
    assert extractive_answer("what is x", code_only).text.endswith("[1]")
    with pytest.raises(ValueError, match="max_sentences"):
        extractive_answer("q", HITS, max_sentences=0)


def test_sources_carry_page_and_language() -> None:
    src = sources_from_hits([hit("Cats sleep.", "pets.pdf", 0.3, page=2)])[0]
    assert (src.page, src.language, src.label) == (2, "en", "pets.pdf p.2")
    assert src.to_dict()["page"] == 2


class _ChatServer(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []
    reply: ClassVar[tuple[int, dict]] = (200, {})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                    "body": body})
        status, payload = type(self).reply
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[str]:
    _ChatServer.requests = []
    server = HTTPServer(("127.0.0.1", 0), _ChatServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_openai_compatible_llm_gets_a_grounded_prompt(chat_server: str) -> None:
    _ChatServer.reply = (200, {"choices": [{"message": {"role": "assistant",
                                                        "content": "Alpha 0 is BM25 [2]."}}]})
    llm = OpenAICompatibleLLM("tiny-llm", base_url=chat_server, api_key="sk-test")
    result = answer("What is alpha?", HITS, llm=llm)
    assert result.text == "Alpha 0 is BM25 [2]."
    assert result.method == "llm:tiny-llm" and result.cited == [2]
    (req,) = _ChatServer.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["auth"] == "Bearer sk-test"
    assert req["body"]["model"] == "tiny-llm" and req["body"]["temperature"] == 0.0
    prompt = req["body"]["messages"][0]["content"]
    assert prompt == build_prompt("What is alpha?", result.sources)
    assert "[2] (hybrid.md § Hybrid search > The alpha parameter)" in prompt
    assert "sk-test" not in repr(llm)


def test_llm_failures_say_what_failed(chat_server: str) -> None:
    _ChatServer.reply = (500, {"error": "overloaded"})
    with pytest.raises(LLMError, match=r"HTTP 500.*overloaded"):
        llm_answer("q", HITS, OpenAICompatibleLLM("m", base_url=chat_server))
    _ChatServer.reply = (200, {"unexpected": True})
    with pytest.raises(LLMError, match="unexpected reply"):
        llm_answer("q", HITS, OpenAICompatibleLLM("m", base_url=chat_server))
    with pytest.raises(LLMError, match="cannot reach"):
        OpenAICompatibleLLM("m", base_url="http://127.0.0.1:9/v1", timeout=2)("hi")
    with pytest.raises(LLMError, match="empty answer"):
        llm_answer("q", HITS, lambda p: "  ")
    with pytest.raises(TypeError, match="callable"):
        as_llm(42)


def test_framework_llms_are_adapted() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from llama_index.core.llms import MockLLM

    lc = llm_answer("q", HITS, FakeListChatModel(responses=["From LangChain [1]."]))
    assert (lc.text, lc.cited) == ("From LangChain [1].", [1])
    li = llm_answer("q", HITS, MockLLM(max_tokens=3))
    assert li.method.startswith("llm:") and li.text
    fn = llm_answer("q", HITS, lambda prompt: f"{len(prompt)} chars [3] [9]")
    assert fn.cited == [3]  # [9] names no source

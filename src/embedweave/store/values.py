"""What a store accepts: text, ids and metadata that are stored and read back exactly.

Checked before anything is written, so a bad item is refused with an error naming it
instead of half a batch landing on the server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from embedweave.types import Chunk

#: Integers a store keeps exactly (Weaviate ``int`` is 64-bit).
INT_RANGE = (-(2**63), 2**63 - 1)


def check_text(value: object, what: str) -> str:
    """Refuse text a server would reject or garble: non-str, NUL, lone surrogates.

    Args:
        value: The text.
        what: Names the item in the error, e.g. ``document 'a' text``.

    Raises:
        TypeError: not a str.
        ValueError: holds NUL or a lone surrogate (not encodable as UTF-8).
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{what} holds a NUL character at position {value.index(chr(0))}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{what} holds a lone surrogate {value[exc.start]!r} at position {exc.start} "
            "(not valid Unicode text)"
        ) from None
    return value


def check_metadata(metadata: object, what: str) -> None:
    """Refuse metadata that cannot be stored and read back exactly.

    Allowed: non-empty str keys; values None, bool, int (64-bit), finite float, str,
    datetime, lists of those, dicts of them. NaN and inf are refused (JSON and the
    server have no exact form for them), as are NUL and lone surrogates in strings.

    Raises:
        TypeError: a key or value of an unsupported type.
        ValueError: NaN/inf, an out-of-range int, bad text, an empty key.
    """
    if not isinstance(metadata, Mapping):
        raise TypeError(f"{what} metadata must be a dict, got {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"{what} metadata key {key!r} must be a str")
        check_text(key, f"{what} metadata key {key!r}")
        if not key:
            raise ValueError(f"{what} metadata has an empty key")
        _check_value(value, f"{what} metadata {key!r}")


def _check_value(value: object, what: str) -> None:
    if value is None or isinstance(value, (bool, datetime)):
        return
    if isinstance(value, int):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise ValueError(f"{what} = {value} is outside the 64-bit integer range")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} is {value!r}; NaN and inf cannot be stored")
        return
    if isinstance(value, str):
        check_text(value, what)
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_value(v, f"{what}[{i}]")
        return
    if isinstance(value, Mapping):
        check_metadata(value, what)
        return
    raise TypeError(
        f"{what} has unsupported type {type(value).__name__}; use str, int, float, bool, "
        "datetime, None, or lists and dicts of those"
    )


def check_chunk_values(chunks: Sequence[Chunk]) -> None:
    """Check every chunk's ids, text, language and metadata before anything is written.

    Raises:
        TypeError: an item is not a ``Chunk`` or holds a value of the wrong type.
        ValueError: naming the chunk and what is wrong with it.
    """
    for i, c in enumerate(chunks):
        if not isinstance(c, Chunk):
            raise TypeError(f"item {i} is a {type(c).__name__}, not a Chunk")
        name = f"chunk {i} ({c.id!r})" if isinstance(c.id, str) else f"chunk {i}"
        check_text(c.id, f"{name} id")
        if not c.id:
            raise ValueError(f"{name} has an empty id")
        check_text(c.document_id, f"{name} document_id")
        check_text(c.text, f"{name} text")
        if c.language is not None:
            check_text(c.language, f"{name} language")
        check_metadata(c.metadata, name)

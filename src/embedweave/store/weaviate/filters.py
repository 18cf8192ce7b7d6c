"""Translate embedweave ``Filter``s into Weaviate query filters."""

from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from embedweave.filters import Condition, Filter
from embedweave.store.weaviate.properties import metadata_property


def to_weaviate_filter(flt: Filter | None, prop_type: Callable[[str], str | None]) -> Any:
    """A Weaviate filter for ``flt`` (``None`` when it constrains nothing).

    Args:
        flt: The filter to translate.
        prop_type: The collection's data type of a property, ``None`` when no chunk has
            it (such a key matches nothing, or everything for ``ne``/``nin``).
    """
    from weaviate.classes.query import Filter as WFilter

    if flt is None:
        return None
    parts = [
        to_weaviate_filter(p, prop_type) if isinstance(p, Filter) else _condition(p, prop_type)
        for p in flt.conditions
    ]
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return WFilter.all_of(parts) if flt.combine == "and" else WFilter.any_of(parts)


def _condition(cond: Condition, prop_type: Callable[[str], str | None]) -> Any:
    from weaviate.classes.query import Filter as WFilter

    prop = metadata_property(cond.key)
    kind = prop_type(prop)
    if kind is None:
        # Unknown key: no stored chunk has it. eq/gt/... match nothing, ne/nin all.
        return None if cond.op in ("ne", "nin") else _nothing()
    _check_operand(cond, kind)
    if cond.op in ("in", "nin") and not cond.value:
        # in [] matches nothing, nin [] everything (Weaviate refuses empty lists)
        return None if cond.op == "nin" else _nothing()
    f = WFilter.by_property(prop)
    value = cond.value
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind == "int" and isinstance(value, float):
        value = int(value)
    if kind == "int" and isinstance(value, list):
        value = [int(v) for v in value]
    op = cond.op
    if op == "eq":
        return f.equal(value)
    if op == "ne":
        return f.not_equal(value)
    if op == "gt":
        return f.greater_than(value)
    if op == "gte":
        return f.greater_or_equal(value)
    if op == "lt":
        return f.less_than(value)
    if op == "lte":
        return f.less_or_equal(value)
    if op == "in":
        return f.contains_any(list(value))
    if op == "nin":
        return f.contains_none(list(value))
    if op == "contains":
        return f.contains_any([value])
    if op == "like":
        return f.like(str(value).replace("%", "*"))
    raise AssertionError(op)


def _nothing() -> Any:
    """A filter no object matches (the all-zero id)."""
    from weaviate.classes.query import Filter as WFilter

    return WFilter.by_id().contains_any([str(uuid_mod.UUID(int=0))])


def _fits(value: Any, base: str) -> bool:
    if base == "text":
        return isinstance(value, str)
    if base == "boolean":
        return isinstance(value, bool)
    if base == "int":  # the server refuses a float against an int property
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if base == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base == "date":
        return isinstance(value, (str, datetime))
    return True


def _check_operand(cond: Condition, kind: str) -> None:
    """Refuse a value the server cannot compare with the stored kind, naming both."""
    base = kind.removesuffix("[]")
    values = cond.value if cond.op in ("in", "nin") else [cond.value]
    if cond.op == "like":
        ok = isinstance(cond.value, str) and base == "text"
    else:
        ok = all(_fits(v, base) for v in values)
    if not ok:
        raise ValueError(
            f"filter on {cond.key!r}: {cond.op} {cond.value!r} does not fit the stored "
            f"values ({kind})"
        )

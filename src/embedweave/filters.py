"""Store-independent metadata filters, translated by each store.

Wrappers convert LlamaIndex ``MetadataFilters`` and LangChain filter dicts into these,
so filter semantics are defined once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, cast

Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "like"]
OPERATORS: tuple[str, ...] = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "like")


@dataclass(frozen=True)
class Condition:
    """One comparison of a metadata key against a value.

    Attributes:
        key: Metadata key (or ``document_id`` / ``language``).
        op: Comparison operator.
        value: Value to compare with; a list for ``in`` / ``nin``.
    """

    key: str
    op: Operator
    value: Any

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ValueError(f"unknown filter operator {self.op!r}; expected one of {OPERATORS}")
        if self.op in ("in", "nin") and not isinstance(self.value, (list, tuple, set)):
            raise ValueError(f"filter operator {self.op!r} on {self.key!r} needs a list value")


@dataclass(frozen=True)
class Filter:
    """A boolean combination of conditions and nested filters."""

    conditions: tuple[Condition | Filter, ...] = field(default_factory=tuple)
    combine: Literal["and", "or"] = "and"

    def __post_init__(self) -> None:
        if self.combine not in ("and", "or"):
            raise ValueError(f"filter combine must be 'and' or 'or', got {self.combine!r}")


FilterLike = Union[Filter, Condition, Mapping[str, Any], None]  # noqa: UP007 - runtime alias


def as_filter(spec: FilterLike) -> Filter | None:
    """Normalise a filter spec.

    A mapping ``{"key": value}`` means equality on every key (lists mean ``in``);
    ``{"key": {"$gt": 3}}`` uses Mongo-style operators as LangChain users write them;
    ``{"$and": [...]}`` / ``{"$or": [...]}`` nest.

    Args:
        spec: A ``Filter``, a ``Condition``, a mapping, or ``None``.

    Returns:
        A ``Filter`` or ``None`` when there is nothing to filter on.
    """
    if spec is None:
        return None
    if isinstance(spec, Filter):
        return spec if spec.conditions else None
    if isinstance(spec, Condition):
        return Filter((spec,))
    if isinstance(spec, Mapping):
        parts = _from_mapping(spec)
        return Filter(tuple(parts)) if parts else None
    raise TypeError(f"unsupported filter type {type(spec).__name__}")


def _from_mapping(spec: Mapping[str, Any]) -> list[Condition | Filter]:
    parts: list[Condition | Filter] = []
    for key, value in spec.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list):
                raise ValueError(f"{key} needs a list of filters")
            sub = [as_filter(v) for v in value]
            combine: Literal["and", "or"] = "and" if key == "$and" else "or"
            parts.append(Filter(tuple(s for s in sub if s is not None), combine=combine))
        elif isinstance(value, Mapping):
            for op, operand in value.items():
                name = op[1:] if op.startswith("$") else op
                if name not in OPERATORS:
                    raise ValueError(f"unknown filter operator {op!r} on {key!r}")
                parts.append(Condition(key, cast(Operator, name), operand))
        elif isinstance(value, (list, tuple, set)):
            parts.append(Condition(key, "in", list(value)))
        else:
            parts.append(Condition(key, "eq", value))
    return parts


def matches(metadata: Mapping[str, Any], flt: Filter | None) -> bool:
    """Evaluate a filter against one metadata mapping (exact, used by ``MemoryStore``)."""
    if flt is None:
        return True
    results = (
        matches(metadata, part) if isinstance(part, Filter) else _match_one(metadata, part)
        for part in flt.conditions
    )
    return all(results) if flt.combine == "and" else any(results)


def _match_one(metadata: Mapping[str, Any], cond: Condition) -> bool:
    if cond.key not in metadata:
        return cond.op in ("ne", "nin")
    actual = metadata[cond.key]
    op, value = cond.op, cond.value
    try:
        if op == "eq":
            return bool(actual == value)
        if op == "ne":
            return bool(actual != value)
        if op == "gt":
            return bool(actual > value)
        if op == "gte":
            return bool(actual >= value)
        if op == "lt":
            return bool(actual < value)
        if op == "lte":
            return bool(actual <= value)
        if op == "in":
            return actual in value
        if op == "nin":
            return actual not in value
        if op == "contains":
            # As Weaviate: list membership for lists, whole-value equality for scalars.
            if isinstance(actual, (list, tuple)):
                return value in actual
            return bool(actual == value)
        if op == "like":
            import fnmatch

            return fnmatch.fnmatchcase(str(actual), str(value).replace("%", "*"))
    except TypeError as exc:
        raise ValueError(
            f"cannot compare metadata {cond.key!r}={actual!r} with {op} {value!r}"
        ) from exc
    raise AssertionError(op)

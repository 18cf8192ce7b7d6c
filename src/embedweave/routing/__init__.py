"""Multilingual routing: language -> embedding space, plus an optional shared space.

``table`` holds the configuration (``Space``, ``RouteTable``, dict/YAML forms);
``router`` holds the runtime ``Router`` that detects languages, decides spaces and
embeds. Every name is importable from ``embedweave.routing``.
"""

from embedweave.routing.router import (
    RouteDecision,
    Router,
    UnsupportedLanguageError,
    UnsupportedLanguageWarning,
    as_router,
)
from embedweave.routing.table import (
    ANY,
    OnUnsupported,
    RouteTable,
    RoutingError,
    Space,
    space_name_for,
)

__all__ = [
    "ANY",
    "OnUnsupported",
    "RouteDecision",
    "RouteTable",
    "Router",
    "RoutingError",
    "Space",
    "UnsupportedLanguageError",
    "UnsupportedLanguageWarning",
    "as_router",
    "space_name_for",
]

"""Progress bars of evaluation: shown on a terminal unless asked otherwise."""

from __future__ import annotations


def disable_progress(show_progress: bool | None) -> bool | None:
    """tqdm ``disable``: ``None`` = on a terminal only."""
    return None if show_progress is None else not show_progress

"""Overlap of embedding the next ingest window with writing the current one.

``Index`` embeds a window in the calling thread and hands its write to one background
thread, then embeds the next window while the store indexes the last. At most one
write is in flight and writes run in window order, so a document's new chunks are
still written before its stale ones are deleted, and a failed write stops ingestion at
that window: no later window is written after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

logger = logging.getLogger(__name__)


class BackgroundWriter:
    """Runs window writes one at a time in a background thread, in submission order.

    Use as a context manager; leaving it waits for the last write and raises its error.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedweave-index")
        self._pending: Future[None] | None = None

    def submit(self, write: Callable[[], None]) -> None:
        """Wait for the previous write (raising its error), then start ``write``."""
        self.wait()
        self._pending = self._pool.submit(write)

    def wait(self) -> None:
        """Block until the write in flight is done; raise its error, if any."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        try:
            if exc is None:
                self.wait()
            elif self._pending is not None:
                # the caller failed (e.g. embedding the next window): let the write in
                # flight finish, keep the caller's error, and add the write's if any
                try:
                    self.wait()
                except Exception as write_error:
                    logger.error("the previous window's write also failed: %s", write_error,
                                 exc_info=write_error)
                    if hasattr(exc, "add_note"):  # Python 3.11+: the user sees both
                        exc.add_note(f"the previous window's write also failed: {write_error!r}")
        finally:
            self._pool.shutdown(wait=True)

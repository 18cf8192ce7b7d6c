"""Find and remove objects a server crash left half-written.

Weaviate writes an object in steps with a write-ahead log per step (object store,
each inverted index, the vector index) and flushes those logs when a request
completes. A server killed while a request is in flight can keep the object but not
its ``document_id`` index entry (seen in the SIGKILL test: 5 of a 512-object
request in one CI run, 37 in a run here). Such an object counts and is returned by
a cursor scan, but no filter finds it, so ``Index`` never lists it: a stale chunk of
that kind is never deleted, and a missing one, rewritten with the same content,
stays unindexed, because Weaviate skips re-indexing an object whose properties and
vectors did not change. Deleting it by id (through the object store) lets the next
write store it whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: Objects checked per request during a scan.
SCAN_PAGE = 1000


def indexed_count(target: Any, call: Callable[..., Any]) -> int:
    """Objects the ``document_id`` index lists (equals ``count()`` when nothing is torn)."""
    from weaviate.classes.query import Filter as WFilter

    res = call(lambda: target.aggregate.over_all(
        total_count=True, filters=WFilter.by_property("document_id").like("*")),
        "count indexed objects")
    return int(res.total_count or 0)


#: Seconds before suspects are checked again: an object another client is writing right
#: now is in the object store a moment before its index entries; a torn one stays torn.
SETTLE_SECONDS = 2.0


def _unlisted(target: Any, call: Callable[..., Any], batch: list[tuple[str, str]]) -> list[str]:
    """Those of ``(uuid, document_id)`` that the two filters together do not find."""
    from weaviate.classes.query import Filter as WFilter

    uuids = [u for u, _ in batch]
    docs = sorted({d for _, d in batch})
    res = call(lambda: target.query.fetch_objects(
        filters=WFilter.by_id().contains_any(uuids)
        & WFilter.by_property("document_id").contains_any(docs),
        limit=len(uuids), return_properties=[]), f"check {len(uuids)} objects")
    seen = {str(o.uuid) for o in res.objects}
    return [u for u in uuids if u not in seen]


def find_unindexed(target: Any, call: Callable[..., Any], *, page: int = SCAN_PAGE,
                   settle: float = SETTLE_SECONDS) -> list[str]:
    """UUIDs of objects the cursor scan returns but the ``_id`` and ``document_id``
    indexes together do not, still so ``settle`` seconds later (objects being written
    by another client at that moment are indexed by then; objects without a document
    id are left alone)."""
    objects = target.iterator(return_properties=["document_id"], cache_size=page)
    suspects: list[tuple[str, str]] = []
    batch: list[tuple[str, str]] = []

    def check() -> None:
        gone = set(_unlisted(target, call, batch))
        suspects.extend(b for b in batch if b[0] in gone)
        batch.clear()

    while True:
        obj = call(lambda: next(objects, None), "scan objects")
        if obj is None:
            break
        doc = str(obj.properties.get("document_id") or "")
        if doc:
            batch.append((str(obj.uuid), doc))
        if len(batch) >= page:
            check()
    if batch:
        check()
    if not suspects:
        return []
    time.sleep(settle)
    torn: list[str] = []
    for start in range(0, len(suspects), page):
        torn += _unlisted(target, call, suspects[start:start + page])
    return torn


def delete_by_id(target: Any, call: Callable[..., Any], uuids: list[str]) -> int:
    """Delete objects one by one through the object store (filters cannot see them)."""
    deleted = 0
    for u in uuids:
        if call(lambda u=u: target.data.delete_by_id(u), f"delete torn object {u}"):
            deleted += 1
    return deleted

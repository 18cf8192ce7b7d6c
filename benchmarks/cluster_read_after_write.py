"""Read-after-write through another node of a replicated Weaviate cluster.

Starts a real 3-node cluster on loopback (``ManagedCluster``), a collection with
replication factor 3, and writes one object at a time through node 1 at the chosen write
consistency. Right after each write returns, node 3 is asked for it at consistency ALL in
each of the ways ``WeaviateStore`` reads (in an order that rotates per write), and every
read that does not see it is counted:

- ``get``: ``fetch_objects`` with an id filter (``WeaviateStore.get``);
- ``document_chunks``: a property filter (what ``Index`` diffs against);
- ``iter_chunks``: the cursor (``after``) iterator;
- ``count``: ``aggregate.over_all``;
- ``search``: ``near_vector``, the object's own vector with its own direction, k=1.

Weaviate's rule of thumb (read + write consistency > replicas means strongly consistent)
says a QUORUM write read at ALL is always seen. ``--load`` starts that many busy-loop
processes for the length of the run, so the third replica lags behind the two that
acknowledged the write, as it does on a loaded host.

Reproduce:
    .venv/bin/python benchmarks/cluster_read_after_write.py --load 3                # ~1 min
    .venv/bin/python benchmarks/cluster_read_after_write.py --load 3 --write ALL
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import tempfile
from pathlib import Path

from embedweave.server.cluster import ManagedCluster
from embedweave.store.base import Store, VectorSpace
from embedweave.store.weaviate import WeaviateStore
from embedweave.types import Chunk

READS = ["get", "document_chunks", "iter_chunks", "count", "search"]


def _busy() -> None:
    while True:
        pass


def _vector(i: int) -> list[float]:
    """A unit vector of its own direction per write, so k=1 search has one right answer."""
    a = 2 * math.pi * i / 997
    return [math.cos(a), math.sin(a), 0.0, 0.0]


def _seen(reader: Store, read: str, i: int, chunk: Chunk) -> bool:
    """Whether one kind of read through ``reader`` sees write ``i`` (``chunk``)."""
    if read == "get":
        return bool(reader.get([chunk.id]))
    if read == "document_chunks":
        return chunk.document_id in reader.document_chunks([chunk.document_id])
    if read == "iter_chunks":
        return any(c.id == chunk.id for c in reader.iter_chunks())
    if read == "count":
        return reader.count() >= i + 1
    hits = reader.search(_vector(i), space="v", k=1)
    return [h.chunk.id for h in hits] == [chunk.id]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=100)
    ap.add_argument("--write", default="QUORUM", choices=["ONE", "QUORUM", "ALL"],
                    help="write consistency through node 1 (reads are at ALL)")
    ap.add_argument("--load", type=int, default=0, help="busy-loop processes meanwhile")
    args = ap.parse_args()

    burners = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    cluster = ManagedCluster(Path(tempfile.mkdtemp()) / "cluster", 3)
    cluster.start()
    misses = dict.fromkeys(READS, 0)
    try:
        space = VectorSpace("v", "m", "fp", 4)
        with WeaviateStore("ReadAfterWrite", [space], server=cluster.node(1),
                           replication_factor=3, consistency=args.write) as writer, \
             WeaviateStore("ReadAfterWrite", [space], server=cluster.node(3), create=False,
                           consistency="ALL") as reader:
            for p in burners:
                p.start()
            for i in range(args.writes):
                chunk = Chunk(f"d{i}", 0, f"text {i}")
                writer.upsert([chunk], {"v": [_vector(i)]})
                # each read checked once right after the write returned; the order
                # rotates, so each kind is the first read after a fifth of the writes
                for name in READS[i % 5:] + READS[:i % 5]:
                    misses[name] += not _seen(reader, name, i, chunk)
    finally:
        for p in burners:
            p.kill()
        cluster.stop()

    print(f"\n{args.writes} writes through node 1 at {args.write}, each read at once "
          f"through node 3 at ALL, {args.load} busy processes meanwhile\n")
    print("| read | missed the write just made |")
    print("|---|---:|")
    for name in READS:
        print(f"| {name} | {misses[name]} of {args.writes} |")
    print("\nReproduce: .venv/bin/python benchmarks/cluster_read_after_write.py "
          + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()

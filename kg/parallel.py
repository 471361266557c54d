"""A small pool of threads for store queries, so validation uses both cores.

pyoxigraph plans and evaluates a query without holding the GIL, so two queries run at once while Python builds
the findings of a third. Measured on this 2-core machine: a batch's 34 obligation checks over 400 organisations,
271 ms one after another and 150 ms two at a time. The batch's reads of the main store (the copy into the
workspace, stored roles, current violations) go here too.

Tasks never wait on other tasks of the pool, so it cannot deadlock; the calling thread waits on their results.

A lone query, or queries over so little data that each is mostly parsed and planned (~0.15 ms for a check's 2 KB),
run on the calling thread: handing them over costs more than the second core gives back, and a task queued behind
the batch's other reads waits for them (measured, one organisation: its copy 0.90 ms here, 1.44 ms through the
pool; its 15 role rules 1.12 ms here, 1.50 ms through the pool).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from kg.store import Row, Store

QUERIES: Final = ThreadPoolExecutor(max_workers=2, thread_name_prefix="obligraph-query")


def selected(store: Store, queries: Sequence[str]) -> Iterator[list[Row]]:
    """Each SELECT's rows (``Store.select``), in order; evaluated two at a time, each handed over as soon as it and
    those before it are done (one query: on this thread)."""
    if len(queries) > 1:
        return QUERIES.map(store.select, queries)
    return map(store.select, queries)


def constructed(store: Store, queries: Sequence[str], *, on_pool: bool = True) -> Iterator[bytes]:
    """Each CONSTRUCT's triples (N-Triples), in order, evaluated two at a time (with ``on_pool`` false, or for one
    query, one after another on this thread)."""
    if on_pool and len(queries) > 1:
        return QUERIES.map(store.construct, queries)
    return map(store.construct, queries)

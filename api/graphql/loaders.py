"""What one request reads, and how: blocking store work off the server's event loop, each thing read once.

The store is blocking (pyoxigraph, or HTTP to a remote server), so the server's event loop never runs a read.
An HTTP query runs whole in one worker thread, on that thread's own event loop (``in_own_thread``), and its
reads run inline there: one thread hop per request instead of one per read (measured: 11–14 ms less per
dashboard request). Elsewhere (WebSocket operations) each read goes to a worker thread (``store_call``).

A request reads the catalogue once (``catalogue``: one query for the build fingerprint while the process's copy
is current), shares reads two fields need (``shared``: the applicable obligations behind both the list and the
summary; ``organisation``: the role assignments and violation counts several of an organisation's fields
use), and reads each list with what it shows in one call, deciding what to read from what the query selects
(``asked``). A dashboard's reads are made before its fields are completed, two at a time (``run_beside``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Hashable, Iterable, Sequence
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.types.nodes import SelectedField, Selection

from kg.compliance import OrganisationReads
from kg.parallel import QUERIES
from kg.store import Store
from kg.violations import ViolationRecord, violation_records

if TYPE_CHECKING:
    from api.graphql.catalog_types import Catalogue
    from api.graphql.context import Info

P = ParamSpec("P")
T = TypeVar("T")


_IN_OWN_THREAD: ContextVar[bool] = ContextVar("obligraph_graphql_in_own_thread", default=False)
_ABANDONED: ContextVar[threading.Event | None] = ContextVar("obligraph_graphql_abandoned", default=None)
"""Set once the operation this thread runs is past its time limit: its next read does not start."""


def _stop_if_abandoned(abandoned: threading.Event | None) -> None:
    if abandoned is not None and abandoned.is_set():
        raise asyncio.CancelledError  # not an error a field could report: the whole operation ends


async def store_call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking graph work off the server's event loop: inline when this request already has a worker
    thread of its own, else in a worker thread."""
    if _IN_OWN_THREAD.get():
        _stop_if_abandoned(_ABANDONED.get())
        return function(*args, **kwargs)
    return await asyncio.to_thread(function, *args, **kwargs)


class OperationTimeoutError(Exception):
    """An operation ran past its time limit (``in_own_thread``)."""


async def in_own_thread(operation: Callable[[], Coroutine[Any, Any, T]], *, timeout_s: float | None = None) -> T:
    """Run ``operation()`` on a private event loop in a worker thread; its store reads run inline.

    Past ``timeout_s`` this raises ``OperationTimeoutError`` at once and abandons the operation (as it does when the
    caller is cancelled). The operation then stops before its next read (``store_call``, ``run_beside``) or at its
    next await; a read under way finishes in the background, since a store query cannot be interrupted. The schema
    has no mutations, so an abandoned operation never leaves a write half done."""
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[T]]] = []
    abandoned = threading.Event()

    async def tracked() -> T:
        task = asyncio.current_task()
        assert task is not None
        running.append((asyncio.get_running_loop(), task))
        _stop_if_abandoned(abandoned)  # abandoned before its thread started (after, the task is cancelled)
        return await operation()

    def run() -> T:
        _IN_OWN_THREAD.set(True)  # in this thread's copy of the context only
        _ABANDONED.set(abandoned)
        return asyncio.run(tracked())

    work = asyncio.ensure_future(asyncio.to_thread(run))
    try:
        await asyncio.wait({work}, timeout=timeout_s)
    finally:
        if not work.done():
            abandoned.set()
            _abandon(work, running)
    if work.done():
        return work.result()
    raise OperationTimeoutError(f"the operation did not finish within {timeout_s:g} s")


def _abandon(work: asyncio.Future[Any], running: Sequence[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]]) -> None:
    """Cancel the operation on its own loop, and let its end (cancelled, or an answer no one reads) go unseen."""
    work.add_done_callback(lambda done: None if done.cancelled() else done.exception())
    for loop, task in running:
        with contextlib.suppress(RuntimeError):  # the loop closed as the limit passed: nothing left to stop
            loop.call_soon_threadsafe(task.cancel)


class Read(NamedTuple):
    """A blocking read, ``function(store, *args)``, and the key under which a request shares it."""

    key: Hashable
    function: Callable[..., Any]
    args: tuple[Any, ...]


def asked(info: Info, names: Iterable[str]) -> frozenset[str]:
    """Which of ``names`` (GraphQL field names) the current field selects at any depth, through fragments.

    Over-approximates (a name anywhere below counts), which only costs a read the answer does not show."""
    return names_below(info.selected_fields, names)


def names_below(selections: Iterable[Selection], names: Iterable[str]) -> frozenset[str]:
    """Which of ``names`` occur in ``selections`` at any depth, through fragments."""
    wanted = set(names)
    found: set[str] = set()
    stack: list[Selection] = list(selections)
    while stack:
        selection = stack.pop()
        if isinstance(selection, SelectedField) and selection.name in wanted:
            found.add(selection.name)
        stack.extend(selection.selections)
    return frozenset(found)


def asks_within(selections: Iterable[Selection], outer: str, inner: str) -> bool:
    """Whether a field named ``inner`` is selected somewhere below a field named ``outer`` (through fragments)."""
    stack: list[Selection] = list(selections)
    while stack:
        selection = stack.pop()
        if (
            isinstance(selection, SelectedField)
            and selection.name == outer
            and names_below(selection.selections, [inner])
        ):
            return True
        stack.extend(selection.selections)
    return False


class Loaders:
    """One set per request (``cache=False`` for a WebSocket connection, which lives longer than its data)."""

    def __init__(self, store: Store, *, cache: bool = True) -> None:
        self.store = store
        self._cache = cache
        self.violations = DataLoader[str, ViolationRecord | None](load_fn=partial(_violations, store), cache=cache)
        self._shared: dict[Hashable, asyncio.Future[Any]] = {}
        self._organisations: dict[str, OrganisationReads] = {}

    async def catalogue(self) -> Catalogue:
        """The catalogue of the store's current build (``catalog_types.CATALOGUE``)."""
        from api.graphql.catalog_types import CATALOGUE

        return await self.shared("catalogue", CATALOGUE.get)

    async def shared(self, key: Hashable, function: Callable[..., T], *args: Any) -> T:
        """``function(store, *args)`` in a worker thread, once per request for ``key`` (every request on a
        WebSocket reads afresh)."""
        if not self._cache:
            return await store_call(function, self.store, *args)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = asyncio.ensure_future(store_call(function, self.store, *args))
        return await found

    def organisation(self, iri: str) -> OrganisationReads:
        """What the request's reads of one organisation share (a fresh one each time on a WebSocket)."""
        if not self._cache:
            return OrganisationReads(iri)
        found = self._organisations.get(iri)
        if found is None:
            found = self._organisations[iri] = OrganisationReads(iri)
        return found

    async def read(self, read: Read) -> Any:
        return await self.shared(read.key, read.function, *read.args)

    def provide(self, key: Hashable, value: object) -> None:
        """Share a value read ahead (``compliance_types.dashboard``), unless the key is read already."""
        if self._cache and key not in self._shared:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            future.set_result(value)
            self._shared[key] = future

    def release(self) -> None:
        """Drop what the request read, once it is answered. graphql-core's execution keeps the context in
        reference cycles, so without this a dashboard's records live until the cycle collector's next full pass,
        which then takes longer (measured: ~10 ms a pass) and falls inside a later request."""
        self._shared.clear()
        self._organisations.clear()
        self.violations.clear_all()


async def _violations(store: Store, keys: Sequence[str]) -> list[ViolationRecord | None]:
    """The DataLoader's batch function (a function of the store, not a method: a bound method would make the
    loaders a reference cycle, which only the collector frees)."""
    found = await store_call(violation_records, store, keys)
    return [found.get(key) for key in keys]


def run_beside(store: Store, beside: Sequence[Read], here: Sequence[Read]) -> list[tuple[Hashable, Any]]:
    """Blocking: each read's result under its key, the reads ``beside`` in a pool thread (``kg.parallel.QUERIES``)
    while this thread makes those ``here``, so a dashboard's page of violations and its other reads take two
    cores. pyoxigraph evaluates without the GIL, and the rest is Python: a dashboard's reads at 100,000
    organisations on disk measured 10.1 → 8.8 ms median alone. When the pool has not started them by the time
    the others are done (it is busy validating), they are read here too rather than waited for. The two groups
    must share nothing that is read once (``kg.compliance.OrganisationReads``), or both may read it."""
    abandoned = _ABANDONED.get()
    if not beside or not here:
        return _run(store, [*beside, *here], abandoned)
    started = QUERIES.submit(_run, store, beside, abandoned)
    done = _run(store, here, abandoned)
    return done + (_run(store, beside, abandoned) if started.cancel() else started.result())


def _run(store: Store, reads: Sequence[Read], abandoned: threading.Event | None) -> list[tuple[Hashable, Any]]:
    """The reads one after another; none starts once the operation is abandoned (``in_own_thread``)."""
    done = []
    for read in reads:
        _stop_if_abandoned(abandoned)
        done.append((read.key, read.function(store, *read.args)))
    return done

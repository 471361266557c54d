"""A GraphQL query past the server's time limit: answered 503 at once, and stopped after the read under way.

The store here is a real in-memory store whose every read first waits, as a loaded store's would; the server is
assembled from settings as ``obligraph serve`` assembles it (``OBLIGRAPH_GRAPHQL_TIMEOUT_S``)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from api.graphql.loaders import OperationTimeoutError, in_own_thread
from kg.build import ensure_built
from kg.store import OxigraphStore, QueryResult
from obligraph.bootstrap import build_app
from obligraph.settings import Settings
from tests.support import dashboard_data
from tests.support.live_server import live_server

DASHBOARD = """{ organisation(id: "DASH") { ... on Organisation { id systems { id }
  applicableObligations(asOf: "2026-11-01") { obligationId status }
  violations(first: 50, status: ALL) { ... on ViolationConnection { nodes { id history { number } } } }
  complianceSummary(asOf: "2026-11-01") { openViolations } } } }"""
pytestmark = pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
"""graphql-core leaves the field coroutines of a cancelled operation unawaited; Python says so when it frees them."""
DELAY_S = 0.15
LIMIT_S = 0.4


class SlowReads(OxigraphStore):
    """An in-memory store that counts its reads and, once ``delay_s`` is set, waits that long before each."""

    def __init__(self) -> None:
        super().__init__(None)
        self.delay_s = 0.0
        self.reads = 0
        self._lock = threading.Lock()

    def _read(self) -> None:
        with self._lock:
            self.reads += 1
        time.sleep(self.delay_s)

    def query(self, sparql: str, *, prefixes: Mapping[str, str] | None = None) -> QueryResult:
        self._read()
        return super().query(sparql, prefixes=prefixes)

    def outgoing(self, subjects: Any, graph: str | None = None, predicate: str | None = None) -> Any:
        self._read()
        return super().outgoing(subjects, graph, predicate)

    def numbered_objects(self, subjects: Sequence[str], graph: str, predicates: Sequence[str], **kw: Any) -> Any:
        self._read()
        return super().numbered_objects(subjects, graph, predicates, **kw)


@pytest.fixture(scope="module")
def slow() -> SlowReads:
    store = SlowReads()
    ensure_built(store)
    dashboard_data.load(store, ["DASH"], systems=20, violations=50, seed=7)
    return store


@pytest.fixture(scope="module")
def server(slow: SlowReads) -> Iterator[str]:
    app = build_app(Settings(graphql_timeout_s=LIMIT_S), slow)
    with live_server(app, ready_path="/health") as url:
        yield url


def _ask(url: str) -> httpx.Response:
    return httpx.post(f"{url}/graphql", json={"query": DASHBOARD}, timeout=30)


def _settled(store: SlowReads) -> int:
    """The read count once no read has started for a while (the abandoned operation has stopped)."""
    seen = -1
    while store.reads != seen:
        seen = store.reads
        time.sleep(4 * DELAY_S)
    return seen


def test_a_query_past_the_limit_is_answered_at_once_and_stopped(server: str, slow: SlowReads) -> None:
    slow.delay_s = 0.0
    before = slow.reads
    answer = _ask(server)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    whole = slow.reads - before  # what the query reads when it runs to the end
    assert whole * DELAY_S > 2 * LIMIT_S, "the query must read for longer than the limit for this test to mean much"

    slow.delay_s = DELAY_S
    try:
        before = slow.reads
        answer = _ask(server)
        at_answer = slow.reads - before
        stopped_after = _settled(slow) - before
    finally:
        slow.delay_s = 0.0
    assert answer.status_code == 503
    body = answer.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "OBLIGRAPH_GRAPHQL_TIMEOUT_S" in error["message"]
    assert at_answer < whole, "answered before the operation could have read everything"
    assert stopped_after < whole, f"the abandoned operation went on to read everything ({stopped_after}/{whole})"


def test_within_the_limit_the_server_answers_as_usual(server: str, slow: SlowReads) -> None:
    slow.delay_s = 0.0
    answer = _ask(server)
    assert answer.status_code == 200
    assert len(answer.json()["data"]["organisation"]["violations"]["nodes"]) == 50


def test_an_operation_abandoned_before_its_thread_starts_never_runs() -> None:
    """With every worker thread busy, the limit can pass before the operation starts: it must not start later."""
    started = threading.Event()
    release = threading.Event()

    async def operation() -> None:
        started.set()

    async def with_every_thread_busy() -> None:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        busy = asyncio.ensure_future(asyncio.to_thread(release.wait))
        with pytest.raises(OperationTimeoutError):
            await in_own_thread(operation, timeout_s=0.05)
        release.set()
        await busy
        await asyncio.sleep(0.2)  # the queued operation's thread has run by now

    asyncio.run(with_every_thread_busy())
    assert not started.is_set()

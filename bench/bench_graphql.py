"""Benchmark: p95 latency of an organisation-dashboard GraphQL query with many organisations loaded.

Goal (issue 5): ≤ 20 ms at 100,000 organisations for an organisation with 20 systems and 50 violations.

Run: ``.venv/bin/python bench/bench_graphql.py [--orgs 100000] [--samples 200] [--data-dir DIR]`` (default 10,000
organisations, a quick run). The organisations are written straight into the store (``tests/support/dashboard_data.py``;
the event pipeline would take hours for 100,000), each with 2 systems and 3 violations, plus the dashboard's
organisation with 20 systems and 50 violations. The store is in memory, or with ``--data-dir`` on disk as
``obligraph serve`` keeps it (a directory this bench loaded with the same count and fixture is reused, so a second
run skips the load). It measures the query in process (``schema.execute`` in a worker
thread, as the router runs it: strawberry, graphql-core, store) and through HTTP (uvicorn on 127.0.0.1, one
keep-alive client in a process of its own), for the full dashboard query (``DASHBOARD``) and a lean first
screen (``LEAN``); then, in process, pages of violations across organisations (``ACROSS``, no goal); and prints
one table.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from report import console, percentile, say
from rich.table import Table
from strawberry.types import ExecutionResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, when run as a script

from api.app import create_app
from api.config import GraphQLAccess, SparqlEndpointConfig
from api.graphql.catalog_types import read_the_law
from api.graphql.context import Context
from api.graphql.loaders import Loaders, in_own_thread
from api.graphql.schema import schema
from api.graphql.subscription import ChangeHub
from kg.build import ensure_built
from kg.iris import Graphs
from kg.store import OxigraphStore, open_store
from obligraph.heap import settle_heap
from ontology.namespaces import OG
from tests.support import dashboard_data
from tests.support.live_server import live_server

DASHBOARD = """query Dashboard($id: ID!, $asOf: Date!) { organisation(id: $id) { ... on Organisation {
  id name jurisdictionCode registeredOn
  systems { id name launchedOn publicFacing capabilities { notation label(lang: ZH) } }
  roles { role { notation label(lang: ZH) } reasons { kind id } }
  applicableObligations(asOf: $asOf) { obligationId status dueOn obligation { title(lang: ZH) }
    reasons { boundRole { notation } assignment { role { notation } } } }
  violations(first: 50, status: ALL) { ... on ViolationConnection { pageInfo { hasNextPage endCursor }
    nodes { id obligationId status openedAt resolvedAt severity causedBy resolvedBy message(lang: ZH)
      focusSystem { id name } history { number openedAt resolvedAt causedBy resolvedBy }
      trace { shapes { label } obligation { title } articles { label(lang: ZH) } authorities { code name(lang: ZH) }
        penalty { text } } } } }
  complianceSummary(asOf: $asOf) { byStatus { status count } openViolations resolvedViolations
    openViolationsByAuthority { authority { code } count } openViolationsByInstrument { instrument { id } count } }
} } }"""
"""What a dashboard shows: profile, systems, the roles derived (each with the facts that gave it, once), the
applicable obligations with status and the role each binds through, 50 violations with history and trace, and
the header counts. (An earlier version asked each obligation's reasons for the whole role assignment — the same
eight assignments 45 times — and each trace for the obligation id the row already has.)"""
LEAN = """query Lean($id: ID!, $asOf: Date!) { organisation(id: $id) { ... on Organisation {
  id name systems { id name launchedOn }
  applicableObligations(asOf: $asOf) { obligationId status dueOn }
  violations(first: 50, status: ALL) { ... on ViolationConnection { pageInfo { hasNextPage endCursor }
    nodes { id obligationId status openedAt message causedBy history { number openedAt resolvedAt }
      trace { articles { label } authorities { code } } } } }
  complianceSummary(asOf: $asOf) { byStatus { status count } openViolations }
} } }"""
"""The same dashboard without drill-down (reasons, labels in two languages, penalties): what a first screen needs."""
VARIABLES = {"id": "DASH", "asOf": "2026-11-01"}
ACROSS = """query Across($after: String) { violations(first: 50, after: $after) { ... on ViolationConnection {
  pageInfo { hasNextPage endCursor } nodes { id organisationId obligationId status openedAt message } } } }"""
"""A regulator's view, with no goal in the issue: the newest violations of every organisation, a page and the next
(at 100,000 organisations 5–10 s a page while the store joined every violation first; kg/violation_pages.py)."""
ACROSS_SAMPLES = 20
COUNTS = """query Counts { all: violations { ... on ViolationConnection { totalCount } }
  open: violations(filter: {status: OPEN}) { ... on ViolationConnection { totalCount } }
  cac: violations(filter: {authority: "CAC", status: OPEN}) { ... on ViolationConnection { totalCount } } }"""
"""A regulator's counters, with no goal in the issue: every violation, the open ones, CAC's open ones."""


def organisation_count(store: OxigraphStore) -> int:
    rows = store.select(
        f"SELECT (COUNT(?o) AS ?n) WHERE {{ GRAPH <{Graphs.ORGANISATIONS}> {{ ?o a <{OG.Organisation}> }} }}"
    )
    return int(rows[0]["n"].value)  # type: ignore[union-attr]


def fixture_stamp(store: OxigraphStore, orgs: int) -> str:
    """What the data was made of: the organisation count and a digest of what the fixture makes of the dashboard's
    organisation, so a directory an older fixture loaded is not reused (and a change that leaves the data as it
    was, a reformatting, does not force a reload)."""
    shapes = dashboard_data.checked_obligations(store)
    made = dashboard_data.organisation_quads("DASH", shapes, systems=20, violations=50, rng=random.Random(7))
    digest = hashlib.sha256("\n".join(sorted(str(quad) for quad in made)).encode())
    return f"{orgs} {digest.hexdigest()}"


def load(orgs: int, data_dir: Path | None, *, compact: bool = True) -> OxigraphStore:
    """The store with ``orgs`` organisations; on disk, compacted as ``obligraph serve`` keeps it (it compacts
    after the first clock pass of each day) unless ``compact`` is false."""
    store = open_store("oxigraph" if data_dir else "memory", data_dir=data_dir)
    assert isinstance(store, OxigraphStore)
    ensure_built(store)
    stamp = data_dir / "bench-fixture.txt" if data_dir else None
    held = organisation_count(store)
    if held and stamp and stamp.exists() and stamp.read_text() == fixture_stamp(store, orgs):
        say(f"{data_dir}: reusing {orgs:,} organisations, {store.count_triples():,} triples")
        return _compacted(store) if compact else store
    if held:
        raise SystemExit(f"{data_dir} holds other data ({held:,} organisations): give an empty directory")
    started = time.perf_counter()
    step = 10_000
    for first in range(0, orgs - 1, step):
        ids = [f"B{index:07d}" for index in range(first, min(orgs - 1, first + step))]
        dashboard_data.load(store, ids, systems=2, violations=3, seed=first)
        say(f"loaded {first + len(ids):,} organisations")
    dashboard_data.load(store, ["DASH"], systems=20, violations=50, seed=7)
    if stamp:
        stamp.write_text(fixture_stamp(store, orgs))
    say(f"{orgs:,} organisations, {store.count_triples():,} triples in {time.perf_counter() - started:.0f} s")
    return _compacted(store) if compact else store


def _compacted(store: OxigraphStore) -> OxigraphStore:
    started = time.perf_counter()
    if store.compact():
        say(f"compacted the store in {time.perf_counter() - started:.1f} s (as `serve` does once a day)")
    return store


def in_process(store: OxigraphStore, samples: int, query: str) -> list[float]:
    """``query`` on the dashboard's organisation, in process on one event loop: 10 to warm up, then ``samples``."""

    async def once() -> float:
        elapsed, result = await _timed(store, query, VARIABLES)
        assert result.data and len(result.data["organisation"]["violations"]["nodes"]) == 50
        return elapsed

    async def run() -> list[float]:
        for _ in range(10):
            await once()
        return [await once() for _ in range(samples)]

    return asyncio.run(run())


def across_organisations(store: OxigraphStore, samples: int) -> list[float]:
    """Pages of ``ACROSS`` in process, each first page followed by the page after its cursor."""

    def page(result: ExecutionResult) -> str | None:
        assert result.data and len(result.data["violations"]["nodes"]) == 50
        return result.data["violations"]["pageInfo"]["endCursor"]

    times = []
    for _ in range(max(1, samples // 2)):
        first, answer = timed_execution(store, ACROSS, {"after": None})
        second, _ = timed_execution(store, ACROSS, {"after": page(answer)})
        times += [first, second]
    return times


def counts_across_organisations(store: OxigraphStore, samples: int) -> list[float]:
    """``COUNTS`` in process: three ``totalCount`` over every organisation's violations."""
    times = []
    for _ in range(samples):
        elapsed, answer = timed_execution(store, COUNTS, {})
        assert answer.data and answer.data["all"]["totalCount"] >= answer.data["open"]["totalCount"] > 0
        times.append(elapsed)
    return times


def timed_execution(store: OxigraphStore, query: str, variables: dict[str, Any]) -> tuple[float, ExecutionResult]:
    """One query in process on an event loop of its own, and how long it took."""
    return asyncio.run(_timed(store, query, variables))


async def _timed(store: OxigraphStore, query: str, variables: dict[str, Any]) -> tuple[float, ExecutionResult]:
    """``schema.execute`` in a worker thread, as the router runs it, with a fresh context; its time and answer."""
    context = Context(store, ChangeHub(), Loaders(store), GraphQLAccess())
    started = time.perf_counter()
    result = await in_own_thread(lambda: schema.execute(query, variable_values=variables, context_value=context))
    elapsed = time.perf_counter() - started
    assert result.errors is None, result.errors
    return elapsed, result


def over_http(store: OxigraphStore, samples: int, query: str) -> list[float]:
    """The server here (uvicorn in a thread, as ``obligraph serve`` runs it); the client in a process of its own,
    as a dashboard is, so its JSON parsing does not share this process's GIL with the server."""
    app = create_app(store, SparqlEndpointConfig(update_token=None))
    with live_server(app, ready_path="/health") as url:
        body = json.dumps({"query": query, "variables": VARIABLES})
        command = [sys.executable, __file__, "--client", url, "--samples", str(samples)]
        answer = subprocess.run(command, input=body, capture_output=True, text=True, check=False, timeout=600)
        if answer.returncode != 0:
            raise SystemExit(f"the HTTP client failed: {answer.stderr[-2000:]}")
        return [float(line) for line in answer.stdout.split()]


def client(url: str, samples: int) -> None:
    """The HTTP client: read the request body from stdin, warm up, then print one latency (s) per line."""
    body = sys.stdin.read()
    headers = {"Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(10):
            http.post("/graphql", content=body, headers=headers).raise_for_status()
        for _ in range(samples):
            started = time.perf_counter()
            answer = http.post("/graphql", content=body, headers=headers)
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text[:500]
            print(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, help="an on-disk store, as `obligraph serve` has (default: in memory)")
    parser.add_argument(
        "--no-compact", action="store_true", help="measure the on-disk store as loaded, not compacted as `serve` has it"
    )
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)  # the HTTP client's own process
    args = parser.parse_args()
    if args.client:
        client(args.client, args.samples)
        return
    store = load(args.orgs, args.data_dir, compact=not args.no_compact)
    read_the_law(store)  # as `obligraph serve` does at start-up
    settle_heap()
    where = ("on disk, as loaded" if args.no_compact else "on disk, compacted") if args.data_dir else "in memory"
    title = f"Organisation dashboard (20 systems, 50 violations), {args.orgs:,} organisations {where}"
    table = Table(title=title)
    for column in ("query, path", "samples", "mean ms", "p50 ms", "p95 ms", "p99 ms", "p95 ≤ 20 ms"):
        table.add_column(column, justify="left" if column == "query, path" else "right", no_wrap=True)
    runs = (
        ("full, in process", in_process, DASHBOARD),
        ("full, HTTP", over_http, DASHBOARD),
        ("lean, in process", in_process, LEAN),
        ("lean, HTTP", over_http, LEAN),
    )
    for name, measure, query in runs:
        say(f"measuring {name} …")
        _add_row(table, name, [t * 1000 for t in measure(store, args.samples, query)], goal=True)
    say("measuring violations across organisations, in process …")
    times = [t * 1000 for t in across_organisations(store, ACROSS_SAMPLES)]
    _add_row(table, "across organisations, in process", times, goal=False)
    say("measuring counts across organisations, in process …")
    times = [t * 1000 for t in counts_across_organisations(store, ACROSS_SAMPLES)]
    _add_row(table, "3 totalCounts across organisations", times, goal=False)
    console.print(table)


def _add_row(table: Table, name: str, times: list[float], *, goal: bool) -> None:
    p95 = percentile(times, 95)
    table.add_row(
        name,
        str(len(times)),
        f"{statistics.fmean(times):.1f}",
        f"{percentile(times, 50):.1f}",
        f"{p95:.1f}",
        f"{percentile(times, 99):.1f}",
        ("met" if p95 <= 20 else "missed") if goal else "no goal",
    )


if __name__ == "__main__":
    main()

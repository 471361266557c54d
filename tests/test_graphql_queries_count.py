"""No N+1: a page of 50 violations, with history, trace, obligation, articles, authorities and instrument,
costs the few store queries a page of 5 costs (the page is cut in the store and read with its records, earlier
episodes, the events' ids and focus systems in one batch each; the law it points at comes from the process's
catalogue)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from api.app import create_app
from api.config import SparqlEndpointConfig
from kg.iris import build_record
from kg.store import OxigraphStore, Store
from tests.support import dashboard_data
from tests.support.graphql_client import run
from tests.support.live_server import live_server
from tests.support.shape_cases import clear

PAGE = """query($first: Int!) { organisation(id: "DASH") { ... on Organisation { id name
  systems { id name capabilities { label } }
  violations(first: $first, status: ALL) { ... on ViolationConnection { pageInfo { hasNextPage }
    nodes { id obligationId status openedAt message(lang: ZH) causedBy focusSystem { id }
      history { number openedAt resolvedAt causedBy resolvedBy }
      obligation { id title instrument { id title(lang: ZH) issuers { code } } authorities { code name(lang: ZH) }
        articles { label(lang: ZH) instrument { id } } penalty { text } rolesBound { notation } }
      trace { shapes { label } articles { label } authorities { code } penalty { text } } } } } } } }"""


class QueryCounter:
    """Wraps ``store.query`` (which ``select`` and ``ask`` go through), ``store.outgoing`` (a batch of subjects'
    triples: index lookups on the embedded store, one SELECT on a remote one) and ``store.numbered_objects`` (a
    page's records: index lookups in memory, one SELECT on disk), and counts the calls of all three from any
    thread: a read per violation through any of them is an N+1."""

    def __init__(self, store: Store) -> None:
        self.calls = 0
        self.queries: list[str] = []
        self.subjects: list[list[str]] = []
        self._lock = threading.Lock()
        self._query = store.query
        self._outgoing = store.outgoing
        self._numbered_objects = store.numbered_objects

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def query(self, sparql: str, *, prefixes: Mapping[str, str] | None = None) -> Any:
        self._count()
        self.queries.append(sparql)
        return self._query(sparql, prefixes=prefixes)

    def outgoing(self, subjects: Any, *args: Any) -> Any:
        self._count()
        subjects = list(subjects)
        self.subjects.append(subjects)
        return self._outgoing(subjects, *args)

    def numbered_objects(self, subjects: Any, *args: Any, **kwargs: Any) -> Any:
        self._count()
        return self._numbered_objects(subjects, *args, **kwargs)


@pytest.fixture(scope="module")
def served(store: Store) -> Iterator[tuple[str, QueryCounter]]:
    assert isinstance(store, OxigraphStore)
    clear(store)
    dashboard_data.load(store, ["DASH"], systems=20, violations=60)
    dashboard_data.load(store, [f"OTHER{i}" for i in range(50)], systems=2, violations=3, seed=2)
    counter = QueryCounter(store)
    store.query = counter.query  # type: ignore[method-assign]
    store.outgoing = counter.outgoing  # type: ignore[method-assign,assignment]
    store.numbered_objects = counter.numbered_objects  # type: ignore[method-assign]
    try:
        with live_server(create_app(store, SparqlEndpointConfig(update_token=None)), ready_path="/health") as url:
            yield url, counter
    finally:
        del store.query
        del store.outgoing
        del store.numbered_objects
        clear(store)


def queries_for(served: tuple[str, QueryCounter], first: int) -> tuple[int, Any]:
    url, counter = served
    before = counter.calls
    data = run(url, PAGE, {"first": first})
    return counter.calls - before, data


def test_a_page_of_50_violations_costs_as_many_queries_as_a_page_of_5(served: tuple[str, QueryCounter]) -> None:
    queries_for(served, 1)  # the process reads the law once (the catalogue), on its first request
    small, small_data = queries_for(served, 5)
    large, large_data = queries_for(served, 50)
    nodes = large_data["organisation"]["violations"]["nodes"]
    assert len(small_data["organisation"]["violations"]["nodes"]) == 5
    assert len(nodes) == 50
    assert all(node["history"] and node["obligation"]["articles"] is not None for node in nodes)
    assert len({node["obligationId"] for node in nodes}) > 5  # many obligations, many articles: batched, not N+1
    # Each batched read happens once or not at all (a page with no re-opened violation reads no earlier episodes),
    # so the larger page may need one of those the smaller did not; an N+1 would add dozens.
    assert small <= large <= small + 2
    assert large <= 12, f"{large} store reads for one dashboard page"
    print(f"store reads: page of 5 → {small}, page of 50 → {large}")


def test_violations_across_organisations_batch_the_same_way(served: tuple[str, QueryCounter]) -> None:
    url, counter = served
    query = """query($first: Int!) { violations(first: $first) { ... on ViolationConnection { nodes { id
      organisation { ... on Organisation { name } } history { number } trace { obligation { id } } } } } }"""
    run(url, query, {"first": 5})  # the first page of a minute also reads the span of every opened-at (kept a minute)
    counts = []
    for first in (5, 50):
        before = counter.calls
        data = run(url, query, {"first": first})
        assert len(data["violations"]["nodes"]) == first
        counts.append(counter.calls - before)
    assert counts[0] == counts[1]


SHARING = """{ organisation(id: "DASH") { ... on Organisation {
  roles { role { notation } }
  applicableObligations(asOf: "2026-11-01") { obligationId status reasons { assignment { role { notation } } } }
  complianceSummary(asOf: "2026-11-01") { byStatus { status count } openViolations } } } }"""


def test_a_dashboard_reads_what_its_fields_share_once(served: tuple[str, QueryCounter]) -> None:
    """Roles and the obligations' reasons share the role assignments; the obligations' status and the summary
    share the violations counted by obligation and status; the catalogue, the applicable obligations and the
    summary share the build fingerprint that says their cached law is current."""
    url, counter = served
    run(url, SHARING)  # the catalogue, read on a first request
    before, read_before = len(counter.queries), len(counter.subjects)
    data = run(url, SHARING)["organisation"]
    asked = counter.queries[before:]
    assignments = [query for query in asked if "og:assignedRole ?role" in query]
    tallies = [query for query in asked if "GROUP BY ?o ?status" in query]
    assert (len(assignments), len(tallies)) == (1, 1), asked
    fingerprints = [subjects for subjects in counter.subjects[read_before:] if subjects == [str(build_record())]]
    assert len(fingerprints) == 1, counter.subjects[read_before:]
    statuses = {item["status"] for item in data["applicableObligations"]}
    assert "VIOLATED" in statuses and data["roles"]
    violated = sum(1 for item in data["applicableObligations"] if item["status"] == "VIOLATED")
    assert data["complianceSummary"]["openViolations"] >= violated > 0


SYSTEMS_AND_REASONS = """{ organisation(id: "DASH") { ... on Organisation {
  systems { id name }
  roles { role { notation } reasons { kind id } } } } }"""


def test_a_dashboard_describes_each_system_once(served: tuple[str, QueryCounter]) -> None:
    """The systems a dashboard lists are the facts behind most of its roles: described for the list, they are not
    read again for the reasons."""
    url, counter = served
    run(url, SYSTEMS_AND_REASONS)  # the catalogue, read on a first request
    read_before = len(counter.subjects)
    data = run(url, SYSTEMS_AND_REASONS)["organisation"]
    systems = {system["id"] for system in data["systems"]}
    reasons = {reason["id"] for role in data["roles"] for reason in role["reasons"] if reason["kind"] == "AI_SYSTEM"}
    assert len(systems) == 20 and reasons and reasons <= systems, (systems, reasons)
    system_reads = [s for s in counter.subjects[read_before:] if any("/system/" in subject for subject in s)]
    assert len(system_reads) == 1, system_reads


COUNT_ONLY = """query($status: ViolationStatusFilter!) { violations(filter: {status: $status}) {
  ... on ViolationConnection { totalCount } } }"""


def test_a_total_count_asked_alone_reads_no_page(served: tuple[str, QueryCounter]) -> None:
    """Across every organisation a page costs a second at 100,000 organisations: a query that shows only the count
    makes the count's one query and no page's."""
    url, counter = served
    run(url, COUNT_ONLY, {"status": "OPEN"})  # the catalogue, read on a first request
    before = len(counter.queries)
    counted = run(url, COUNT_ONLY, {"status": "OPEN"})["violations"]["totalCount"]
    asked = counter.queries[before:]
    assert [query for query in asked if "COUNT(" in query] and not [query for query in asked if "ORDER BY" in query]
    with_page = run(
        url,
        "{ violations(filter: {status: OPEN}, first: 100) { ... on ViolationConnection { totalCount nodes { id } } } }",
    )["violations"]
    assert counted == with_page["totalCount"] > len(with_page["nodes"]) > 0

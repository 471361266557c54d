"""What makes the dashboard fast changes no answer: the lean executor answers as graphql-core's own does, the
catalogue is read again when the build changes, and cached validation still refuses what it refused."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import strawberry

from api.app import create_app
from api.config import GraphQLAccess, SparqlEndpointConfig
from api.graphql.context import Context
from api.graphql.loaders import Loaders, Read, run_beside
from api.graphql.query import Query
from api.graphql.schema import schema
from api.graphql.subscription import ChangeHub, Subscription
from kg.catalog import FixedCache, build_fingerprint
from kg.iris import Graphs, build_fingerprint_predicate, build_record
from kg.nodes import Node
from kg.parallel import QUERIES
from kg.store import OxigraphStore, Store
from tests.support import dashboard_data
from tests.support.live_server import live_server
from tests.support.shape_cases import clear

STANDARD = strawberry.Schema(query=Query, subscription=Subscription)
"""The same types through graphql-core's standard execution, without limits or caches."""

CONCEPT = "iri notation label zh: label(lang: ZH) definition"
QUERY = f"""query($lang: Lang!) {{
  organisation(id: "DASH") {{ __typename ... on Organisation {{ id name registeredOn ciiOperator
    jurisdiction {{ {CONCEPT} }} systems {{ id name launchedOn retiredOn publicFacing monthlyActiveUsers
      capabilities {{ {CONCEPT} }} }}
    roles {{ role {{ notation label(lang: $lang) }} reasons {{ kind id name }} rules {{ label comment(lang: ZH) }} }}
    applicableObligations(asOf: "2026-11-01") {{ obligationId status dueOn
      obligation {{ id title machineCheckable deadline {{ text rules {{ label amount unit }} }} }}
      reasons {{ boundRole {{ notation }} assignment {{ role {{ notation }} }} }} }}
    violations(first: 30, status: ALL) {{ ... on ViolationConnection {{ pageInfo {{ hasNextPage endCursor }}
      edges {{ cursor node {{ id status openedAt resolvedAt severity causedBy resolvedBy message
        zh: message(lang: ZH) byVariable: message(lang: $lang) focusSystem {{ id }} history {{ number openedAt }}
        trace {{ shapes {{ label comment }} articles {{ number label(lang: ZH) }} authorities {{ code name level }}
          instrument {{ id title(lang: ZH) effectiveOn status {{ notation }} }} penalty {{ text maximumFineCny }} }}
      }} }} }} }}
    complianceSummary(asOf: "2026-11-01") {{ byStatus {{ status count }} openViolationsByAuthority {{
      authority {{ code }} count }} }} }} }}
  obligations(first: 30) {{ ... on ObligationConnection {{ nodes {{ id title riskSubdomains {{ notation }}
    articles {{ label instrument {{ id }} }} }} }} }}
}}"""


@pytest.fixture(scope="module")
def loaded(store: Store) -> Store:
    assert isinstance(store, OxigraphStore)
    clear(store)
    dashboard_data.load(store, ["DASH"], systems=5, violations=30)
    return store


def execute(on: strawberry.Schema, store: Store, query: str, variables: dict[str, Any] | None = None) -> Any:
    context = Context(store, ChangeHub(), Loaders(store), GraphQLAccess())
    return asyncio.run(on.execute(query, variable_values=variables, context_value=context))


@pytest.mark.parametrize("lang", ["EN", "ZH"])
def test_the_lean_executor_answers_as_graphql_core_does(loaded: Store, lang: str) -> None:
    fast = execute(schema, loaded, QUERY, {"lang": lang})
    standard = execute(STANDARD, loaded, QUERY, {"lang": lang})
    assert fast.errors is None and standard.errors is None, (fast.errors, standard.errors)
    assert fast.data == standard.data
    assert len(fast.data["organisation"]["violations"]["edges"]) == 30


def test_the_catalogue_is_read_again_when_the_build_changes(loaded: Store) -> None:
    made: list[int] = []

    def make(nodes: Mapping[str, Node]) -> int:
        made.append(len(nodes))
        return len(made)

    cache = FixedCache(make)
    fingerprint = build_fingerprint(loaded)
    assert fingerprint is not None
    assert cache.get(loaded) == cache.get(loaded) == 1
    record = f"GRAPH <{Graphs.META}> {{ <{build_record()}> <{build_fingerprint_predicate()}>"
    try:
        loaded.update(f'DELETE DATA {{ {record} "{fingerprint}" }} }}; INSERT DATA {{ {record} "rebuilt" }} }}')
        assert cache.get(loaded) == cache.get(loaded) == 2
        loaded.update(f'DELETE DATA {{ {record} "rebuilt" }} }}')
        assert cache.get(loaded) == 3 and cache.get(loaded) == 4  # no fingerprint: nothing is kept
    finally:
        loaded.update(f'INSERT DATA {{ {record} "{fingerprint}" }} }}')
    assert made[0] > 500  # every subject of the ontology, regulation and shapes graphs


def test_cached_validation_still_refuses(loaded: Store) -> None:
    inner = "nodes { id trace { articles { label } } history { number } }"
    expensive = (
        "{ violations(first: 100) { ... on ViolationConnection { nodes { organisation { ... on Organisation { "
        f"violations(first: 100) {{ ... on ViolationConnection {{ {inner} }} }} }} }} }} }} }} }}"
    )
    for _ in range(2):
        result = execute(schema, loaded, expensive)
        assert result.errors and "too expensive" in result.errors[0].message


@strawberry.type
class _Leaf:
    name: str
    note: str | None


@strawberry.type
class _Branch:
    leaf: _Leaf
    leaves: list[_Leaf | None]
    strict_leaves: list[_Leaf]


def _branch(name: Any, items: list[Any]) -> _Branch:
    return _Branch(leaf=_Leaf(name=name, note=None), leaves=items, strict_leaves=items)


@strawberry.type
class _Tree:
    @strawberry.field
    def branches(self) -> list[_Branch]:
        return [_branch("a", [_Leaf(name="b", note="n"), None]), _branch(None, [_Leaf(name=None, note=None)])]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "query",
    [
        "{ branches { leaf { name note __typename } } }",
        "{ branches { leaves { name note } } }",
        "{ branches { strictLeaves { name } } }",
        "{ branches { leaf { note } leaves { note } } }",
    ],
)
def test_plain_objects_answer_and_fail_as_graphql_core_does(query: str) -> None:
    """Nulls where the type says non-null, in a nested object and in list items: the lean pass hands the object
    to the standard path, so data, errors and their paths are graphql-core's."""
    from api.graphql.execution import PlainLeafExecutor

    lean = strawberry.Schema(query=_Tree, execution_context_class=PlainLeafExecutor).execute_sync(query)
    standard = strawberry.Schema(query=_Tree).execute_sync(query)
    assert lean.data == standard.data
    assert [(e.message, e.path) for e in lean.errors or []] == [(e.message, e.path) for e in standard.errors or []]
    assert query.endswith("{ note } } }") or standard.errors  # every query but the last meets a null


def test_the_summary_counts_are_a_recount_of_the_violations(loaded: Store) -> None:
    """``violation_counts`` sums by obligation; recount each open violation through its obligation's links."""
    from collections import Counter

    from kg.compliance import violation_counts
    from kg.violation_pages import violation_page
    from kg.violations import ViolationFilter, violation_records

    organisation = "https://w3id.org/obligraph/org/DASH"
    keys = violation_page(loaded, ViolationFilter(organisation=organisation, status="all"), after=None, limit=1000)
    records = violation_records(loaded, [iri for _, iri in keys]).values()
    by_authority: Counter[str] = Counter()
    by_instrument: Counter[str] = Counter()
    for record in records:
        if not record.open:
            continue
        for row in loaded.select(
            f"SELECT ?p ?t WHERE {{ <{record.obligation}> ?p ?t "
            "FILTER(?p IN (<https://w3id.org/obligraph/ontology#hasCompetentAuthority>, "
            "<https://w3id.org/obligraph/ontology#hasInstrument>)) }"
        ):
            target = by_authority if str(row["p"]).endswith("Authority>") else by_instrument
            target[str(row["t"]).strip("<>")] += 1
    counts = violation_counts(loaded, organisation)
    assert counts.open == sum(record.open for record in records) > 0
    assert counts.resolved == sum(not record.open for record in records) > 0
    assert counts.open_by_authority == dict(by_authority) and counts.open_by_instrument == dict(by_instrument)


def test_an_answered_request_leaves_nothing_for_the_cycle_collector(loaded: Store) -> None:
    """Over HTTP, the request's executor, context and reads are freed as soon as it is answered: left in
    reference cycles, they made the collector run every ~20 dashboards, several milliseconds each time."""
    app = create_app(loaded, SparqlEndpointConfig(update_token=None))
    body = {"query": QUERY, "variables": {"lang": "ZH"}}
    with live_server(app, ready_path="/health") as url, httpx.Client(base_url=url, timeout=30) as http:
        assert "errors" not in http.post("/graphql", json=body).json()  # warmed: caches filled
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector would free is kept in gc.garbage instead
        try:
            answers = [http.post("/graphql", json=body).json() for _ in range(3)]
            gc.collect()
            left = {type(thing).__name__ for thing in gc.garbage}
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert all("errors" not in answer and answer["data"]["organisation"]["id"] == "DASH" for answer in answers)
    assert not left & {"PlainLeafExecutor", "FieldDetails", "Context", "Loaders", "ViolationRecord", "Node"}


def _named(store: Store, name: str) -> tuple[str, str]:
    return name.upper(), threading.current_thread().name


def test_a_dashboard_reads_its_page_beside_its_other_reads(loaded: Store) -> None:
    started = threading.Event()

    def page(store: Store) -> tuple[str, str]:
        started.set()
        return _named(store, "page")

    def roles(store: Store) -> tuple[str, str]:
        assert started.wait(10)  # the page is read while this one is
        return _named(store, "roles")

    here = [Read(("read", "roles"), roles, ()), Read(("read", "counts"), _named, ("counts",))]
    done = dict(run_beside(loaded, [Read(("read", "page"), page, ())], here))
    this = threading.current_thread().name
    assert {key: answer for key, (answer, _) in done.items()} == {
        ("read", "page"): "PAGE",
        ("read", "roles"): "ROLES",
        ("read", "counts"): "COUNTS",
    }
    assert done[("read", "page")][1].startswith("obligraph-query")
    assert done[("read", "roles")][1] == done[("read", "counts")][1] == this


def test_a_read_the_busy_pool_has_not_started_runs_in_the_calling_thread(loaded: Store) -> None:
    """Waiting for a pool busy with validation would make a dashboard slower than reading alone."""
    release = threading.Event()
    busy = [QUERIES.submit(release.wait, 10) for _ in range(QUERIES._max_workers)]
    try:
        done = dict(run_beside(loaded, [Read("page", _named, ("page",))], [Read("roles", _named, ("roles",))]))
    finally:
        release.set()
        for future in busy:
            future.result()
    assert done["page"] == ("PAGE", threading.current_thread().name)

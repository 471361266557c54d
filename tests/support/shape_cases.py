"""Shape test cases as data: event histories with the violations they must (and must not) open.

A case file ``tests/shapes/cases/<name>.yaml`` holds::

    obligation: ALG-09              # the obligation whose open violations the cases assert
    cases:
      - name: filed on the 10th working day
        events:                     # CloudEvents; specversion, id and source are filled in,
          - type: organisation.registered   # subject defaults to ORG-1
            time: 2026-03-02T09:00:00+08:00
            data: {name: Acme, jurisdiction: CN-BJ}
        as_of: 2026-04-01           # optional: the clock re-validates everyone as of this day afterwards
        open: [system:S1]           # "organisation", "system:<id>" or "transfer:<id>" of ORG-1 (or "<org>/system:<id>")

Both engines judge each case: the pipeline (events applied one by one, then the clock), and pyshacl over the
same organisation data, the regulation graph and the same as-of day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml
from pyshacl import validate
from rdflib import Graph, Literal, URIRef

import shapes
from kg import iris
from kg.clock_passes import CLOCK, LAST_PASS
from kg.events import Event, parse_event
from kg.iris import Graphs
from kg.organisations import as_of_date
from kg.pipeline import Pipeline
from kg.queued_rounds import EVENT_JSON
from kg.roles import ROLES_DIGEST
from kg.store import Store
from ontology.namespaces import OG, SH, XSD

CASES_DIR = Path(__file__).resolve().parents[1] / "shapes" / "cases"
DEFAULT_ORG = "ORG-1"
MUTABLE_GRAPHS = (Graphs.ORGANISATIONS, Graphs.DERIVED, Graphs.VIOLATIONS, Graphs.EVENTS, Graphs.OUTBOX)


@dataclass(frozen=True)
class ShapeCase:
    file: str
    obligation: str
    name: str
    events: tuple[Mapping[str, Any], ...]
    as_of: date | None
    open: frozenset[str]

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


def load_cases(directory: Path = CASES_DIR) -> list[ShapeCase]:
    cases = []
    for path in sorted(directory.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in document["cases"]:
            cases.append(
                ShapeCase(
                    file=path.stem,
                    obligation=case.get("obligation", document["obligation"]),
                    name=case["name"],
                    events=tuple(case["events"]),
                    as_of=date.fromisoformat(str(case["as_of"])) if case.get("as_of") else None,
                    open=frozenset(case.get("open", ())),
                )
            )
    return cases


def case_events(case: ShapeCase) -> Iterator[Event]:
    for number, raw in enumerate(case.events):
        event = {"specversion": "1.0", "id": f"{case.name}#{number}", "source": "urn:test:cases", **raw}
        event.setdefault("subject", DEFAULT_ORG)
        if isinstance(event.get("time"), datetime):
            event["time"] = event["time"].isoformat()
        yield parse_event(_jsonable(event))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def focus_key(focus: str) -> str:
    """``…/org/ORG-1/system/S1`` → ``system:S1``; another organisation's node keeps its id as a prefix."""
    organisation = iris.organisation_id(focus)
    rest = focus[len(str(iris.organisation(organisation))) :].strip("/")
    key = "organisation" if not rest else ":".join(rest.split("/", 1))
    return key if organisation == DEFAULT_ORG else f"{organisation}/{key}"


def clear(store: Store) -> None:
    for graph in MUTABLE_GRAPHS:
        store.drop_graph(graph)
    store.update(f"DELETE WHERE {{ GRAPH <{Graphs.META}> {{ ?org {OG.awaitsValidation.n3()} ?event }} }}")
    forget_judged_moments(store)
    store.update(f"DELETE WHERE {{ GRAPH <{Graphs.META}> {{ {CLOCK.n3()} {LAST_PASS.n3()} ?day }} }}")
    store.update(f"DELETE WHERE {{ GRAPH <{Graphs.META}> {{ ?org {ROLES_DIGEST.n3()} ?digest }} }}")
    store.update(f"DELETE WHERE {{ GRAPH <{Graphs.META}> {{ ?entry {EVENT_JSON.n3()} ?json ; ?p ?o }} }}")
    store.update(f"DELETE WHERE {{ GRAPH <{Graphs.META}> {{ ?node {OG.fieldsWrittenAt.n3()} ?times }} }}")


def forget_judged_moments(store: Store) -> None:
    """Leave every organisation unjudged, so the clock judges each as of the day asked, even a day before its
    events (``kg.judged_moments``: otherwise as of the later moment it was judged as of)."""
    store.update(f"DELETE WHERE {{ GRAPH <{Graphs.META}> {{ ?org {OG.judgedAsOf.n3()} ?moment }} }}")


def run_engine(store: Store, pipeline: Pipeline, case: ShapeCase) -> tuple[frozenset[str], date]:
    clear(store)
    last_day: date | None = None
    for event in case_events(case):
        result = pipeline.process([event])
        if result.rejected:
            raise AssertionError(f"{case.id}: event rejected: {result.rejected[0].reason}")
        last_day = as_of_date(event.time)
    day = case.as_of or last_day
    assert day is not None, f"{case.id}: a case needs events"
    if case.as_of is not None:
        pipeline.revalidate(case.as_of)
    return open_violations(store, case.obligation), day


def open_violations(store: Store, obligation: str) -> frozenset[str]:
    rows = store.select(
        f"SELECT ?focus WHERE {{ GRAPH <{Graphs.VIOLATIONS}> {{ ?v {OG.isViolationOf.n3()} "
        f"{iris.obligation(obligation).n3()} ; {OG.hasFocusNode.n3()} ?focus ; "
        f"{OG.hasViolationStatus.n3()} {OG.ViolationOpen.n3()} }} }}"
    )
    return frozenset(focus_key(str(row["focus"].value)) for row in rows)  # type: ignore[union-attr]


def run_pyshacl(store: Store, reference: Graph, obligation: str, day: date) -> frozenset[str]:
    """pyshacl's verdict on the organisation data the engine applied, with the same as-of day."""
    data = Graph()
    data += reference
    data.parse(data=store.export_graph(Graphs.ORGANISATIONS, ox.RdfFormat.N_TRIPLES), format="nt")
    data.add((OG.validationContext, OG.asOf, Literal(day.isoformat(), datatype=XSD.date)))
    graph = shapes_graph_for(obligation)
    _, report, _ = validate(data, shacl_graph=graph, advanced=True, inference="none", allow_warnings=True)
    target = iris.obligation(obligation)
    found = set()
    for result in report.subjects(SH.sourceShape, None):
        shape = report.value(result, SH.sourceShape)
        if graph.value(shape, OG.checksObligation) != target:
            continue
        value = report.value(result, SH.value)
        focus = value if isinstance(value, URIRef) else report.value(result, SH.focusNode)
        found.add(focus_key(str(focus)))
    return frozenset(found)


@cache
def shapes_graph_for(obligation: str) -> Graph:
    """The role rules and the one obligation's shapes: pyshacl judges a case only on what it asserts
    (the whole set is compared with the engine in ``tests/test_differential.py``)."""
    graph = Graph()
    for path in shapes.OBLIGATION_SHAPE_FILES:
        if path.parent.name != "obligations" or path.stem == obligation:
            graph.parse(path, format="turtle")
    return graph

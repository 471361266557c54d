"""The engine equals pyshacl: the same open violations on 1,000 generated organisations, judged as of one day.

The organisations come as ten independent datasets of 100 (organisations never refer to each other, and
pyshacl's whole-graph time grows faster than linearly: ~40 s for 100 organisations with these shapes, too slow
for 1,000 in one graph). For each dataset the engine (``kg.pipeline``) applies the generated events in batches,
derives roles and validates incrementally with its compiled SPARQL; then the clock re-checks everyone as of
``AS_OF``. pyshacl, the reference, validates that dataset's whole exported organisation graph, with the
regulation graph, the same shapes and rules (``advanced=True``) and the same as-of day.
Each side is reduced to a set of (organisation id, obligation id, focus node IRI);
the sets must be equal. Whatever shapes exist are compared: the test names no obligation.

A second, smaller comparison checks that the engine's verdict does not depend on batching: a subset of the
organisations, one event per batch (each validated as of its own time), then the clock, ends where the batch
path ended.

What this proves, and what it does not: pyshacl reads the organisation graph the engine wrote (events mapped by
``kg.organisations``, due dates by ``kg.due_dates``) and runs the same ``sh:select`` and rule texts. So it checks
the engine's evaluation of the shapes (its compiled queries, the ``VALUES`` and ``NOT EXISTS`` rewrites of
``kg.absence``, batched evaluation, roles stored and read back) against SHACL's own, at the end state after a full
pass. A wrong shape, a wrong mapping of an event or a wrong due date is on both sides: those are the business of
the shape cases (``tests/shapes/cases``, written by hand from the law), ``tests/test_deadlines.py`` and
``tests/test_workdays.py``; incremental judging and violation histories that of ``tests/test_deltas.py`` and
``tests/test_pipeline.py``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox
import pytest
from pyshacl import validate
from rdflib import Graph, Literal, URIRef

import shapes
from kg import iris
from kg.build import ensure_built
from kg.iris import Graphs
from kg.pipeline import Pipeline
from kg.regulations import build_regulation_graph
from kg.store import Store, open_store
from ontology.namespaces import OG, SH, SKOS, XSD
from tests.support import generated_data
from tests.support.parsed_once import sparql_parsed_once

ORGANISATIONS = 1_000
DATASETS = 10
SEED = 20_261_101
BATCH = 500
AS_OF = generated_data.AS_OF
PER_EVENT_ORGANISATIONS = 60
MIN_OBLIGATIONS = 5
"""The generator must make several different obligations fire, or agreement would prove little."""
SHOWN = 20

Verdict = tuple[str, str, str]
"""(organisation id, obligation id, focus node IRI): one open violation."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@dataclass
class Judged:
    events: list[generated_data.JsonObject]
    engine: frozenset[Verdict]
    reference: frozenset[Verdict]
    seconds: dict[str, float]


def _say(message: str) -> None:
    print(f"[differential] {message}", flush=True)


def build_store() -> tuple[Store, Pipeline]:
    store = open_store("memory")
    ensure_built(store)
    return store, Pipeline.from_store(store)


def run_batches(pipeline: Pipeline, events: list[generated_data.JsonObject], batch: int) -> None:
    parsed = generated_data.as_events(events)
    for start in range(0, len(parsed), batch):
        result = pipeline.process(parsed[start : start + batch])
        assert not result.rejected, f"generated event rejected: {result.rejected[0].reason}"


def run_one_by_one(pipeline: Pipeline, events: list[generated_data.JsonObject]) -> None:
    for event in generated_data.as_events(events):
        result = pipeline.process([event])
        assert not result.rejected, f"generated event {event.id} rejected: {result.rejected[0].reason}"


def engine_verdicts(store: Store) -> frozenset[Verdict]:
    rows = store.select(
        f"SELECT ?org ?obligation ?focus WHERE {{ GRAPH <{Graphs.VIOLATIONS}> {{ ?v {OG.isViolationOf.n3()} ?o ; "
        f"{OG.concernsOrganisation.n3()} ?org ; {OG.hasFocusNode.n3()} ?focus ; "
        f"{OG.hasViolationStatus.n3()} {OG.ViolationOpen.n3()} }} ?o {SKOS.notation.n3()} ?obligation }}"
    )
    return frozenset(
        (iris.organisation_id(str(row["org"].value)), str(row["obligation"].value), str(row["focus"].value))  # type: ignore[union-attr]
        for row in rows
    )


def pyshacl_verdicts(store: Store, regulations: Graph, day: date) -> frozenset[Verdict]:
    """pyshacl over the whole organisation graph at once, as the engine's reference."""
    shapes_graph = shapes.load_obligation_shapes()
    data = Graph()
    data += regulations
    data.parse(data=store.export_graph(Graphs.ORGANISATIONS, ox.RdfFormat.N_TRIPLES), format="nt")
    data.add((OG.validationContext, OG.asOf, Literal(day.isoformat(), datatype=XSD.date)))
    _, report, _ = validate(data, shacl_graph=shapes_graph, advanced=True, inference="none", allow_warnings=True)
    found = set()
    for result in report.subjects(SH.sourceShape, None):
        shape = report.value(result, SH.sourceShape)
        focus = report.value(result, SH.focusNode)
        value = report.value(result, SH.value)
        obligation = shapes_graph.value(shape, OG.checksObligation)
        notation = regulations.value(obligation, SKOS.notation) if obligation is not None else None
        found.add(
            (
                iris.organisation_id(str(focus)),
                str(notation) if notation is not None else f"(no obligation: {shape})",
                str(value if isinstance(value, URIRef) else focus),
            )
        )
    return frozenset(found)


def describe_difference(engine: Iterable[Verdict], reference: Iterable[Verdict], names: tuple[str, str]) -> str:
    left, right = frozenset(engine), frozenset(reference)
    only_left, only_right = sorted(left - right), sorted(right - left)
    lines = [f"{names[0]}: {len(left)} open, {names[1]}: {len(right)} open"]
    for name, only in ((names[0], only_left), (names[1], only_right)):
        by_obligation = Counter(obligation for _, obligation, _ in only)
        lines.append(f"only {name} ({len(only)}; by obligation {dict(sorted(by_obligation.items()))}):")
        lines += [f"  {organisation}  {obligation}  {focus}" for organisation, obligation, focus in only[:SHOWN]]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def regulations() -> Graph:
    return build_regulation_graph()


@pytest.fixture(scope="module")
def judged(regulations: Graph) -> Judged:
    seconds: dict[str, float] = {"engine": 0.0, "pyshacl": 0.0}
    size = ORGANISATIONS // DATASETS
    events: list[generated_data.JsonObject] = []
    engine: set[Verdict] = set()
    reference: set[Verdict] = set()
    with sparql_parsed_once():
        for dataset in range(DATASETS):
            batch_events = generated_data.generate(size, SEED, first=dataset * size)
            events += batch_events
            store, pipeline = build_store()
            started = time.perf_counter()
            run_batches(pipeline, batch_events, BATCH)
            pipeline.revalidate(AS_OF)
            seconds["engine"] += time.perf_counter() - started
            engine |= engine_verdicts(store)
            started = time.perf_counter()
            reference |= pyshacl_verdicts(store, regulations, AS_OF)
            seconds["pyshacl"] += time.perf_counter() - started
            store.close()
            _say(f"dataset {dataset + 1}/{DATASETS}: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    return Judged(events, frozenset(engine), frozenset(reference), seconds)


def test_engine_equals_pyshacl_on_generated_organisations(judged: Judged) -> None:
    assert len({organisation for organisation, _, _ in judged.engine}) > ORGANISATIONS // 10
    assert judged.engine == judged.reference, describe_difference(
        judged.engine, judged.reference, ("engine", "pyshacl")
    )


def test_generated_organisations_break_several_obligations(judged: Judged) -> None:
    by_obligation = Counter(obligation for _, obligation, _ in judged.engine)
    _say(f"open violations by obligation: {dict(sorted(by_obligation.items()))}")
    assert len(by_obligation) >= MIN_OBLIGATIONS, f"only {sorted(by_obligation)} fire: the comparison is too thin"
    assert len({organisation for organisation, _, _ in judged.engine}) >= ORGANISATIONS // 10


def test_one_event_per_batch_ends_where_the_batches_end(judged: Judged) -> None:
    grouped = generated_data.by_organisation(judged.events)
    chosen = set(sorted(grouped)[:PER_EVENT_ORGANISATIONS])
    events = [event for event in judged.events if event["subject"] in chosen]
    store, pipeline = build_store()
    run_one_by_one(pipeline, events)
    pipeline.revalidate(AS_OF)
    one_by_one = engine_verdicts(store)
    batched = frozenset(verdict for verdict in judged.engine if verdict[0] in chosen)
    store.close()
    assert batched, "the chosen organisations have no open violations: choose more"
    assert one_by_one == batched, describe_difference(one_by_one, batched, ("one event per batch", "batches"))

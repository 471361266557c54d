"""Judging an organisation by its changes (``kg.deltas``) ends where judging it in full ends.

Generated organisations' whole histories (registrations, systems deployed, updated and retired, filings,
assessments, controls, transfers, disclosures) are streamed one event at a time, all dated one day so that every
event after an organisation's first is judged by its changes, into two stores: one pipeline judges by changes, the
other always in full. After every event both must report the same violation changes, and at the end, after a clock
pass, the stores must hold the same violations, with the same history, and the same derived roles.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pyoxigraph as ox
import pytest
from rdflib import URIRef

from kg import iris
from kg.build import ensure_built
from kg.deltas import read_before
from kg.iris import Graphs
from kg.organisations import event_iri
from kg.pipeline import Pipeline
from kg.read_sets import ANY, ANYTHING, Changes, changed_keys, read_set, reads
from kg.store import Store, open_store
from kg.violations import ViolationChange
from tests.support import generated_data

SEED = 20_261_203
ORGANISATIONS = 30
DAY = generated_data.AS_OF
OG = "https://w3id.org/obligraph/ontology#"

pytestmark = pytest.mark.timeout(900)


def _built() -> Store:
    store = open_store("memory")
    ensure_built(store)
    return store


def _one_day_stream() -> list[dict[str, object]]:
    """The generated histories, each in its order, shuffled together and dated one second apart on ``DAY``."""
    histories = list(generated_data.by_organisation(generated_data.generate(ORGANISATIONS, SEED)).values())
    rng = random.Random(SEED)
    stream = []
    while histories:
        history = rng.choice(histories)
        stream.append(history.pop(0))
        if not history:
            histories.remove(history)
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=generated_data.CHINA_TIME) + timedelta(hours=8)
    return [{**event, "time": (start + timedelta(seconds=n)).isoformat()} for n, event in enumerate(stream)]


def _summary(changes: list[ViolationChange]) -> list[tuple[str, str, int, str, str]]:
    return [(c.kind, c.violation_id, c.episode, c.at.isoformat(), c.by) for c in changes]


def _graph(store: Store, graph: str) -> set[str]:
    return set(store.export_graph(URIRef(graph), ox.RdfFormat.N_TRIPLES).decode().splitlines())


@pytest.fixture(scope="module")
def judged_both_ways() -> tuple[Pipeline, Pipeline, int]:
    by_changes = Pipeline.from_store(_built())
    in_full = Pipeline.from_store(_built(), by_changes=False)
    events = generated_data.as_events(_one_day_stream())
    changed = 0
    for event in events:
        left, right = by_changes.process([event]), in_full.process([event])
        assert [o.status for o in left.outcomes] == [o.status for o in right.outcomes], event.id
        assert _summary(left.changes) == _summary(right.changes), f"after event {event.id} ({event.type})"
        changed += len(left.changes)
    later = DAY + timedelta(days=45)
    assert _summary(by_changes.revalidate(later)) == _summary(in_full.revalidate(later))
    return by_changes, in_full, changed


def test_every_event_changes_the_same_violations(judged_both_ways: tuple[Pipeline, Pipeline, int]) -> None:
    by_changes, in_full, changed = judged_both_ways
    assert changed >= 50, "the stream must open and resolve violations, or agreement proves little"
    assert by_changes.stats.organisations_validated == in_full.stats.organisations_validated
    assert in_full.stats.organisations_validated_by_changes == 0
    # each organisation's first event (its registration) is judged in full, every later one by its changes
    assert by_changes.stats.organisations_validated_by_changes == by_changes.stats.events_applied - ORGANISATIONS


@pytest.mark.parametrize("graph", [Graphs.VIOLATIONS, Graphs.DERIVED, Graphs.ORGANISATIONS])
def test_the_stores_end_the_same(judged_both_ways: tuple[Pipeline, Pipeline, int], graph: str) -> None:
    by_changes, in_full, _ = judged_both_ways
    assert _graph(by_changes.store, graph) == _graph(in_full.store, graph)


def test_judging_by_changes_runs_fewer_checks(judged_both_ways: tuple[Pipeline, Pipeline, int]) -> None:
    by_changes, in_full, _ = judged_both_ways
    assert by_changes.validator.queries_run < in_full.validator.queries_run / 2


def _with_rejected(events: list[dict[str, object]]) -> list[dict[str, object]]:
    """Every 25th event also comes with a copy naming a system its organisation does not have (rejected)."""
    mixed = []
    for number, event in enumerate(events):
        mixed.append(event)
        if number % 25 == 0:
            data = {"systemId": "NO-SUCH-SYSTEM", "publicOpinionAttributes": True}
            mixed.append({**event, "id": f"{event['id']}-bad", "type": "aisystem.updated", "data": data})
    return mixed


def test_small_batches_of_several_organisations_end_the_same() -> None:
    """Rounds of several organisations (an HTTP batch), with rejected events among them, judged both ways (by their
    changes up to seven organisations a round, above the default)."""
    by_changes = Pipeline.from_store(_built(), delta_up_to=7)
    in_full = Pipeline.from_store(_built(), by_changes=False)
    events = generated_data.as_events(_with_rejected(_one_day_stream()))
    for start in range(0, len(events), 7):
        batch = events[start : start + 7]
        left, right = by_changes.process(batch), in_full.process(batch)
        assert [o.status for o in left.outcomes] == [o.status for o in right.outcomes]
        assert _summary(left.changes) == _summary(right.changes), f"after the batch from event {batch[0].id}"
    assert by_changes.stats.events_rejected == in_full.stats.events_rejected > 0
    assert by_changes.stats.organisations_validated_by_changes > by_changes.stats.organisations_validated / 2
    for graph in (Graphs.VIOLATIONS, Graphs.DERIVED):
        assert _graph(by_changes.store, graph) == _graph(in_full.store, graph)


QUERY = f"""PREFIX og: <{OG}>
SELECT ?this WHERE {{ ?this og:hasEvidence ?c . ?c a og:Control ; og:hasControlKind og:ControlAuditTrail }}"""


def _org(lines: str) -> bytes:
    return lines.replace("og:", OG).encode()


TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
BEFORE = f"<urn:o> <og:hasEvidence> <urn:c> .\n<urn:c> {TYPE} <og:Control> .\n"


def test_a_query_reads_only_the_triples_of_the_classes_it_names() -> None:
    read = read_set(QUERY)
    filing = BEFORE + (
        f"<urn:o> <og:hasEvidence> <urn:f> .\n<urn:f> {TYPE} <og:Filing> .\n"
        "<urn:f> <og:hasControlKind> <og:ControlAuditTrail> .\n"
    )
    assert not reads(read, changed_keys(_org(BEFORE), _org(filing)))
    control = BEFORE + "<urn:c> <og:hasControlKind> <og:ControlAuditTrail> .\n"
    assert reads(read, changed_keys(_org(BEFORE), _org(control)))
    retyped = BEFORE.replace("og:Control>", "og:Assessment>")
    assert reads(read, changed_keys(_org(BEFORE), _org(retyped)))


def test_a_variable_predicate_reads_everything() -> None:
    read = read_set(f"PREFIX og: <{OG}> SELECT ?this WHERE {{ ?this ?p ?o }}")
    assert ANYTHING in read
    assert reads(read, changed_keys(_org(BEFORE), _org(BEFORE + '<urn:o> <og:name> "x" .\n')))
    assert not reads(read, changed_keys(_org(BEFORE), _org(BEFORE)))


def test_a_changed_triple_meets_a_key_whose_classes_agree() -> None:
    changes = Changes([("urn:p", "urn:A", "-"), ("urn:q", "urn:B", "urn:C")])
    assert changes.met_by(("urn:p", ANY, ANY))
    assert changes.met_by(("urn:p", "urn:A", ANY))
    assert not changes.met_by(("urn:p", "urn:B", ANY))
    assert not changes.met_by(("urn:p", "urn:A", "urn:C"))
    assert changes.met_by(("urn:q", "urn:B", "urn:C"))
    assert not changes.met_by(("urn:q", "urn:B", "urn:D"))
    assert not changes.met_by(("urn:r", ANY, ANY))
    assert Changes([("urn:q", "urn:B", ANY)]).met_by(("urn:q", "urn:B", "urn:D"))  # an object of unknown class


def test_an_organisation_awaiting_validation_is_judged_in_full() -> None:
    pipeline = Pipeline.from_store(_built())
    stream = generated_data.as_events(_one_day_stream()[:40])
    pipeline.process(stream)
    org = iris.organisation(stream[0].subject)
    assert read_before(pipeline.store, [org])[org].validated is not None
    mark = f"<{org}> <{OG}awaitsValidation> <{event_iri(stream[0])}>"
    pipeline.store.update(f"INSERT DATA {{ GRAPH <{Graphs.META}> {{ {mark} }} }}")
    assert read_before(pipeline.store, [org])[org].validated is None
    pipeline.recover()
    assert read_before(pipeline.store, [org])[org].validated is not None


KIND_QUERY = f"""PREFIX og: <{OG}>
SELECT ?this WHERE {{
    ?this og:hasEvidence ?c . ?c a og:Control ; og:hasEvidenceKind og:K1 .
    FILTER NOT EXISTS {{ ?c og:withdrawnOn ?w }}
}}"""


def _control(kind: str, withdrawn: bool) -> bytes:
    lines = BEFORE + f"<urn:c> <og:hasEvidenceKind> <og:{kind}> .\n"
    return _org(lines + ('<urn:c> <og:withdrawnOn> "2026-01-01" .\n' if withdrawn else ""))


def test_a_variable_keeps_its_class_inside_not_exists() -> None:
    read = read_set(KIND_QUERY)
    assert reads(read, changed_keys(_control("K1", False), _control("K1", True)))
    assert not reads(read, changed_keys(_control("K2", False), _control("K2", True)))
    assert reads(read, changed_keys(_control("K2", True), _control("K1", True)))  # the control's kind changed

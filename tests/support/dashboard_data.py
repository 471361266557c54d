"""Organisations with systems, derived roles and violations written straight into the store, for the GraphQL
N+1 test and the dashboard benchmark.

The event pipeline is the honest way in but takes hours for 100,000 organisations; this writes the triples
the pipeline would leave (``docs/organisation-graph.md``): the organisation and its systems, the roles with
their assignments and reasons, due dates, and violations with episodes, each detected by a real shape of a
real obligation read from the store, each change caused by an event (with the event's record, whose id a
dashboard shows) or by the clock. It is a fixture, not a model of the law: which shape fails for which system
is drawn, not judged.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Final

import pyoxigraph as ox
from rdflib import URIRef

from kg import iris
from kg.iris import Graphs
from kg.store import OxigraphStore
from ontology.namespaces import OG, RDF, RDFS, SH, XSD

CHINA: Final = timezone(timedelta(hours=8))
RULE: Final = "https://w3id.org/obligraph/shapes#rule-network-operator"
ROLES: Final = (
    OG.AlgorithmicRecommendationProvider,
    OG.PublicOpinionAlgorithmicRecommendationProvider,
    OG.GenerativeAIServiceProvider,
    OG.AIGCServiceProvider,
    OG.NetworkOperator,
    OG.DataProcessor,
    OG.RegulatedActor,
    OG.AnyOrganisationOrIndividual,
)


def _n(iri: object) -> ox.NamedNode:
    return ox.NamedNode(str(iri))


def _lit(value: object, datatype: object | None = None, lang: str | None = None) -> ox.Literal:
    if lang is not None:
        return ox.Literal(str(value), language=lang)
    return ox.Literal(str(value), datatype=_n(datatype)) if datatype is not None else ox.Literal(str(value))


@dataclass(frozen=True)
class ShapeOf:
    shape: str
    obligation: str


def checked_obligations(store: OxigraphStore) -> list[ShapeOf]:
    """(shape, obligation) pairs of the obligation shapes, for obligations binding one of ``ROLES``."""
    values = " ".join(f"<{role}>" for role in ROLES)
    rows = store.select(
        f"SELECT DISTINCT ?shape ?o WHERE {{ GRAPH <{Graphs.SHAPES}> {{ ?shape <{OG.checksObligation}> ?o }} "
        f"?o <{OG.bindsRole}> ?role VALUES ?role {{ {values} }} }} ORDER BY ?shape"
    )
    return [ShapeOf(row["shape"].value, row["o"].value) for row in rows]  # type: ignore[union-attr]


def organisation_quads(
    org_id: str, shapes: list[ShapeOf], *, systems: int, violations: int, rng: random.Random
) -> Iterator[ox.Quad]:
    """Every quad of one organisation; ``violations`` ≤ ``systems`` × the obligations of ``shapes``. A violation
    is one (obligation, focus) pair, as the ledger keeps it, detected by every shape of its obligation."""
    orgs, derived, violated = _n(Graphs.ORGANISATIONS), _n(Graphs.DERIVED), _n(Graphs.VIOLATIONS)
    org = _n(iris.organisation(org_id))
    registered = date(2025, 1, 1) + timedelta(days=rng.randrange(300))
    yield from (
        ox.Quad(org, _n(RDF.type), _n(OG.Organisation), orgs),
        ox.Quad(org, _n(OG.identifier), _lit(org_id), orgs),
        ox.Quad(org, _n(RDFS.label), _lit(f"Organisation {org_id}"), orgs),
        ox.Quad(org, _n(OG.hasJurisdiction), _n(OG.JurisdictionCN), orgs),
        ox.Quad(org, _n(OG.jurisdictionCode), _lit("CN"), orgs),
        ox.Quad(org, _n(OG.registeredOn), _lit(registered.isoformat(), XSD.date), orgs),
    )
    system_nodes = []
    for number in range(1, systems + 1):
        system = _n(iris.ai_system(org_id, f"S{number}"))
        system_nodes.append(system)
        launched = registered + timedelta(days=rng.randrange(60))
        yield from (
            ox.Quad(org, _n(OG.hasAISystem), system, orgs),
            ox.Quad(system, _n(RDF.type), _n(OG.AISystem), orgs),
            ox.Quad(system, _n(OG.identifier), _lit(f"S{number}"), orgs),
            ox.Quad(system, _n(RDFS.label), _lit(f"System S{number}"), orgs),
            ox.Quad(system, _n(OG.isAISystemOf), org, orgs),
            ox.Quad(system, _n(OG.hasCapability), _n(OG.CapabilityTextGeneration), orgs),
            ox.Quad(system, _n(OG.launchedOn), _lit(launched.isoformat(), XSD.date), orgs),
            ox.Quad(system, _n(OG.isPublicFacing), _lit("true", XSD.boolean), orgs),
            ox.Quad(system, _n(OG.hasPublicOpinionAttributes), _lit("true", XSD.boolean), orgs),
        )
        due = _n(iris.due_date(URIRef(system.value), "AGC-03", "last-report"))
        yield from (
            ox.Quad(system, _n(OG.hasDueDate), due, orgs),
            ox.Quad(due, _n(RDF.type), _n(OG.DueDate), orgs),
            ox.Quad(due, _n(OG.isDueFor), _n(iris.obligation("AGC-03")), orgs),
            ox.Quad(due, _n(OG.dueOn), _lit((launched + timedelta(days=182)).isoformat(), XSD.date), orgs),
        )
    for role in ROLES:
        yield ox.Quad(org, _n(RDF.type), _n(role), derived)
        assignment = _n(iris.role_assignment(URIRef(org.value), str(role).rsplit("#", 1)[-1]))
        yield from (
            ox.Quad(assignment, _n(RDF.type), _n(OG.RoleAssignment), derived),
            ox.Quad(assignment, _n(OG.assignedRole), _n(role), derived),
            ox.Quad(assignment, _n(OG.isAssignedTo), org, derived),
            ox.Quad(assignment, _n(OG.isDerivedByRule), _n(RULE), derived),
        )
        for system in system_nodes[:3]:
            yield ox.Quad(assignment, _n(OG.hasReason), system, derived)
    detecting: dict[str, list[str]] = {}
    for pair in shapes:
        detecting.setdefault(pair.obligation, []).append(pair.shape)
    pairs = [(obligation, system) for system in system_nodes for obligation in detecting][:violations]
    events = _EventRecords(org_id, org)
    for obligation, system in pairs:
        obligation_id = obligation.rsplit("/", 1)[-1]
        violation = _n(iris.violation(org_id, obligation_id, system.value))
        episodes = rng.choice((1, 1, 1, 2, 3))
        opened = datetime(2026, 1, 1, 9, tzinfo=CHINA) + timedelta(minutes=rng.randrange(300_000))
        open_now = rng.random() < 0.7
        yield from (
            ox.Quad(violation, _n(RDF.type), _n(OG.Violation), violated),
            ox.Quad(violation, _n(OG.isViolationOf), _n(obligation), violated),
            ox.Quad(violation, _n(OG.concernsOrganisation), org, violated),
            ox.Quad(violation, _n(OG.hasFocusNode), system, violated),
            *(ox.Quad(violation, _n(OG.isDetectedByShape), _n(shape), violated) for shape in detecting[obligation]),
            ox.Quad(violation, _n(OG.hasSeverity), _n(SH.Violation), violated),
            ox.Quad(violation, _n(OG.message), _lit(f"{obligation_id} not met by {system.value}", lang="en"), violated),
            ox.Quad(violation, _n(OG.message), _lit(f"{obligation_id} 未履行", lang="zh"), violated),
        )
        moment = opened
        for number in range(1, episodes + 1):
            episode = _n(iris.violation_episode(URIRef(violation.value), number))
            last = number == episodes
            # As the ledger writes them: the latest episode's fields on the violation too. Most changes are
            # caused by an event (its record in the events graph), the rest by the clock.
            on = (episode, violation) if last else (episode,)
            link, cause, record = events.cause(moment, rng, opened=True)
            yield ox.Quad(violation, _n(OG.hasEpisode), episode, violated)
            yield from record
            yield from (
                ox.Quad(episode, _n(RDF.type), _n(OG.ViolationEpisode), violated),
                *(ox.Quad(node, _n(OG.openedAt), _lit(moment.isoformat(), XSD.dateTime), violated) for node in on),
                *(ox.Quad(node, link, cause, violated) for node in on),
            )
            if not last or not open_now:
                resolved = moment + timedelta(days=3)
                link, resolver, record = events.cause(resolved, rng, opened=False)
                yield from record
                yield from (
                    *(ox.Quad(n, _n(OG.resolvedAt), _lit(resolved.isoformat(), XSD.dateTime), violated) for n in on),
                    *(ox.Quad(node, link, resolver, violated) for node in on),
                )
            moment += timedelta(days=10)
        status = OG.ViolationOpen if open_now else OG.ViolationResolved
        yield ox.Quad(violation, _n(OG.hasViolationStatus), _n(status), violated)


class _EventRecords:
    """The events that open and resolve an organisation's violations, with their records as ``kg.organisations``
    writes them."""

    def __init__(self, org_id: str, org: ox.NamedNode) -> None:
        self.org_id, self.org, self.made = org_id, org, 0

    def cause(
        self, moment: datetime, rng: random.Random, *, opened: bool
    ) -> tuple[ox.NamedNode, ox.NamedNode | ox.Literal, list[ox.Quad]]:
        """(predicate, object) of what caused the change, and the event's record: an event three times in four,
        else the clock (no record)."""
        if rng.random() < 0.25:
            return _n(OG.openedByClock if opened else OG.resolvedByClock), _lit("true", XSD.boolean), []
        self.made += 1
        source, event_id = f"urn:org:{self.org_id}", f"{self.org_id}-E{self.made}"
        event, events = _n(iris.event(source, event_id)), _n(Graphs.EVENTS)
        record = [
            ox.Quad(event, _n(RDF.type), _n(OG.OrganisationEvent), events),
            ox.Quad(event, _n(OG.eventId), _lit(event_id), events),
            ox.Quad(event, _n(OG.eventSource), _lit(source), events),
            ox.Quad(event, _n(OG.eventType), _lit("control.withdrawn" if opened else "control.implemented"), events),
            ox.Quad(event, _n(OG.eventTime), _lit(moment.isoformat(), XSD.dateTime), events),
            ox.Quad(event, _n(OG.concernsOrganisation), self.org, events),
            ox.Quad(event, _n(OG.appliedAt), _lit(moment.isoformat(), XSD.dateTime), events),
        ]
        return _n(OG.isCausedBy if opened else OG.isResolvedBy), event, record


def load(
    store: OxigraphStore, org_ids: list[str], *, systems: int, violations: int, seed: int = 1, batch: int = 2_000
) -> None:
    """Write the organisations, ``batch`` at a time (one transaction each)."""
    rng = random.Random(seed)
    shapes = checked_obligations(store)
    for start in range(0, len(org_ids), batch):
        quads = [
            quad
            for org_id in org_ids[start : start + batch]
            for quad in organisation_quads(org_id, shapes, systems=systems, violations=violations, rng=rng)
        ]
        by_graph: dict[str, list[ox.Triple]] = {}
        for quad in quads:
            by_graph.setdefault(quad.graph_name.value, []).append(quad.triple)  # type: ignore[union-attr]
        for graph, triples in by_graph.items():
            store.add_triples(graph, triples)

"""Applying organisation events to the graph (the data model is ``docs/organisation-graph.md``).

A batch of events becomes ONE SPARQL update, so it is applied whole or not at all; the record of each applied
event is part of the same update, which is what makes a repeat of ``(source, id)`` a no-op; the record's digest of
what the event said tells a repeat from a different event under a used id, which is rejected. An event about an
organisation, system or transfer the graph does not know is rejected with a reason and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from rdflib import Literal as Lit
from rdflib import URIRef
from rdflib.term import Node

from kg import iris, vocabulary
from kg.due_dates import (
    OFFICER_THRESHOLD,
    Clock,
    clocks_renewed_by,
    clocks_started_by,
    first_due,
    renewed_due,
)
from kg.events import Event, EventRejected
from kg.events import payloads as p
from kg.events.values import CHINA
from kg.field_times import FieldTimes
from kg.field_times import pattern as field_times_pattern
from kg.iris import Graphs
from kg.store import Store
from ontology.namespaces import OG, RDF, RDFS, XSD

ORGS: Final = f"<{Graphs.ORGANISATIONS}>"
EVENTS: Final = f"<{Graphs.EVENTS}>"
META: Final = f"<{Graphs.META}>"


def as_of_date(moment: datetime) -> date:
    """The day a moment falls on in China: deadlines and validation are counted in China's days."""
    return moment.astimezone(CHINA).date()


def n3(term: Node) -> str:
    return term.n3()


def lit(value: object) -> str:
    if isinstance(value, date):
        return Lit(value.isoformat(), datatype=XSD.date).n3()
    return Lit(value).n3()


@dataclass(frozen=True)
class Outcome:
    """What became of one event: applied, a duplicate of an applied one, or rejected with a reason."""

    event: Event
    status: Literal["applied", "duplicate", "rejected"]
    reason: str | None = None
    changes: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """An applied event's update operations on its organisation's own triples (``kg.deltas`` replays them on a
    copy of the organisation)."""


Also = Iterable[str] | Callable[[Sequence[Outcome]], Iterable[str]]
"""Update operations to commit with a batch, given or made from the batch's outcomes."""


@dataclass
class _Known:
    """What the store holds, plus what earlier events of the same batch created."""

    events: set[URIRef] = field(default_factory=set)
    nodes: set[URIRef] = field(default_factory=set)
    digests: dict[URIRef, str] = field(default_factory=dict)
    """What each known event said (``Event.content_digest``); events applied before digests were kept have none."""
    fields: FieldTimes = field(default_factory=FieldTimes)
    """When the fields of the nodes the batch touches were last set (an event delivered late leaves later ones)."""
    controls: dict[URIRef, set[URIRef]] = field(default_factory=dict)
    """By organisation-wide control (its IRI) of a kind the batch withdraws: the organisation's controls of that
    kind, which a withdrawal may change (``_control_withdrawn``)."""


def event_iri(event: Event) -> URIRef:
    return iris.event(event.source, event.id)


class EventApplier:
    """Turns validated events into graph changes, one transaction per batch."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def apply(self, events: Sequence[Event], *, also: Also = ()) -> list[Outcome]:
        """Apply a batch; ``also`` are further update operations committed in the same transaction, or a function
        that makes them from the outcomes (a consumer stores a rejected event's dead letter with the batch).
        A rejected event changes nothing; the others are applied (``check`` first, for all or nothing).
        """
        operations, outcomes, pending = self._plan(events)
        operations.extend(pending_marks(pending))
        operations.extend(also(outcomes) if callable(also) else also)
        if operations:
            self.store.update(" ;\n".join(operations))
        return outcomes

    def check(self, events: Sequence[Event]) -> list[Outcome]:
        """What ``apply`` would make of a batch, changing nothing (a batch applied in several steps is first
        checked whole, so that all or nothing of it is applied)."""
        return self._plan(events)[1]

    def _plan(self, events: Sequence[Event]) -> tuple[list[str], list[Outcome], dict[URIRef, URIRef]]:
        """The update operations, each event's outcome, and each touched organisation's latest event."""
        known = self._known(events)
        operations: list[str] = []
        outcomes: list[Outcome] = []
        pending: dict[URIRef, URIRef] = {}
        for event in events:
            record = event_iri(event)
            digest = event.content_digest
            if record in known.events:
                if known.digests.get(record, digest) == digest:
                    outcomes.append(Outcome(event, "duplicate"))
                else:
                    outcomes.append(Outcome(event, "rejected", _reused_id(event)))
                continue
            try:
                changes = _changes_for(event, known)
            except EventRejected as rejected:
                outcomes.append(Outcome(event, "rejected", rejected.reason))
                continue
            operations.extend(changes)
            operations.append(_event_record(event, record, digest))
            pending[iris.organisation(event.subject)] = record
            known.events.add(record)
            known.digests[record] = digest
            outcomes.append(Outcome(event, "applied", changes=tuple(changes)))
        operations.extend(known.fields.update())
        return operations, outcomes, pending

    def _known(self, events: Sequence[Event]) -> _Known:
        candidates: set[URIRef] = set()
        controls: set[URIRef] = set()
        for event in events:
            candidates.add(event_iri(event))
            candidates.add(iris.organisation(event.subject))
            if event.system_id:
                candidates.add(iris.ai_system(event.subject, event.system_id))
            if event.transfer_id:
                candidates.add(iris.transfer(event.subject, event.transfer_id))
            if isinstance(event.data, p.ControlImplemented | p.ControlWithdrawn):
                controls.add(iris.control(event.subject, event.data.kind, event.data.system_id))
        if not candidates:
            return _Known()
        values = " ".join(n3(c) for c in candidates | controls)
        types = ", ".join(n3(t) for t in (OG.OrganisationEvent, OG.Organisation, OG.AISystem, OG.DataTransfer))
        rows = self.store.select(  # one query: what exists, what each event said, when each field was set
            f"SELECT ?x ?type ?digest ?written WHERE {{ VALUES ?x {{ {values} }} "
            f"OPTIONAL {{ ?x a ?type FILTER(?type IN ({types})) OPTIONAL {{ ?x {n3(OG.eventDigest)} ?digest }} }} "
            f"OPTIONAL {{ {field_times_pattern('?x', '?written')} }} FILTER(BOUND(?type) || BOUND(?written)) }}"
        )
        written = {URIRef(row["x"].value): row["written"].value for row in rows if row.get("written") is not None}  # type: ignore[union-attr]
        of_kind = self._controls_of_kind({c for e in events if (c := _wide_control(e)) is not None})
        known = _Known(fields=FieldTimes.of(written), controls=of_kind)
        if extra := {node for nodes in of_kind.values() for node in nodes} - candidates - controls:
            known.fields.merge(FieldTimes.read(self.store, extra))
        for row in rows:
            if row.get("type") is None:
                continue
            node = URIRef(row["x"].value)  # type: ignore[union-attr]
            if row["type"].value == str(OG.OrganisationEvent):  # type: ignore[union-attr]
                known.events.add(node)
                if (digest := row.get("digest")) is not None:
                    known.digests[node] = digest.value  # type: ignore[union-attr]
            else:
                known.nodes.add(node)
        return known

    def _controls_of_kind(self, wide: set[tuple[URIRef, URIRef, URIRef]]) -> dict[URIRef, set[URIRef]]:
        """For each (organisation, kind, organisation-wide control IRI): the organisation's controls of the kind."""
        if not wide:
            return {}
        values = " ".join(f"({n3(org)} {n3(kind)} {n3(control)})" for org, kind, control in sorted(wide))
        rows = self.store.select(
            f"SELECT ?wide ?x WHERE {{ VALUES (?org ?kind ?wide) {{ {values} }} GRAPH {ORGS} {{ "
            f"?org {n3(OG.hasEvidence)} ?x . ?x {n3(OG.hasEvidenceKind)} ?kind }} }}"  # a control kind: a control
        )
        found: dict[URIRef, set[URIRef]] = {control: set() for _, _, control in wide}
        for row in rows:
            found[URIRef(row["wide"].value)].add(URIRef(row["x"].value))  # type: ignore[union-attr]
        return found


def _wide_control(event: Event) -> tuple[URIRef, URIRef, URIRef] | None:
    """A withdrawal's organisation, kind and organisation-wide control of that kind (the others: None)."""
    if not isinstance(event.data, p.ControlWithdrawn):
        return None
    kind = vocabulary.evidence_kind(event.data.kind)
    return iris.organisation(event.subject), kind, iris.control(event.subject, event.data.kind, None)


def clear_pending_marks(organisations: Iterable[URIRef]) -> str:
    values = " ".join(n3(org) for org in organisations)
    return (
        f"DELETE {{ GRAPH {META} {{ ?org {n3(OG.awaitsValidation)} ?event }} }} "
        f"WHERE {{ VALUES ?org {{ {values} }} GRAPH {META} {{ ?org {n3(OG.awaitsValidation)} ?event }} }}"
    )


def pending_marks(latest: Mapping[URIRef, URIRef]) -> list[str]:
    """Marks organisations as awaiting validation (each with its latest event), in the same transaction as
    the events that changed them."""
    if not latest:
        return []
    marks = " ".join(f"{n3(org)} {n3(OG.awaitsValidation)} {n3(record)} ." for org, record in latest.items())
    return [clear_pending_marks(latest), f"INSERT DATA {{ GRAPH {META} {{ {marks} }} }}"]


def _event_record(event: Event, record: URIRef, digest: str) -> str:
    now = datetime.now(UTC).isoformat()
    return (
        f"INSERT DATA {{ GRAPH {EVENTS} {{ {n3(record)} a {n3(OG.OrganisationEvent)} ; "
        f"{n3(OG.eventId)} {lit(event.id)} ; {n3(OG.eventSource)} {lit(event.source)} ; "
        f"{n3(OG.eventType)} {lit(event.type)} ; "
        f"{n3(OG.eventTime)} {Lit(event.time.isoformat(), datatype=XSD.dateTime).n3()} ; "
        f"{n3(OG.concernsOrganisation)} {n3(iris.organisation(event.subject))} ; "
        f"{n3(OG.appliedAt)} {Lit(now, datatype=XSD.dateTime).n3()} ; {n3(OG.eventDigest)} {lit(digest)} }} }}"
    )


def _reused_id(event: Event) -> str:
    return (
        f"id {event.id!r} of source {event.source!r} was already used by an event that said something else "
        "(type, subject, time or data); ids are unique per source, so this one is not applied: send it with a new id"
    )


# --- building blocks -------------------------------------------------------------------------------------


def _insert(triples: Iterable[tuple[Node, Node, str]]) -> str:
    body = " ".join(f"{n3(s)} {n3(pr)} {o} ." for s, pr, o in triples)
    return f"INSERT DATA {{ GRAPH {ORGS} {{ {body} }} }}"


def _delete_values(subject: URIRef, predicates: Iterable[URIRef]) -> str:
    listed = ", ".join(n3(pr) for pr in predicates)
    return (
        f"DELETE {{ GRAPH {ORGS} {{ {n3(subject)} ?p ?o }} }} "
        f"WHERE {{ GRAPH {ORGS} {{ {n3(subject)} ?p ?o FILTER(?p IN ({listed})) }} }}"
    )


def _delete_values_of(subject: URIRef, predicates: Sequence[URIRef]) -> list[str]:
    """``_delete_values``, or nothing for no predicates."""
    return [_delete_values(subject, predicates)] if predicates else []


def _insert_unless(subject: URIRef, predicate: URIRef, value: str) -> str:
    """Set a value only if none is there: 'first became true on' dates keep the first day."""
    return (
        f"INSERT {{ GRAPH {ORGS} {{ {n3(subject)} {n3(predicate)} {value} }} }} "
        f"WHERE {{ FILTER NOT EXISTS {{ GRAPH {ORGS} {{ {n3(subject)} {n3(predicate)} ?any }} }} }}"
    )


def _start_clock(owner: URIRef, clock: Clock, start: date, *, only_if_new: bool) -> list[str]:
    node = iris.due_date(owner, clock.obligation, clock.anchor)
    due = lit(first_due(clock, start))
    triples = (
        f"{n3(owner)} {n3(OG.hasDueDate)} {n3(node)} . {n3(node)} a {n3(OG.DueDate)} ; "
        f"{n3(OG.isDueFor)} {n3(iris.obligation(clock.obligation))} ; "
        f"{n3(OG.isRelativeTo)} {n3(vocabulary.anchor(clock.anchor))} ; {n3(OG.dueOn)} {due} ."
    )
    if not only_if_new:
        return [_stop_clock(owner, clock), f"INSERT DATA {{ GRAPH {ORGS} {{ {triples} }} }}"]
    return [
        f"INSERT {{ GRAPH {ORGS} {{ {triples} }} }} "
        f"WHERE {{ FILTER NOT EXISTS {{ GRAPH {ORGS} {{ {n3(node)} {n3(OG.dueOn)} ?any }} }} }}"
    ]


def _stop_clock(owner: URIRef, clock: Clock, *, only_where: str = "") -> str:
    """Delete the clock's due date; with ``only_where`` (graph patterns and filters in the organisation graph), only
    where they match."""
    node = iris.due_date(owner, clock.obligation, clock.anchor)
    due = f"{n3(owner)} {n3(OG.hasDueDate)} {n3(node)} . {n3(node)} ?p ?o"
    if not only_where:
        return f"DELETE WHERE {{ GRAPH {ORGS} {{ {due} }} }}"
    return f"DELETE {{ GRAPH {ORGS} {{ {due} }} }} WHERE {{ GRAPH {ORGS} {{ {due} . {only_where} }} }}"


def _renew_clock(owner: URIRef, clock: Clock, done_on: date) -> str:
    """Move a periodic clock forward (never back) after the duty was done again."""
    node = iris.due_date(owner, clock.obligation, clock.anchor)
    due = lit(renewed_due(clock, done_on))
    return (
        f"DELETE {{ GRAPH {ORGS} {{ {n3(node)} {n3(OG.dueOn)} ?old }} }} "
        f"INSERT {{ GRAPH {ORGS} {{ {n3(node)} {n3(OG.dueOn)} {due} }} }} "
        f"WHERE {{ GRAPH {ORGS} {{ {n3(node)} {n3(OG.dueOn)} ?old FILTER(?old < {due}) }} }}"
    )


# --- profile fields --------------------------------------------------------------------------------------

_ORG_FIELDS: Final[dict[str, tuple[URIRef, ...]]] = {
    "name": (RDFS.label,),
    "jurisdiction": (OG.hasJurisdiction, OG.jurisdictionCode),
    "sectors": (OG.hasSector,),
    "cii_operator": (OG.isCIIOperator,),
    "important_data_processor": (OG.isImportantDataProcessor,),
    "personal_information_subjects": (OG.personalInformationSubjects,),
}
_SYSTEM_FIELDS: Final[dict[str, tuple[URIRef, Callable[[Any], list[str]]]]] = {
    "name": (RDFS.label, lambda v: [lit(v)]),
    "capabilities": (OG.hasCapability, lambda v: [n3(vocabulary.capability(code)) for code in v]),
    "launched_on": (OG.launchedOn, lambda v: [lit(v)]),
    "public_facing": (OG.isPublicFacing, lambda v: [lit(v)]),
    "public_opinion_attributes": (OG.hasPublicOpinionAttributes, lambda v: [lit(v)]),
    "sectors": (OG.hasSector, lambda v: [n3(vocabulary.sector(code)) for code in v]),
    "monthly_active_users": (OG.monthlyActiveUsers, lambda v: [lit(v)]),
    "processes_personal_information": (OG.processesPersonalInformation, lambda v: [lit(v)]),
    "large_scale": (OG.isLargeScale, lambda v: [lit(v)]),
}


def _org_field_triples(org: URIRef, name: str, value: Any) -> list[tuple[Node, Node, str]]:
    if value is None:
        return []
    if name == "jurisdiction":
        return [
            (org, OG.hasJurisdiction, n3(vocabulary.jurisdiction(value))),
            (org, OG.jurisdictionCode, lit(value)),
        ]
    if name == "sectors":
        return [(org, OG.hasSector, n3(vocabulary.sector(code))) for code in value]
    return [(org, _ORG_FIELDS[name][0], lit(value))]


@dataclass(frozen=True)
class _Condition:
    """A condition that starts organisation clocks (``kg.due_dates``), met by the organisation's own profile or by
    an export under way, as the role rules read it (``shapes/roles.ttl``)."""

    starts: Literal["officer-threshold", "important-data-processor"]
    since: URIRef  # the day the graph first saw it hold
    own: str  # patterns on ``{org}`` that meet it
    export: str  # patterns on ``?export`` that meet it

    def holds(self, org: URIRef, day: date) -> str:
        """Graph patterns that match while the organisation meets the condition on ``day`` (an export ended after
        that day is still under way)."""
        return (
            f"{{ {self.own.format(org=n3(org))} }} UNION {{ {n3(org)} {n3(OG.hasTransfer)} ?export . {self.export} "
            f"FILTER NOT EXISTS {{ ?export {n3(OG.endedOn)} ?ended FILTER(?ended <= {lit(day)}) }} }}"
        )

    def met(self, org: URIRef, start: date) -> list[str]:
        """Record the first day it held and start its clocks, keeping those already running."""
        clocks = clocks_started_by(self.starts)
        return [
            _insert_unless(org, self.since, lit(start)),
            *(op for clock in clocks for op in _start_clock(org, clock, start, only_if_new=True)),
        ]

    def lapsed(self, org: URIRef, day: date) -> list[str]:
        """Forget the first day and stop the clocks, unless the condition still holds on ``day``: the organisation
        reports it, or another export meets it. Run before a change that meets the condition again, it also clears
        what an export that has ended since left running, so the new start begins a new period."""
        unless = f"FILTER NOT EXISTS {{ {self.holds(org, day)} }}"
        since = f"{n3(org)} {n3(self.since)} ?since"
        return [
            f"DELETE {{ GRAPH {ORGS} {{ {since} }} }} WHERE {{ GRAPH {ORGS} {{ {since} . {unless} }} }}",
            *(_stop_clock(org, clock, only_where=unless) for clock in clocks_started_by(self.starts)),
        ]


_IMPORTANT_DATA: Final = _Condition(
    "important-data-processor",
    OG.importantDataProcessorSince,
    own=f"{{org}} {n3(OG.isImportantDataProcessor)} true",
    export=f"?export {n3(OG.containsImportantData)} true",
)
_OFFICER_THRESHOLD: Final = _Condition(
    "officer-threshold",
    OG.officerThresholdReachedOn,
    own=f"{{org}} {n3(OG.personalInformationSubjects)} ?count FILTER(?count >= {OFFICER_THRESHOLD})",
    export=f"?export {n3(OG.personalInformationSubjects)} ?count FILTER(?count >= {OFFICER_THRESHOLD})",
)


def _conditions_changed(
    org: URIRef, met: Mapping[_Condition, bool], start: date, day: date
) -> tuple[list[str], list[str]]:
    """The operations to run before and after an event's facts are written, for the conditions it touches: a
    condition met is first lapsed if it no longer held (as the graph stands before the event), then met; one not
    met lapses unless the organisation meets it otherwise."""
    before: list[str] = []
    after: list[str] = []
    for condition, is_met in met.items():
        if is_met:
            before += condition.lapsed(org, day)
            after += condition.met(org, start)
        else:
            after += condition.lapsed(org, day)
    return before, after


def _org_conditions(org: URIRef, fields: Mapping[str, Any], day: date) -> tuple[list[str], list[str]]:
    """The conditions an organisation's profile fields meet or no longer meet."""
    met: dict[_Condition, bool] = {}
    if "important_data_processor" in fields:
        met[_IMPORTANT_DATA] = bool(fields["important_data_processor"])
    if "personal_information_subjects" in fields:
        count = fields["personal_information_subjects"]
        met[_OFFICER_THRESHOLD] = count is not None and count >= OFFICER_THRESHOLD
    return _conditions_changed(org, met, day, day)


def _system_launch_clocks(system: URIRef, launched_on: date) -> list[str]:
    return [
        op
        for clock in clocks_started_by("launch")
        for op in _start_clock(system, clock, launched_on, only_if_new=False)
    ]


# --- one function per event type -------------------------------------------------------------------------


def _require(known: _Known, node: URIRef, what: str) -> None:
    if node not in known.nodes:
        raise EventRejected(what)


def _organisation_registered(event: Event, data: p.OrganisationRegistered, known: _Known) -> list[str]:
    org = iris.organisation(event.subject)
    day = as_of_date(event.time)
    fresh = known.fields.fresh(org, event.time, _ORG_FIELDS)
    profile = {name: getattr(data, name) for name in _ORG_FIELDS if name in fresh}
    predicates = [pr for name in profile for pr in _ORG_FIELDS[name]]
    triples: list[tuple[Node, Node, str]] = [
        (org, RDF.type, n3(OG.Organisation)),
        (org, OG.identifier, lit(event.subject)),
    ]
    for name, value in profile.items():
        triples += _org_field_triples(org, name, value)
    known.nodes.add(org)
    before, after = _org_conditions(org, profile, day)
    return [
        *before,
        *_delete_values_of(org, predicates),
        _insert(triples),
        _insert_unless(org, OG.registeredOn, lit(day)),
        *after,
    ]


def _organisation_updated(event: Event, data: p.OrganisationUpdated, known: _Known) -> list[str]:
    org = iris.organisation(event.subject)
    _require(known, org, f"unknown organisation {event.subject!r}: send organisation.registered first")
    changes = _fresh_changes(known, org, event, data.changes())
    predicates = [pr for name in changes for pr in _ORG_FIELDS[name]]
    triples = [t for name, value in changes.items() for t in _org_field_triples(org, name, value)]
    before, after = _org_conditions(org, changes, as_of_date(event.time))
    return [
        *before,
        *_delete_values_of(org, predicates),
        *([_insert(triples)] if triples else []),
        *after,
    ]


def _fresh_changes(known: _Known, node: URIRef, event: Event, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes an update makes to fields no event dated later has set (``kg.field_times``)."""
    fresh = known.fields.fresh(node, event.time, changes)
    return {name: value for name, value in changes.items() if name in fresh}


def _system_node(event: Event, known: _Known, *, must_exist: bool = True) -> tuple[URIRef, URIRef]:
    org = iris.organisation(event.subject)
    _require(known, org, f"unknown organisation {event.subject!r}: send organisation.registered first")
    system_id = event.system_id
    assert system_id is not None
    system = iris.ai_system(event.subject, system_id)
    if must_exist:
        _require(known, system, f"organisation {event.subject!r} has no AI system {system_id!r}")
    return org, system


def _system_field_triples(system: URIRef, name: str, value: Any) -> list[tuple[Node, Node, str]]:
    if value is None:
        return []
    predicate, write = _SYSTEM_FIELDS[name]
    return [(system, predicate, term) for term in write(value)]


def _aisystem_deployed(event: Event, data: p.AISystemDeployed, known: _Known) -> list[str]:
    org, system = _system_node(event, known, must_exist=False)
    triples: list[tuple[Node, Node, str]] = [
        (system, RDF.type, n3(OG.AISystem)),
        (system, OG.identifier, lit(data.system_id)),
        (system, OG.isAISystemOf, n3(org)),
        (org, OG.hasAISystem, n3(system)),
    ]
    fresh = known.fields.fresh(system, event.time, [*_SYSTEM_FIELDS, _RETIRED])
    for name in _SYSTEM_FIELDS:
        if name in fresh:
            triples += _system_field_triples(system, name, getattr(data, name))
    known.nodes.add(system)
    own = [pr for name, (pr, _) in _SYSTEM_FIELDS.items() if name in fresh]
    own += [OG.retiredOn] if _RETIRED in fresh else []
    clocks = _system_launch_clocks(system, data.launched_on) if "launched_on" in fresh else []
    return [*_delete_values_of(system, own), _insert(triples), *clocks]


_RETIRED: Final = "retired_on"
"""The field of a system that its retirement sets, and a deployment clears."""


def _public_opinion_clocks(system: URIRef, day: date) -> list[str]:
    """A live system that gains public-opinion attributes on ``day`` launches a public-opinion function then: the
    clocks such systems owe (a filing within 10 working days, GenAI Art. 17's and Deep Synthesis Art. 20's
    assessments before launch) run from that day (Algorithmic Recommendation Provisions Art. 24: changes filed
    within 10 working days). Run before the attribute is written: a system that has them already, is not live
    before the day, or owes the clock from its launch anyway (``Clock.owed_from_launch_by``) keeps its clocks."""
    still = (
        f"{n3(system)} {n3(OG.launchedOn)} ?launched FILTER(?launched < {lit(day)}) "
        f"FILTER NOT EXISTS {{ {n3(system)} {n3(OG.hasPublicOpinionAttributes)} true }}"
    )
    operations = []
    for clock in clocks_started_by("launch"):
        if clock.public_opinion:
            node = n3(iris.due_date(system, clock.obligation, clock.anchor))
            kept = ""
            if clock.owed_from_launch_by is not None:
                capability = n3(vocabulary.capability(clock.owed_from_launch_by))
                kept = f"FILTER NOT EXISTS {{ {n3(system)} {n3(OG.hasCapability)} {capability} }}"
            operations.append(
                f"DELETE {{ GRAPH {ORGS} {{ {node} {n3(OG.dueOn)} ?old }} }} "
                f"INSERT {{ GRAPH {ORGS} {{ {node} {n3(OG.dueOn)} {lit(first_due(clock, day))} }} }} "
                f"WHERE {{ GRAPH {ORGS} {{ {node} {n3(OG.dueOn)} ?old . {still} {kept} }} }}"
            )
    return operations


def _aisystem_updated(event: Event, data: p.AISystemUpdated, known: _Known) -> list[str]:
    _, system = _system_node(event, known)
    changes = _fresh_changes(known, system, event, data.changes())
    triples = [t for name, value in changes.items() for t in _system_field_triples(system, name, value)]
    operations = []
    # a launch day the event gives (even one a later event has replaced) says the attributes came with the launch
    if changes.get("public_opinion_attributes") is True and data.changes().get("launched_on") is None:
        operations += _public_opinion_clocks(system, as_of_date(event.time))
    operations += _delete_values_of(system, [_SYSTEM_FIELDS[name][0] for name in changes])
    if triples:
        operations.append(_insert(triples))
    if changes.get("launched_on") is not None:
        operations += _system_launch_clocks(system, changes["launched_on"])
    return operations


def _aisystem_retired(event: Event, data: p.AISystemRetired, known: _Known) -> list[str]:
    _, system = _system_node(event, known)
    if not known.fields.fresh(system, event.time, [_RETIRED]):
        return []  # deployed again by an event dated later
    return [_delete_values(system, (OG.retiredOn,)), _insert([(system, OG.retiredOn, lit(data.retired_on))])]


def _evidence(event: Event, kind: URIRef, evidence_kind: str) -> tuple[URIRef, URIRef, list[tuple[Node, Node, str]]]:
    org = iris.organisation(event.subject)
    node = iris.evidence(event.subject, event.source, event.id)
    triples: list[tuple[Node, Node, str]] = [
        (org, OG.hasEvidence, n3(node)),
        (node, RDF.type, n3(kind)),
        (node, OG.hasEvidenceKind, n3(vocabulary.evidence_kind(evidence_kind))),
    ]
    return org, node, triples


def _filing_completed(event: Event, data: p.FilingCompleted, known: _Known) -> list[str]:
    _, system = _system_node(event, known)
    _, node, triples = _evidence(event, OG.Filing, data.kind)
    triples += [
        (node, OG.concernsSystem, n3(system)),
        (node, OG.filingNumber, lit(data.filing_number)),
        (node, OG.isFiledWith, n3(iris.authority(data.authority))),
        (node, OG.filedOn, lit(data.filed_on)),
    ]
    return [_insert(triples)]


def _assessment_completed(event: Event, data: p.AssessmentCompleted, known: _Known) -> list[str]:
    org = iris.organisation(event.subject)
    _require(known, org, f"unknown organisation {event.subject!r}: send organisation.registered first")
    _, node, triples = _evidence(event, OG.Assessment, data.kind)
    triples += [
        (node, OG.completedOn, lit(data.completed_on)),
        (node, OG.hasOutcome, n3(vocabulary.outcome(data.outcome))),
    ]
    owner = org
    if data.system_id is not None:
        _, system = _system_node(event, known)
        triples.append((node, OG.concernsSystem, n3(system)))
        owner = system
    if data.transfer_id is not None:
        transfer = iris.transfer(event.subject, data.transfer_id)
        _require(known, transfer, f"organisation {event.subject!r} has no transfer {data.transfer_id!r}")
        triples.append((node, OG.concernsTransfer, n3(transfer)))
    if data.assessor is not None:
        triples.append((node, OG.assessor, lit(data.assessor)))
    operations = [_insert(triples)]
    if data.outcome != "failed":
        scope = "system" if owner != org else "organisation"
        operations += [
            _renew_clock(owner, clock, data.completed_on)
            for clock in clocks_renewed_by(data.kind)
            if clock.scope == scope
        ]
    return operations


def _disclosure_published(event: Event, data: p.DisclosurePublished, known: _Known) -> list[str]:
    _, system = _system_node(event, known)
    _, node, triples = _evidence(event, OG.Disclosure, data.kind)
    triples += [(node, OG.concernsSystem, n3(system)), (node, OG.publishedOn, lit(data.published_on))]
    if data.url is not None:
        triples.append((node, OG.url, Lit(str(data.url), datatype=XSD.anyURI).n3()))
    renewals = [_renew_clock(system, clock, data.published_on) for clock in clocks_renewed_by(data.kind)]
    return [_insert(triples), *renewals]


def _control_node(
    event: Event, data: p.ControlImplemented | p.ControlWithdrawn, known: _Known
) -> tuple[URIRef, list[tuple[Node, Node, str]]]:
    org = iris.organisation(event.subject)
    _require(known, org, f"unknown organisation {event.subject!r}: send organisation.registered first")
    node = iris.control(event.subject, data.kind, data.system_id)
    triples: list[tuple[Node, Node, str]] = [
        (org, OG.hasEvidence, n3(node)),
        (node, RDF.type, n3(OG.Control)),
        (node, OG.hasEvidenceKind, n3(vocabulary.evidence_kind(data.kind))),
    ]
    if data.system_id is not None:
        _, system = _system_node(event, known)
        triples.append((node, OG.concernsSystem, n3(system)))
    return node, triples


def _control_implemented(event: Event, data: p.ControlImplemented, known: _Known) -> list[str]:
    node, triples = _control_node(event, data, known)
    if not known.fields.fresh(node, event.time, [_IN_PLACE]):
        return [_insert(triples)]  # withdrawn or implemented again by an event dated later
    triples.append((node, OG.since, lit(data.since)))
    return [_delete_values(node, (OG.since, OG.withdrawnOn)), _insert(triples)]


_IN_PLACE: Final = "in_place"
"""The field of a control that its implementation and its withdrawal set."""


def _control_withdrawn(event: Event, data: p.ControlWithdrawn, known: _Known) -> list[str]:
    """The safeguard is gone where the withdrawal says: for one system, an organisation-wide control of the kind no
    longer covers it (``_narrowed``); organisation-wide, the systems' own go with it (``_withdrawn_everywhere``)."""
    node, triples = _control_node(event, data, known)
    if not known.fields.fresh(node, event.time, [_IN_PLACE]):
        return [_insert(triples)]  # implemented or withdrawn again by an event dated later
    triples.append((node, OG.withdrawnOn, lit(data.since)))
    org = iris.organisation(event.subject)
    wide = iris.control(event.subject, data.kind, None)
    # the other controls of the kind it changes: not one an event dated later set (``kg.field_times``)
    others = sorted(known.controls.get(wide, set()) - {node, wide})
    later = [other for other in others if known.fields.set_later(other, event.time, _IN_PLACE)]
    if not data.system_id:  # it sets every system's own control of the kind: a late one of theirs is stale
        for other in others:
            known.fields.fresh(other, event.time, [_IN_PLACE])
        scope = _withdrawn_everywhere(org, wide, data.since, later)
    elif not known.fields.set_later(wide, event.time, _IN_PLACE):
        scope = _narrowed(org, wide, iris.ai_system(event.subject, data.system_id), data.since, later)
    else:
        scope = []  # the organisation-wide control was implemented or withdrawn again by an event dated later
    return [*scope, _delete_values(node, (OG.withdrawnOn,)), _insert(triples)]


def _not_among(variable: str, nodes: Sequence[URIRef]) -> str:
    return f"FILTER({variable} NOT IN ({', '.join(n3(node) for node in nodes)}))" if nodes else ""


def _in_place(control: str, day: date, since: str = "?since") -> str:
    """Graph patterns: ``control`` (a term or a variable) implemented (``since``) and not withdrawn on or before
    ``day``."""
    return (
        f"{control} {n3(OG.since)} {since} "
        f"FILTER NOT EXISTS {{ {control} {n3(OG.withdrawnOn)} ?gone FILTER(?gone <= {lit(day)}) }}"
    )


def _withdrawn_where(control: str, day: date, where: str) -> str:
    """The update that withdraws ``control`` as of ``day`` (in place of a later withdrawal) where ``where`` holds."""
    withdrawn = f"{control} {n3(OG.withdrawnOn)}"
    return (
        f"DELETE {{ GRAPH {ORGS} {{ {withdrawn} ?later }} }} INSERT {{ GRAPH {ORGS} {{ {withdrawn} {lit(day)} }} }} "
        f"WHERE {{ GRAPH {ORGS} {{ {where} OPTIONAL {{ {withdrawn} ?later }} }} }}"
    )


def _narrowed(org: URIRef, wide: URIRef, system: URIRef, day: date, later: Sequence[URIRef] = ()) -> list[str]:
    """A control withdrawn for one system while an organisation-wide one covers it: the organisation-wide control
    becomes a control of each of the organisation's other systems (since the day it was implemented; a system with
    a control of its own in place keeps that one, one withdrawn before was covered all the same), and is withdrawn
    as of the day. A system deployed later needs its own; one whose control an event dated later set (``later``)
    keeps it."""
    node = f'IRI(CONCAT("{wide}/", STRAFTER(STR(?system), "/system/")))'
    split = (
        f"DELETE {{ GRAPH {ORGS} {{ ?control {n3(OG.since)} ?before ; {n3(OG.withdrawnOn)} ?ended }} }} "
        f"INSERT {{ GRAPH {ORGS} {{ {n3(org)} {n3(OG.hasEvidence)} ?control . ?control a {n3(OG.Control)} ; "
        f"{n3(OG.hasEvidenceKind)} ?kind ; {n3(OG.concernsSystem)} ?system ; {n3(OG.since)} ?since }} }} "
        f"WHERE {{ GRAPH {ORGS} {{ {_in_place(n3(wide), day)} {n3(wide)} {n3(OG.hasEvidenceKind)} ?kind . "
        f"{n3(org)} {n3(OG.hasAISystem)} ?system FILTER(?system != {n3(system)}) BIND({node} AS ?control) "
        f"{_not_among('?control', later)} FILTER NOT EXISTS {{ {_in_place('?control', day, since='?own')} }} "
        f"OPTIONAL {{ ?control {n3(OG.since)} ?before }} OPTIONAL {{ ?control {n3(OG.withdrawnOn)} ?ended }} }} }}"
    )
    return [split, _withdrawn_where(n3(wide), day, _in_place(n3(wide), day))]


def _withdrawn_everywhere(org: URIRef, wide: URIRef, day: date, later: Sequence[URIRef] = ()) -> list[str]:
    """An organisation-wide withdrawal: every system's own control of the kind in place on the day (implemented by
    then) is withdrawn as of the day too, save one an event dated later set (``later``)."""
    own = (
        f"{n3(org)} {n3(OG.hasEvidence)} ?control . ?control {n3(OG.concernsSystem)} ?system "
        f'FILTER(STRSTARTS(STR(?control), "{wide}/")) {_not_among("?control", later)} '
        f"{_in_place('?control', day)} FILTER(?since <= {lit(day)})"
    )
    return [_withdrawn_where("?control", day, own)]


_TRANSFER_FIELDS: Final = (
    OG.destinationCountry,
    OG.startedOn,
    OG.endedOn,
    OG.personalInformationSubjects,
    OG.containsImportantData,
    OG.hasTransferMechanism,
)


def _transfer_started(event: Event, data: p.TransferStarted, known: _Known) -> list[str]:
    org = iris.organisation(event.subject)
    _require(known, org, f"unknown organisation {event.subject!r}: send organisation.registered first")
    transfer = iris.transfer(event.subject, data.transfer_id)
    known.nodes.add(transfer)
    fresh = known.fields.fresh(transfer, event.time, [_STARTED, _ENDED])
    if _STARTED not in fresh:
        return []  # started again by an event dated later
    triples: list[tuple[Node, Node, str]] = [
        (org, OG.hasTransfer, n3(transfer)),
        (transfer, RDF.type, n3(OG.DataTransfer)),
        (transfer, OG.identifier, lit(data.transfer_id)),
        (transfer, OG.destinationCountry, lit(data.destination)),
        (transfer, OG.startedOn, lit(data.started_on)),
    ]
    if data.personal_information_subjects is not None:
        triples.append((transfer, OG.personalInformationSubjects, lit(data.personal_information_subjects)))
    if data.important_data is not None:
        triples.append((transfer, OG.containsImportantData, lit(data.important_data)))
    if data.mechanism is not None:
        triples.append((transfer, OG.hasTransferMechanism, n3(vocabulary.mechanism(data.mechanism))))
    met = {  # what the export makes its organisation (shapes/roles.ttl)
        _IMPORTANT_DATA: bool(data.important_data),
        _OFFICER_THRESHOLD: (data.personal_information_subjects or 0) >= OFFICER_THRESHOLD,
    }
    before, after = _conditions_changed(org, met, data.started_on, as_of_date(event.time))
    replaced = [pr for pr in _TRANSFER_FIELDS if pr != OG.endedOn or _ENDED in fresh]
    return [*before, _delete_values(transfer, replaced), _insert(triples), *after]


_STARTED: Final = "started"
"""The fields of a transfer its start sets (all but its end, which the start clears)."""
_ENDED: Final = "ended_on"


def _transfer_ended(event: Event, data: p.TransferEnded, known: _Known) -> list[str]:
    org = iris.organisation(event.subject)
    _require(known, org, f"unknown organisation {event.subject!r}: send organisation.registered first")
    transfer = iris.transfer(event.subject, data.transfer_id)
    _require(known, transfer, f"organisation {event.subject!r} has no transfer {data.transfer_id!r}")
    if not known.fields.fresh(transfer, event.time, [_ENDED]):
        return []  # ended, or started again, by an event dated later
    day = as_of_date(event.time)
    return [
        _delete_values(transfer, (OG.endedOn,)),
        _insert([(transfer, OG.endedOn, lit(data.ended_on))]),
        *(op for condition in (_IMPORTANT_DATA, _OFFICER_THRESHOLD) for op in condition.lapsed(org, day)),
    ]


_HANDLERS: Final[dict[type, Callable[[Event, Any, _Known], list[str]]]] = {
    p.OrganisationRegistered: _organisation_registered,
    p.OrganisationUpdated: _organisation_updated,
    p.AISystemDeployed: _aisystem_deployed,
    p.AISystemUpdated: _aisystem_updated,
    p.AISystemRetired: _aisystem_retired,
    p.FilingCompleted: _filing_completed,
    p.AssessmentCompleted: _assessment_completed,
    p.DisclosurePublished: _disclosure_published,
    p.ControlImplemented: _control_implemented,
    p.ControlWithdrawn: _control_withdrawn,
    p.TransferStarted: _transfer_started,
    p.TransferEnded: _transfer_ended,
}
if set(_HANDLERS) != set(p.ALL_PAYLOADS):  # pragma: no cover - a new event type without a handler
    raise RuntimeError("every event type needs a handler in kg.organisations")


def _changes_for(event: Event, known: _Known) -> list[str]:
    return _HANDLERS[type(event.data)](event, event.data, known)

"""What binds an organisation, why, and where it stands: the dashboard's reading of the organisation graph.

An obligation applies when it binds a role the organisation is typed with in the derived graph (the same test
validation uses, ``kg.validation``; for a day before the organisation's latest judgement, the roles derived as of
that day on a scratch copy, ``_Then``) and its instrument reaches the organisation's jurisdiction (a Beijing regulation
binds organisations in Beijing only); the reasons are the role assignments (``og:RoleAssignment``) whose
role is that role or a narrower one, each with the facts (``og:hasReason``) and rules
(``og:isDerivedByRule``) that produced it. Nothing applies on a day before the organisation's registration event
(``og:registeredOn``): the graph knows nothing of it then. Its status as of a day, first match wins:

1. ``NOT_IN_FORCE``: its instrument is a draft or not yet effective on the day (it never opens a violation);
2. ``VIOLATED``: a violation of it is open (the stored verdict of the organisation's latest validation; for a day
   before it, a violation episode open at the end of that day, ``violated_on``; for a day after it with a day
   between on which the clock changes verdicts other than by a deadline, such as an instrument taking effect or a
   control withdrawn as announced, what that day's checks find on a scratch copy, ``_Later``);
3. ``DUE``: a clock for it runs to a due date on or after the day (``og:hasDueDate`` on the organisation or a
   live system), or to one between the organisation's latest judgement and the day (so a day asked ahead of the
   clock sees the deadlines that fall before it), and is still owed: its check, judged on the facts as they stand
   as of the day after, would find the clock's owner in breach (``kg.owed_clocks``; a filing made before its
   deadline leaves nothing due); the earliest such date is given, before the day when it is overdue by then. A
   system launching after the latest judgement is judged with the roles its launch brings (``kg.foresight``), so
   an obligation owed before launch (GAI-12's security assessment) is listed DUE on the launch day, with those
   roles as its reasons, before the organisation plays them; so is what must be in place when it goes live, DUE
   the day before launch (``owed_due_dates(launches=...)``), and a day asked after a launch or retirement the
   latest judgement has not seen lists every obligation of that day's roles (``_Ahead``). For a day before the
   latest judgement the clocks are judged on the scratch copy of that day (what was done after it left out): one
   that runs past the day is owed if its duty was not done by the day, one that ran out before it if not done by
   then (overdue);
4. ``NOT_CHECKABLE``: no shape checks it (``og:isMachineCheckable false``): events cannot evidence it;
5. ``COMPLIANT``: checked, in force, nothing open, nothing pending.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

import pyoxigraph as ox
from rdflib import URIRef

from kg.catalog import PREFIXES, UNREAD, FixedCache, Unread, build_fingerprint
from kg.catch_up import turning_days
from kg.checks import Check
from kg.foresight import Foresight
from kg.iris import Graphs
from kg.judged_moments import judged_as_of
from kg.nodes import Node, describe
from kg.organisations import CHINA, as_of_date
from kg.owed_clocks import check_findings, compiled, owed_due_dates
from kg.role_assignments import RoleAssignment, role_assignments
from kg.store import Store
from ontology.namespaces import OG, RDF, RDFS, SKOS

VIOLATIONS: Final = f"<{Graphs.VIOLATIONS}>"


class Status(StrEnum):
    COMPLIANT = "COMPLIANT"
    VIOLATED = "VIOLATED"
    DUE = "DUE"
    NOT_IN_FORCE = "NOT_IN_FORCE"
    NOT_CHECKABLE = "NOT_CHECKABLE"


# Step 1. Organisations and systems, as events described them (docs/organisation-graph.md).


@dataclass(frozen=True)
class OrganisationRecord:
    iri: str
    id: str
    name: str | None
    jurisdiction: str | None
    jurisdiction_code: str | None
    sectors: tuple[str, ...]
    cii_operator: bool | None
    important_data_processor: bool | None
    personal_information_subjects: int | None
    registered_on: date | None
    systems: tuple[str, ...]
    transfers: tuple[str, ...]

    @classmethod
    def of(cls, node: Node) -> OrganisationRecord:
        return cls(
            iri=node.iri,
            id=node.text(OG.identifier) or node.iri.rsplit("/", 1)[-1],
            name=node.text(RDFS.label),
            jurisdiction=node.iri_of(OG.hasJurisdiction),
            jurisdiction_code=node.text(OG.jurisdictionCode),
            sectors=tuple(node.iris(OG.hasSector)),
            cii_operator=node.boolean(OG.isCIIOperator),
            important_data_processor=node.boolean(OG.isImportantDataProcessor),
            personal_information_subjects=node.integer(OG.personalInformationSubjects),
            registered_on=node.date(OG.registeredOn),
            systems=tuple(node.iris(OG.hasAISystem)),
            transfers=tuple(node.iris(OG.hasTransfer)),
        )


@dataclass(frozen=True)
class SystemRecord:
    iri: str
    id: str
    name: str | None
    capabilities: tuple[str, ...]
    sectors: tuple[str, ...]
    launched_on: date | None
    retired_on: date | None
    public_facing: bool | None
    public_opinion_attributes: bool | None
    monthly_active_users: int | None
    processes_personal_information: bool | None
    large_scale: bool | None

    @classmethod
    def of(cls, node: Node) -> SystemRecord:
        return cls(
            iri=node.iri,
            id=node.text(OG.identifier) or node.iri.rsplit("/", 1)[-1],
            name=node.text(RDFS.label),
            capabilities=tuple(node.iris(OG.hasCapability)),
            sectors=tuple(node.iris(OG.hasSector)),
            launched_on=node.date(OG.launchedOn),
            retired_on=node.date(OG.retiredOn),
            public_facing=node.boolean(OG.isPublicFacing),
            public_opinion_attributes=node.boolean(OG.hasPublicOpinionAttributes),
            monthly_active_users=node.integer(OG.monthlyActiveUsers),
            processes_personal_information=node.boolean(OG.processesPersonalInformation),
            large_scale=node.boolean(OG.isLargeScale),
        )

    def live_on(self, day: date) -> bool:
        return (self.launched_on is None or self.launched_on <= day) and (
            self.retired_on is None or self.retired_on > day
        )


def is_organisation(node: Node) -> bool:
    return str(OG.Organisation) in node.types()


def is_system(node: Node) -> bool:
    return str(OG.AISystem) in node.types()


_FACT_KINDS: Final = ((OG.AISystem, "AI_SYSTEM"), (OG.Organisation, "ORGANISATION"), (OG.DataTransfer, "DATA_TRANSFER"))


def fact_kind(node: Node) -> str:
    """What kind of fact a role's reason is: ``AI_SYSTEM``, ``ORGANISATION``, ``DATA_TRANSFER`` or ``OTHER``."""
    types = node.types()
    return next((kind for cls, kind in _FACT_KINDS if str(cls) in types), "OTHER")


def today() -> date:
    """Validation days are days in China (UTC+8)."""
    return datetime.now(CHINA).date()


# Step 2. Roles with their reasons.


@dataclass(frozen=True)
class Reason:
    """Why an obligation binds: it binds ``bound_role``, and ``assignment`` gave the organisation that role (or a
    narrower one)."""

    bound_role: str
    assignment: RoleAssignment


class OrganisationReads:
    """Reads of one organisation that several answers share, each made once: its role assignments (its roles, and
    the reasons its obligations apply) and its violations counted by obligation and status (the status of each
    applicable obligation, and its summary). A dashboard asks for all four; sharing saves two of its queries
    (measured at 100,000 organisations on disk: 0.37 and 0.5 ms). So are the store's build fingerprint, which the
    catalogue, the applicable obligations and the summary each need (``FixedCache.get``: a dashboard read it three
    times), and the nodes described: its systems, and the facts behind its roles.

    One per request and store, as of its first read of each. Not locked: two threads reading at once both query,
    and either answer is kept."""

    def __init__(self, organisation: str) -> None:
        self.organisation = organisation
        self._assignments: list[RoleAssignment] | None = None
        self._tally: dict[tuple[str, str], int] | None = None
        self._fingerprint: str | Unread | None = UNREAD
        self._described: dict[str, Node] = {}

    def fingerprint(self, store: Store) -> str | None:
        """The store's build fingerprint (``kg.catalog.build_fingerprint``), read once."""
        if isinstance(self._fingerprint, Unread):
            self._fingerprint = build_fingerprint(store)
        return self._fingerprint

    def applicability(self, store: Store) -> ApplicabilityIndex:
        return APPLICABILITY.get(store, self.fingerprint(store))

    def describe(self, store: Store, iris: Iterable[str]) -> dict[str, Node]:
        """``kg.nodes.describe``, reading only the nodes not described yet: the systems a dashboard lists are the
        facts behind most of its roles (measured, 20 systems then 3 of them again: 0.9 ms more at 100,000
        organisations on disk)."""
        wanted = set(iris)
        if missing := wanted - self._described.keys():
            self._described.update(describe(store, missing))
        return {iri: self._described[iri] for iri in sorted(wanted)}

    def jurisdiction(self, store: Store) -> str | None:
        """The organisation's jurisdiction concept (``og:hasJurisdiction``), from its node as ``describe`` keeps it:
        a dashboard has described it for its profile already, so no second read."""
        return self.describe(store, [self.organisation])[self.organisation].iri_of(OG.hasJurisdiction)

    def registered_on(self, store: Store) -> date | None:
        """The day of the organisation's first registration event (``og:registeredOn``), from its node as
        ``describe`` keeps it: nothing binds it before, as far as the graph knows."""
        return self.describe(store, [self.organisation])[self.organisation].date(OG.registeredOn)

    def role_assignments(self, store: Store) -> list[RoleAssignment]:
        if self._assignments is None:
            self._assignments = role_assignments(store, self.organisation)
        return self._assignments

    def violation_tally(self, store: Store) -> dict[tuple[str, str], int]:
        if self._tally is None:
            self._tally = violation_tally(store, self.organisation)
        return self._tally


# Step 3. Applicability and status.


@dataclass(frozen=True)
class Applicability:
    obligation: str
    obligation_id: str
    status: Status
    due_on: date | None
    reasons: tuple[Reason, ...]
    due_estimated: bool = False
    """With ``due_on``: counted in working days past the official holiday calendar (``kg.workdays``' fallback)."""
    foreseen: bool = False
    """Owed by a system launching after the day (DUE, or NOT_IN_FORCE while its instrument is not in force): its
    reasons are the roles that launch brings (``kg.foresight``)."""


@dataclass(frozen=True)
class _Bound:
    roles: set[str]
    in_effect: bool
    checkable: bool
    obligation_id: str


@dataclass(frozen=True)
class ObligationFacts:
    """What applicability needs of one obligation, from the fixed graphs."""

    obligation_id: str
    checkable: bool
    in_force_from: date | None
    """The first day one of its instruments is in force (effective and not a draft); None: on no day."""
    jurisdictions: frozenset[str] = frozenset()
    """Its instruments' jurisdictions (``og:hasJurisdiction``): it binds organisations within one of them (a Beijing
    regulation binds none outside Beijing); none recorded, everywhere."""
    requires: frozenset[str] = frozenset()
    """Roles an organisation must also play for it to apply (``og:requiresRole``: its trigger, such as PIPL-06's
    1,000,000 people); none, the roles it binds suffice."""
    narrowing: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """By role it binds: the narrower roles an organisation bound through that one must also play
    (``og:requiresNarrowerRole``: DS-09 binds deep synthesis providers with public-opinion attributes only)."""


@dataclass(frozen=True)
class ApplicabilityIndex:
    """The fixed graphs' part of applicability (``kg.catalog.FixedCache``: read once per build): the obligations
    each role class binds and each role class's broader classes. Only the organisation's own part is read per
    request; joined in the store, the fixed part cost the on-disk store 3 of the 6 ms an organisation's
    applicable obligations took (100,000 organisations)."""

    obligations_binding: Mapping[str, tuple[str, ...]]
    """By role class: the obligations that bind it (``og:bindsRole``)."""
    obligations: Mapping[str, ObligationFacts]
    broader: Mapping[str, frozenset[str]]
    """By class: itself and every class it is a subclass of (``rdfs:subClassOf*``)."""
    authorities: Mapping[str, tuple[str, ...]]
    instruments: Mapping[str, tuple[str, ...]]
    """By obligation: its competent authorities and its instruments (what a summary counts violations by)."""
    within: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """By concept: itself and every broader one (``skos:broader*``): Beijing is within China."""

    @classmethod
    def of(cls, nodes: Mapping[str, Node]) -> ApplicabilityIndex:
        binding: dict[str, list[str]] = defaultdict(list)
        obligations: dict[str, ObligationFacts] = {}
        parents = {iri: node.iris(RDFS.subClassOf) for iri, node in nodes.items() if node.iris(RDFS.subClassOf)}
        broader = _closures(parents)
        for node in nodes.values():
            roles, notation = node.iris(OG.bindsRole), node.text(SKOS.notation)
            checkable, instruments = node.boolean(OG.isMachineCheckable), node.iris(OG.hasInstrument)
            if not roles or notation is None or checkable is None or not instruments:
                continue  # what the store's join required of an obligation
            starts = [day for i in instruments if (day := _in_force_from(nodes.get(i))) is not None]
            places = frozenset(j for i in instruments if i in nodes for j in nodes[i].iris(OG.hasJurisdiction))
            requires = frozenset(node.iris(OG.requiresRole))
            narrowing = {
                role: frozenset(
                    n for n in node.iris(OG.requiresNarrowerRole) if role in broader.get(n, frozenset()) - {n}
                )
                for role in roles
            }
            obligations[node.iri] = ObligationFacts(
                notation,
                checkable,
                min(starts, default=None),
                places,
                requires,
                {role: narrower for role, narrower in narrowing.items() if narrower},
            )
            for role in roles:
                binding[role].append(node.iri)
        return cls(
            {role: tuple(found) for role, found in binding.items()},
            obligations,
            broader,
            _by_subject(nodes, OG.hasCompetentAuthority),
            _by_subject(nodes, OG.hasInstrument),
            _closures(_by_subject(nodes, SKOS.broader)),
        )

    def broader_than(self, role: str) -> frozenset[str]:
        return self.broader.get(role, frozenset((role,)))

    def binds_in(self, obligation: str, jurisdiction: str | None) -> bool:
        """Whether the obligation's instruments reach an organisation of ``jurisdiction`` (a concept IRI; None:
        not known, so everywhere)."""
        places = self.obligations[obligation].jurisdictions
        return not places or jurisdiction is None or bool(places & self.within.get(jurisdiction, {jurisdiction}))


def _by_subject(nodes: Mapping[str, Node], predicate: URIRef) -> dict[str, tuple[str, ...]]:
    return {iri: tuple(found) for iri, node in nodes.items() if (found := node.iris(predicate))}


def _in_force_from(instrument: Node | None) -> date | None:
    if instrument is None or instrument.iri_of(OG.hasInstrumentStatus) in {None, str(OG.StatusDraft)}:
        return None
    return instrument.date(OG.effectiveOn)


def _closures(parents: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """Each class (or concept) with its ancestors by the given parent links, itself included."""
    closures: dict[str, frozenset[str]] = {}
    for start in parents:
        seen, stack = {start}, [start]
        while stack:
            for parent in parents.get(stack.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        closures[start] = frozenset(seen)
    return closures


APPLICABILITY: Final[FixedCache[ApplicabilityIndex]] = FixedCache(ApplicabilityIndex.of)


def organisation_roles(store: Store, organisation: str) -> set[str]:
    """The role classes the organisation is typed with in the derived graph."""
    return {term.value for _, _, term in store.outgoing([organisation], Graphs.DERIVED, str(RDF.type))}


def _bound_obligations(
    index: ApplicabilityIndex, roles: Iterable[str], as_of: date, jurisdiction: str | None
) -> dict[str, _Bound]:
    """The obligations the roles bind (where the organisation's jurisdiction is reached and the roles an obligation
    requires are among them), each with the roles it binds them through: its bound roles, and the required ones,
    whose assignments are reasons too."""
    held = set(roles)
    bound: dict[str, _Bound] = {}
    for role in held:
        for iri in index.obligations_binding.get(role, ()):
            facts = index.obligations[iri]
            narrower = facts.narrowing.get(role, frozenset())
            if not index.binds_in(iri, jurisdiction) or not facts.requires <= held or not narrower <= held:
                continue
            in_effect = facts.in_force_from is not None and facts.in_force_from <= as_of
            entry = bound.setdefault(iri, _Bound(set(facts.requires), in_effect, facts.checkable, facts.obligation_id))
            entry.roles.add(role)
            entry.roles.update(narrower)
    return bound


def _broader_roles(index: ApplicabilityIndex, roles: set[str]) -> dict[str, set[str]]:
    """For each role the organisation plays, the roles it plays because of it (itself and broader ones)."""
    return {role: set(index.broader_than(role) & roles) for role in roles}


def applicable_obligations(
    store: Store, organisation: str, as_of: date, shared: OrganisationReads | None = None
) -> list[Applicability]:
    """Every obligation that binds the organisation, by reference id, with its status as of ``as_of``; and every
    obligation a system yet to launch will bring that is owed by a due date (``kg.owed_clocks``: a security
    assessment owed before launch is DUE on the launch day), with the reasons of the roles it will bring."""
    shared = shared or OrganisationReads(organisation)
    registered = shared.registered_on(store)
    if registered is not None and as_of < registered:
        return []  # before its registration event the graph knows nothing of the organisation
    index = shared.applicability(store)
    judged = judged_as_of(store, organisation)
    judged_on = as_of_date(judged) if judged is not None else None
    past = _Then.of(store, organisation, as_of, shared) if judged_on is not None and as_of < judged_on else None
    since = min(as_of, judged_on) if judged_on is not None else as_of  # not yet judged past due from there
    jurisdiction = shared.jurisdiction(store)
    ahead = _Ahead.of(store, organisation, since, as_of, shared) if past is None else None
    later = _Later.of(store, organisation, judged_on, as_of, shared, ahead) if past is None else None
    roles_now = past.roles if past is not None else organisation_roles(store, organisation)
    if ahead is not None and ahead.roles is not None:
        roles = ahead.roles
    elif later is not None:  # a transfer under way on the day makes a handler of the organisation
        roles = later.roles()
    else:
        roles = roles_now
    bound = _bound_obligations(index, roles, as_of, jurisdiction)
    checked = {iri for iri, entry in bound.items() if entry.in_effect and entry.checkable}
    if past is not None:  # a system launching after the day owes, by the day before, what must be in place then
        due = owed_due_dates(
            past.store,
            organisation,
            as_of,
            shared.fingerprint(store),
            among=checked,
            since=as_of,
            looking_back=True,
            compiled_from=store,
            launches=_launching_after(_systems(store, organisation, shared), as_of),
            bound_before=set(bound),
        )
    else:  # what a launch after ``since`` owes is judged for the obligations not bound before it too
        before = set(bound) if roles is roles_now else set(_bound_obligations(index, roles_now, as_of, jurisdiction))
        due = owed_due_dates(
            store,
            organisation,
            as_of,
            shared.fingerprint(store),
            among=checked,
            since=since,
            launches=ahead.launches if ahead is not None else None,
            bound_before=before,
            foresight=ahead.foresight if ahead is not None else None,
        )
    if past is not None:
        violated = violated_on(store, organisation, as_of)
    else:
        violated = {obligation for (obligation, status), _ in shared.violation_tally(store).items() if status == _OPEN}
    if later is not None:  # what the clock's pass on the day will find, not what the latest judgement found
        # save a deadline run out since the latest judgement: DUE with its past date says so (overdue)
        violated = later.violated(checked) - {
            iri for iri, owed in due.items() if owed.day < as_of and iri not in violated
        }
    if past is not None:  # a violation open that day says its obligation bound then, whatever today's undated facts
        for iri in violated - bound.keys():  # (a count of people lowered since) leave of the roles derived for it
            if (facts := index.obligations.get(iri)) is not None:
                bound[iri] = _Bound(set(), True, facts.checkable, facts.obligation_id)
    # owed by a launch to come, unless already broken: a violation open on the day is what the day shows
    foreseen = {iri: owed.foreseen for iri, owed in due.items() if owed.foreseen is not None and iri not in violated}
    for iri, launch in foreseen.items():
        then = _bound_obligations(index, launch.roles, as_of, jurisdiction).get(iri)
        if then is not None:
            bound[iri] = then
    if not bound:
        return []
    if past is not None:
        assignments = past.assignments
    elif ahead is not None and ahead.assignments is not None:
        assignments = ahead.assignments
    elif later is not None:
        assignments = later.foresight.role_assignments()
    else:
        assignments = shared.role_assignments(store)
    broader = _broader_roles(index, roles)
    result = []
    for iri, entry in sorted(bound.items(), key=lambda item: item[1].obligation_id):
        coming = foreseen.get(iri)
        if iri in violated and entry.in_effect:
            status = Status.VIOLATED
        elif not entry.in_effect:
            status = Status.NOT_IN_FORCE
        elif iri in due:  # a clock of a system yet to launch among them (``ahead``)
            status = Status.DUE
        elif not entry.checkable:
            status = Status.NOT_CHECKABLE
        else:
            status = Status.COMPLIANT
        if coming is None:
            reasons = tuple(_reasons(entry.roles, assignments, broader))
        else:
            reasons = tuple(_reasons(entry.roles, coming.assignments, _broader_roles(index, set(coming.roles))))
        owed = due.get(iri) if status is Status.DUE else None  # a due date says what is owed, not what is broken
        day, estimated = (owed.day, owed.estimated) if owed is not None else (None, False)
        result.append(Applicability(iri, entry.obligation_id, status, day, reasons, estimated, coming is not None))
    return result


def _scratch_copy(store: Store, organisation: str, shared: OrganisationReads) -> Foresight:
    """The organisation and the regulation graph in a scratch store where its roles can be derived as of any day."""
    fingerprint = shared.fingerprint(store)
    _, rules = compiled(store, fingerprint)
    return Foresight(store, organisation, fingerprint, rules)


@dataclass(frozen=True)
class _Then:
    """An organisation as it stood on a day before its latest judgement, which the derived graph no longer holds: a
    scratch copy (``kg.foresight``) without what was done after that day (a filing made later was still owed then),
    its roles derived again as of that day (a system launched after it, or retired by then, brings no role; a count
    of people is today's). Its clocks are judged on that copy (``owed_due_dates(looking_back=True)``)."""

    roles: set[str]
    assignments: list[RoleAssignment]
    store: Store

    @classmethod
    def of(cls, store: Store, organisation: str, day: date, shared: OrganisationReads) -> _Then:
        past = _scratch_copy(store, organisation, shared)
        past.forget_after(day)
        scratch = past.as_of(day)
        return cls(set(past.roles()), past.role_assignments(), scratch)


@dataclass(frozen=True)
class _Ahead:
    """An organisation with systems launching or retiring after its latest judgement (``since``): the roles the
    derived graph holds are not those of a later day. Its systems launching after ``since`` bring what they owe at
    and before launch (``owed_due_dates(launches=...)``); and when a launch or a retirement falls by ``as_of``, the
    roles of that day are derived on a scratch copy (``kg.foresight``), as the clock's pass that day will derive
    them, so every obligation they bind is listed, not only those with something owed."""

    launches: dict[str, date]
    foresight: Foresight
    roles: set[str] | None
    assignments: list[RoleAssignment] | None

    @classmethod
    def of(cls, store: Store, organisation: str, since: date, as_of: date, shared: OrganisationReads) -> _Ahead | None:
        systems = _systems(store, organisation, shared)
        launches = _launching_after(systems, since)
        changed = any(system.live_on(since) != system.live_on(as_of) for system in systems)
        if not launches and not changed:
            return None
        foresight = _scratch_copy(store, organisation, shared)
        if not changed:
            return cls(launches, foresight, None, None)
        foresight.as_of(as_of)
        return cls(launches, foresight, set(foresight.roles()), foresight.role_assignments())


@dataclass(frozen=True)
class _Later:
    """An organisation asked about a day after its latest judgement when, between the two, a day comes on which the
    clock changes verdicts other than by a deadline (``kg.catch_up.turning_days``: an instrument taking effect, a
    control announced ahead holding or withdrawn, a transfer starting or ending, a launch or retirement). The stored
    violations are those of the latest judgement, so the day's are found as its clock pass will find them: each
    check judged as of the day on a scratch copy with that day's roles (``kg.foresight``). A deadline passing
    between is not among those days: it is what ``DUE`` (overdue) says."""

    foresight: Foresight
    day: date
    checks: tuple[Check, ...]

    @classmethod
    def of(
        cls,
        store: Store,
        organisation: str,
        judged_on: date | None,
        as_of: date,
        shared: OrganisationReads,
        ahead: _Ahead | None,
    ) -> _Later | None:
        if judged_on is None or as_of <= judged_on:
            return None
        subject = URIRef(organisation)
        if not turning_days(store, {subject: judged_on}, {subject: as_of}, deadlines=False, past_only=False):
            return None
        checks, _ = compiled(store, shared.fingerprint(store))
        scratch = ahead.foresight if ahead is not None else _scratch_copy(store, organisation, shared)
        return cls(scratch, as_of, checks)

    def roles(self) -> set[str]:
        """The role classes the organisation plays on the day."""
        self.foresight.as_of(self.day)
        return set(self.foresight.roles())

    def violated(self, among: Collection[str]) -> set[str]:
        """The obligations (``among`` these IRIs) whose checks find the organisation or one of its nodes in breach."""
        judged = self.foresight.as_of(self.day)
        found = check_findings(judged, self.checks, self.foresight.organisation, {o: {self.day} for o in among})
        return {obligation for obligation, _, _ in found}


def _systems(store: Store, organisation: str, shared: OrganisationReads) -> list[SystemRecord]:
    node = shared.describe(store, [organisation])[organisation]
    return [SystemRecord.of(system) for system in shared.describe(store, node.iris(OG.hasAISystem)).values()]


def _launching_after(systems: Iterable[SystemRecord], day: date) -> dict[str, date]:
    """The systems that launch after ``day`` (and are not retired by their launch), with their launch days."""
    return {
        system.iri: system.launched_on
        for system in systems
        if system.launched_on is not None and system.launched_on > day and system.live_on(system.launched_on)
    }


def violated_on(store: Store, organisation: str, day: date) -> set[str]:
    """The obligations (IRIs) the organisation had a violation of open at the end of ``day`` in China: an episode
    opened by then and not resolved by then (``og:hasEpisode``)."""
    end = datetime.combine(day + timedelta(days=1), time(), CHINA).isoformat()
    rows = store.select(
        f"{PREFIXES}SELECT DISTINCT ?o WHERE {{ GRAPH {VIOLATIONS} {{ ?v og:concernsOrganisation <{organisation}> ; "
        "og:isViolationOf ?o ; og:hasEpisode ?episode . ?episode og:openedAt ?opened "
        "OPTIONAL { ?episode og:resolvedAt ?resolved } } "
        f'FILTER(?opened < "{end}"^^xsd:dateTime && (!BOUND(?resolved) || ?resolved >= "{end}"^^xsd:dateTime)) }}'
    )
    return {_value(row["o"]) for row in rows}


def _reasons(
    roles: Iterable[str], assignments: Iterable[RoleAssignment], broader: Mapping[str, set[str]]
) -> list[Reason]:
    """The assignments of exactly the bound role when there are any, else those of narrower roles."""
    reasons = []
    for role in sorted(roles):
        direct = [a for a in assignments if a.role == role]
        via = direct or [a for a in assignments if role in broader.get(a.role, ())]
        reasons += [Reason(role, assignment) for assignment in via]
    return reasons


# Step 4. The summary: counts a dashboard header shows.


@dataclass(frozen=True)
class ViolationCounts:
    open: int
    resolved: int
    open_by_authority: dict[str, int]
    open_by_instrument: dict[str, int]


def violation_tally(store: Store, organisation: str) -> dict[tuple[str, str], int]:
    """The organisation's violations counted by obligation and status, in the store."""
    rows = store.select(
        f"{PREFIXES}SELECT ?o ?status (COUNT(?v) AS ?n) WHERE {{ GRAPH {VIOLATIONS} {{ "
        f"?v og:concernsOrganisation <{organisation}> ; og:hasViolationStatus ?status ; og:isViolationOf ?o }} }} "
        "GROUP BY ?o ?status"
    )
    return {(_value(row["o"]), _value(row["status"])): int(_value(row["n"])) for row in rows}


def violation_counts(store: Store, organisation: str, shared: OrganisationReads | None = None) -> ViolationCounts:
    """Open and resolved violations, and open ones by competent authority and by instrument, counted in the store.

    One small query counts the violations by obligation and status (``violation_tally``); the authorities and
    instruments of the obligations with open ones come from the fixed graphs (``APPLICABILITY``; a violation is of
    one obligation, so summing by obligation counts each once). One query joining the three was measured twice as
    slow: each branch walked the organisation's violations."""
    shared = shared or OrganisationReads(organisation)
    tally = shared.violation_tally(store)
    by_status: dict[str, int] = defaultdict(int)
    open_by_obligation: dict[str, int] = defaultdict(int)
    for (obligation, status), n in tally.items():
        by_status[status] += n
        if status == _OPEN:
            open_by_obligation[obligation] += n
    by_target: dict[str, dict[str, int]] = {"authority": defaultdict(int), "instrument": defaultdict(int)}
    if open_by_obligation:
        index = shared.applicability(store)
        for obligation, n in open_by_obligation.items():
            for kind, links in (("authority", index.authorities), ("instrument", index.instruments)):
                for target in set(links.get(obligation, ())):
                    by_target[kind][target] += n
    return ViolationCounts(
        open=by_status.get(_OPEN, 0),
        resolved=by_status.get(str(OG.ViolationResolved), 0),
        open_by_authority=dict(sorted(by_target["authority"].items())),
        open_by_instrument=dict(sorted(by_target["instrument"].items())),
    )


_OPEN: Final = str(OG.ViolationOpen)


def _value(term: object) -> str:
    assert isinstance(term, ox.NamedNode | ox.Literal | ox.BlankNode), term
    return term.value

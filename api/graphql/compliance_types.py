"""Organisations, what binds them and why, their violations with history and trace, and the summary.

Each list is read whole where it is asked for: a resolver reads its list and everything it shows (records,
episodes, the systems and facts it names) in one worker-thread call of a fixed number of store queries, and builds
plain objects whose fields are attributes; the law they point at comes from the catalogue
(``catalog_types.Catalogue``). What a query does not select (history, focus systems, organisations) is not read.
``organisation(id)`` reads ahead what its fields will read (``dashboard``), so they find it read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Annotated, Final

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from api.graphql.catalog_types import (
    CATALOGUE,
    Article,
    Authority,
    Catalogue,
    Concept,
    Instrument,
    Obligation,
    Penalty,
    in_language,
)
from api.graphql.context import Info
from api.graphql.errors import InvalidArgument
from api.graphql.loaders import Read, asked, asks_within, names_below, run_beside, store_call
from api.graphql.pagination import BadArgumentError, PageInfo, decode_cursor, encode_cursor, page_size
from kg import compliance
from kg.compliance import OrganisationReads, OrganisationRecord, SystemRecord
from kg.judged_moments import judged_as_of
from kg.nodes import Labels, Node, describe, label_in
from kg.store import Store
from kg.violation_pages import violation_count, violation_page
from kg.violations import (
    Episode,
    ViolationFilter,
    ViolationKey,
    ViolationRecord,
    violation_episodes,
    violation_records,
)


@strawberry.enum(description="Where an organisation stands on one obligation (docs/graphql.md says how it is decided).")
class ComplianceStatus(Enum):
    COMPLIANT = "COMPLIANT"
    VIOLATED = "VIOLATED"
    DUE = "DUE"
    NOT_IN_FORCE = "NOT_IN_FORCE"
    NOT_CHECKABLE = "NOT_CHECKABLE"


@strawberry.enum
class ViolationStatus(Enum):
    OPEN = "open"
    RESOLVED = "resolved"


@strawberry.enum
class ViolationStatusFilter(Enum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


@strawberry.type(description="An AI system an organisation deployed (aisystem.deployed).")
class AISystem:
    iri: str
    id: str
    name: str | None
    capabilities: list[Concept]
    sectors: list[Concept]
    launched_on: dt.date | None
    retired_on: dt.date | None
    public_facing: bool | None
    public_opinion_attributes: bool | None
    monthly_active_users: int | None
    processes_personal_information: bool | None
    large_scale: bool | None


def ai_system(catalogue: Catalogue, node: Node) -> AISystem:
    record = SystemRecord.of(node)
    return AISystem(
        iri=record.iri,
        id=record.id,
        name=record.name,
        capabilities=catalogue.concepts(record.capabilities),
        sectors=catalogue.concepts(record.sectors),
        launched_on=record.launched_on,
        retired_on=record.retired_on,
        public_facing=record.public_facing,
        public_opinion_attributes=record.public_opinion_attributes,
        monthly_active_users=record.monthly_active_users,
        processes_personal_information=record.processes_personal_information,
        large_scale=record.large_scale,
    )


@strawberry.enum
class ReasonKind(Enum):
    AI_SYSTEM = "AI_SYSTEM"
    ORGANISATION = "ORGANISATION"
    DATA_TRANSFER = "DATA_TRANSFER"
    OTHER = "OTHER"


@strawberry.type(description="A fact a role rule matched: a system, the organisation itself, a transfer …")
class ReasonFact:
    iri: str
    kind: ReasonKind
    id: str | None = strawberry.field(
        description="Its identifier as events name it (system id, organisation id, transfer id)."
    )
    name: str | None


def reason_fact(node: Node) -> ReasonFact:
    return ReasonFact(
        iri=node.iri,
        kind=ReasonKind(compliance.fact_kind(node)),
        id=node.identifier(),
        name=label_in(node.labels(), "en"),
    )


@strawberry.type(description="A role rule of shapes/roles.ttl; its comment cites the article it applies.")
class Rule:
    iri: str
    labels: strawberry.Private[Labels]
    comments: strawberry.Private[Labels]
    label: str | None = in_language("labels")
    comment: str | None = in_language("comments")


def _rule(node: Node) -> Rule:
    return Rule(iri=node.iri, labels=node.labels(), comments=node.comments())


@strawberry.type(description="A role the organisation plays, derived by rules from the facts given as reasons.")
class RoleAssignment:
    role: Concept | None
    reasons: list[ReasonFact]
    rules: list[Rule]


def role_assignment(
    catalogue: Catalogue, assignment: compliance.RoleAssignment, facts: Mapping[str, Node] | None
) -> RoleAssignment:
    """``facts``: the nodes of the reasons, when the query asks for them (None: it does not)."""
    return RoleAssignment(
        role=catalogue.concept(assignment.role),
        reasons=[reason_fact(facts.get(iri) or Node(iri)) for iri in assignment.reasons] if facts is not None else [],
        rules=[catalogue.made("rule", iri, _rule) or Rule(iri=iri, labels={}, comments={}) for iri in assignment.rules],
    )


def _fact_iris(assignments: Iterable[compliance.RoleAssignment]) -> set[str]:
    return {iri for assignment in assignments for iri in assignment.reasons}


@strawberry.type(
    description="Why an obligation binds: it binds `boundRole`, which the assignment gave (directly or "
    "through a narrower role)."
)
class ApplicabilityReason:
    bound_role: Concept | None
    assignment: RoleAssignment


@strawberry.type
class ApplicableObligation:
    obligation: Obligation | None
    obligation_id: str
    status: ComplianceStatus
    due_on: dt.date | None = strawberry.field(
        description="With DUE: the earliest due date of a clock still owed: on or after asOf, or before it when "
        "asOf is later than the latest judgement (overdue by then; the clock opens the violation the day after). "
        "A system yet to launch brings what it owes by a due date (a security assessment before launch, its first "
        "filing, and what must be in place when it goes live, due the day before launch) as DUE before the "
        "organisation plays the role: its reasons are the roles the launch brings."
    )
    due_on_estimated: bool | None = strawberry.field(
        description="With DUE: whether dueOn was counted in working days into a year the official holiday calendar "
        "does not cover yet, so by the documented fallback rule (statutory holidays, no make-up days): an estimate."
    )
    reasons: list[ApplicabilityReason]


@strawberry.type(description="One open→resolved period of a violation.")
class ViolationEpisode:
    number: int
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    caused_by: str = strawberry.field(description="The event id that opened it, or `clock`.")
    resolved_by: str | None


def _episode(episode: Episode) -> ViolationEpisode:
    return ViolationEpisode(
        number=episode.number,
        opened_at=episode.opened_at,
        resolved_at=episode.resolved_at,
        caused_by=episode.caused_by,
        resolved_by=episode.resolved_by,
    )


@strawberry.type(description="A shape of shapes/obligations/: its comment cites the article it checks.")
class Shape:
    iri: str
    labels: strawberry.Private[Labels]
    comments: strawberry.Private[Labels]
    label: str | None = in_language("labels")
    comment: str | None = in_language("comments")


def _shape(node: Node) -> Shape:
    return Shape(iri=node.iri, labels=node.labels(), comments=node.comments())


@strawberry.type(description="shape → obligation → article → authority → penalty.")
class Trace:
    shapes: list[Shape]
    obligation: Obligation | None
    articles: list[Article]
    authorities: list[Authority]
    instrument: Instrument | None
    penalty: Penalty | None


def _trace(catalogue: Catalogue, record: ViolationRecord) -> Trace:
    found = catalogue.obligation(record.obligation)
    return Trace(
        shapes=catalogue.every("shape", record.shapes, _shape),
        obligation=found,
        articles=found.articles if found else [],
        authorities=found.authorities if found else [],
        instrument=found.instrument if found else None,
        penalty=found.penalty if found else None,
    )


@strawberry.type(description="A violation: (organisation, obligation, focus node), open or resolved, with history.")
class Violation:
    id: strawberry.ID
    organisation_id: str
    organisation: Organisation | None
    obligation_id: str
    obligation: Obligation | None
    status: ViolationStatus
    focus_node: str = strawberry.field(
        description="The IRI of what is in breach: a system, a transfer or the organisation."
    )
    focus_system: AISystem | None = strawberry.field(description="The system in breach, when the focus is one.")
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    messages: strawberry.Private[Labels]
    message: str | None = in_language(
        "messages", description="What is wrong, citing the article (the shape's message)."
    )
    severity: str = strawberry.field(description="Violation, or Warning for non-binding or unverified obligations.")
    caused_by: str = strawberry.field(description="The event id that opened the current episode, or `clock`.")
    resolved_by: str | None
    history: list[ViolationEpisode] = strawberry.field(description="Every episode, oldest first.")
    trace: Trace


VIOLATION_PARTS = ("history", "focusSystem", "organisation")
"""What a violation shows that is read apart from its record, and only when a query selects it."""


@dataclass(frozen=True)
class ViolationReads:
    """A page's violations and what they show, read in one worker-thread call."""

    records: Mapping[str, ViolationRecord]
    episodes: Mapping[str, list[Episode]] | None
    nodes: Mapping[str, Node]
    systems: dict[str, AISystem | None] = dataclasses.field(default_factory=dict, compare=False)
    """The focus systems made so far (a page names the same few systems many times)."""


def read_violations(store: Store, iris: list[str], parts: frozenset[str]) -> ViolationReads:
    """Blocking: the records, and the episodes and focus / organisation nodes when ``parts`` asks for them."""
    records = violation_records(store, iris)
    episodes = violation_episodes(store, records) if "history" in parts else None
    wanted: set[str] = set()
    if "focusSystem" in parts:
        wanted |= {record.focus_node for record in records.values()}
    if "organisation" in parts:
        wanted |= {record.organisation for record in records.values()}
    return ViolationReads(records, episodes, describe(store, wanted) if wanted else {})


def violation(catalogue: Catalogue, record: ViolationRecord, reads: ViolationReads) -> Violation:
    focus = reads.nodes.get(record.focus_node)
    organisation = reads.nodes.get(record.organisation)
    episodes = reads.episodes.get(record.iri, []) if reads.episodes is not None else []
    return Violation(
        id=strawberry.ID(record.id),
        organisation_id=record.organisation_id,
        organisation=organisation_of(catalogue, organisation) if organisation and organisation.exists else None,
        obligation_id=record.obligation_id,
        obligation=catalogue.obligation(record.obligation),
        status=ViolationStatus.OPEN if record.open else ViolationStatus.RESOLVED,
        focus_node=record.focus_node,
        focus_system=_focus_system(catalogue, focus, reads.systems) if focus else None,
        opened_at=record.opened_at,
        resolved_at=record.resolved_at,
        messages=record.messages,
        severity=record.severity,
        caused_by=record.caused_by,
        resolved_by=record.resolved_by,
        history=[_episode(episode) for episode in episodes],
        trace=_trace(catalogue, record),
    )


def _focus_system(catalogue: Catalogue, focus: Node, made: dict[str, AISystem | None]) -> AISystem | None:
    if focus.iri not in made:
        made[focus.iri] = ai_system(catalogue, focus) if compliance.is_system(focus) else None
    return made[focus.iri]


async def violations_by_iri(info: Info, iris: list[str]) -> list[Violation | None]:
    """The violations (None for an unknown IRI) with what the query selects of them."""
    catalogue = await info.context.loaders.catalogue()
    reads = await store_call(read_violations, info.context.store, iris, asked(info, VIOLATION_PARTS))
    return [violation(catalogue, reads.records[iri], reads) if iri in reads.records else None for iri in iris]


@strawberry.type
class ViolationEdge:
    cursor: str
    node: Violation


@strawberry.type
class ViolationConnection:
    edges: list[ViolationEdge]
    page_info: PageInfo
    criteria: strawberry.Private[ViolationFilter]

    @strawberry.field
    def nodes(self) -> list[Violation]:
        return [edge.node for edge in self.edges]

    @strawberry.field(
        description="How many violations match the filter, on every page (one more store query: 0.1–0.3 s across "
        "every organisation at 100,000 organisations; asked alone, no page is read)."
    )
    async def total_count(self, info: Info) -> int:
        return await store_call(violation_count, info.context.store, self.criteria)


def _read_page(
    store: Store, criteria: ViolationFilter, after: ViolationKey | None, limit: int, parts: frozenset[str]
) -> tuple[list[ViolationKey], ViolationReads]:
    """Blocking: one page (cut in the store) and what its violations show."""
    keys = violation_page(store, criteria, after=after, limit=limit + 1)
    return keys, read_violations(store, [iri for _, iri in keys[:limit]], parts)


def page_read(criteria: ViolationFilter, after: ViolationKey | None, limit: int, parts: frozenset[str]) -> Read:
    return Read(("page", criteria, after, limit, parts), _read_page, (criteria, after, limit, parts))


PAGE_PARTS: Final = frozenset({"edges", "nodes", "pageInfo"})
"""The fields of a connection that show its page."""


async def violation_connection(
    info: Info, criteria: ViolationFilter, first: int, after: str | None
) -> ViolationConnection | InvalidArgument:
    """One page, cut in the store (keyset on opened-at, IRI), read with what it shows in one worker-thread call;
    none when the query asks only for the ``totalCount`` (across every organisation a page took ~1 s at 100,000
    organisations, and a count alone 0.1–0.3 s)."""
    try:
        limit = page_size(first)
        key = decode_cursor("violations", after, 2, criteria)
    except BadArgumentError as error:
        return InvalidArgument(message=str(error), field=error.field)
    if not asked(info, PAGE_PARTS):
        return ViolationConnection(
            edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None), criteria=criteria
        )
    catalogue = await info.context.loaders.catalogue()
    after_key = (key[0], key[1]) if key else None
    keys, reads = await info.context.loaders.read(page_read(criteria, after_key, limit, asked(info, VIOLATION_PARTS)))
    edges = [
        ViolationEdge(
            cursor=encode_cursor("violations", [opened, iri], criteria),
            node=violation(catalogue, reads.records[iri], reads),
        )
        for opened, iri in keys[:limit]
        if iri in reads.records
    ]
    return ViolationConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(keys) > limit, end_cursor=edges[-1].cursor if edges else None),
        criteria=criteria,
    )


@strawberry.type
class StatusCount:
    status: ComplianceStatus
    count: int


@strawberry.type
class AuthorityCount:
    count: int
    authority: Authority | None


@strawberry.type
class InstrumentCount:
    count: int
    instrument: Instrument | None


@strawberry.type(description="Counts for a dashboard header, as of a day.")
class ComplianceSummary:
    organisation_id: str
    as_of: dt.date
    by_status: list[StatusCount] = strawberry.field(description="Applicable obligations by status.")
    open_violations: int
    resolved_violations: int
    open_violations_by_authority: list[AuthorityCount]
    open_violations_by_instrument: list[InstrumentCount]


def summary(
    catalogue: Catalogue,
    organisation_id: str,
    as_of: dt.date,
    applicable: list[compliance.Applicability],
    counts: compliance.ViolationCounts,
) -> ComplianceSummary:
    by_status = {status: 0 for status in ComplianceStatus}
    for item in applicable:
        by_status[ComplianceStatus(item.status.value)] += 1
    return ComplianceSummary(
        organisation_id=organisation_id,
        as_of=as_of,
        by_status=[StatusCount(status=status, count=count) for status, count in by_status.items()],
        open_violations=counts.open,
        resolved_violations=counts.resolved,
        open_violations_by_authority=[
            AuthorityCount(authority=catalogue.authority(iri), count=n) for iri, n in counts.open_by_authority.items()
        ],
        open_violations_by_instrument=[
            InstrumentCount(instrument=catalogue.instrument(iri), count=n)
            for iri, n in counts.open_by_instrument.items()
        ],
    )


async def applicable(
    info: Info, organisation: str, day: dt.date, *, facts: bool
) -> tuple[list[compliance.Applicability], Mapping[str, Node] | None]:
    """What binds the organisation on ``day``, read once per request (the list and the summary both use it),
    with the nodes of the role facts when ``facts``."""
    found, nodes = await info.context.loaders.read(
        applicable_read(info.context.loaders.organisation(organisation), day, facts)
    )
    if facts and nodes is None:
        wanted = _fact_iris(reason.assignment for item in found for reason in item.reasons)
        nodes = await store_call(info.context.loaders.organisation(organisation).describe, info.context.store, wanted)
    return found, nodes


def _read_applicable(
    store: Store, shared: OrganisationReads, day: dt.date, facts: bool
) -> tuple[list[compliance.Applicability], dict[str, Node] | None]:
    found = compliance.applicable_obligations(store, shared.organisation, day, shared)
    if not facts:
        return found, None
    return found, shared.describe(store, _fact_iris(reason.assignment for item in found for reason in item.reasons))


def applicable_read(shared: OrganisationReads, day: dt.date, facts: bool) -> Read:
    """Keyed without ``facts``: a read with them serves a field that needs none."""
    return Read(("applicable", shared.organisation, day), _read_applicable, (shared, day, facts))


def _read_roles(
    store: Store, shared: OrganisationReads, facts: bool
) -> tuple[list[compliance.RoleAssignment], dict[str, Node]]:
    found = shared.role_assignments(store)
    return found, shared.describe(store, _fact_iris(found)) if facts else {}


def roles_read(shared: OrganisationReads, facts: bool) -> Read:
    return Read(("roles", shared.organisation, facts), _read_roles, (shared, facts))


def _read_systems(store: Store, shared: OrganisationReads, systems: tuple[str, ...]) -> dict[str, Node]:
    return shared.describe(store, systems)


def systems_read(record: OrganisationRecord, shared: OrganisationReads) -> Read:
    return Read(("systems", record.iri), _read_systems, (shared, record.systems))


def _read_counts(store: Store, shared: OrganisationReads) -> compliance.ViolationCounts:
    return compliance.violation_counts(store, shared.organisation, shared)


def counts_read(shared: OrganisationReads) -> Read:
    return Read(("counts", shared.organisation), _read_counts, (shared,))


ViolationsResult = Annotated[ViolationConnection | InvalidArgument, strawberry.union("ViolationsResult")]


@strawberry.type(description="An organisation as its events describe it, and where it stands.")
class Organisation:
    id: strawberry.ID
    iri: str
    name: str | None
    jurisdiction: Concept | None
    jurisdiction_code: str | None = strawberry.field(description="As sent, such as CN-BJ.")
    sectors: list[Concept]
    cii_operator: bool | None
    important_data_processor: bool | None
    personal_information_subjects: int | None
    registered_on: dt.date | None
    record: strawberry.Private[OrganisationRecord]
    catalogue: strawberry.Private[Catalogue]

    @strawberry.field
    async def systems(self, info: Info) -> list[AISystem]:
        nodes = await info.context.loaders.read(
            systems_read(self.record, info.context.loaders.organisation(self.record.iri))
        )
        found = [ai_system(self.catalogue, node) for node in nodes.values() if node.exists]
        return sorted(found, key=lambda system: system.id)

    @strawberry.field(
        description="The latest moment it was judged as of (an event's time, or the clock's day); its violations are "
        "the verdicts of that moment. An event dated earlier is judged as of this moment. Null before its first "
        "validation."
    )
    async def judged_as_of(self, info: Info) -> dt.datetime | None:
        return await info.context.loaders.shared(("judgedAsOf", self.record.iri), judged_as_of, self.record.iri)

    @strawberry.field(description="The roles derived for it, each with its reasons and rules.")
    async def roles(self, info: Info) -> list[RoleAssignment]:
        facts = bool(asked(info, ("reasons",)))
        found, nodes = await info.context.loaders.read(
            roles_read(info.context.loaders.organisation(self.record.iri), facts)
        )
        return [role_assignment(self.catalogue, assignment, nodes if facts else None) for assignment in found]

    @strawberry.field(description="Every obligation that binds it, with status as of `asOf` (default: today in China).")
    async def applicable_obligations(
        self, info: Info, as_of: dt.date | None = None, status: ComplianceStatus | None = None
    ) -> list[ApplicableObligation]:
        facts = asks_within(info.selected_fields, "assignment", "reasons")  # the facts behind each role
        found, nodes = await applicable(info, self.record.iri, _day(as_of), facts=facts)
        assignments: dict[str, RoleAssignment] = {}

        def assignment(given: compliance.RoleAssignment) -> RoleAssignment:
            made = assignments.get(given.iri)
            if made is None:
                made = assignments[given.iri] = role_assignment(self.catalogue, given, nodes)
            return made

        return [
            ApplicableObligation(
                obligation=self.catalogue.obligation(item.obligation),
                obligation_id=item.obligation_id,
                status=ComplianceStatus(item.status.value),
                due_on=item.due_on,
                due_on_estimated=item.due_estimated if item.due_on else None,
                reasons=[
                    ApplicabilityReason(
                        bound_role=self.catalogue.concept(reason.bound_role), assignment=assignment(reason.assignment)
                    )
                    for reason in item.reasons
                ],
            )
            for item in found
            if status is None or item.status.value == status.value
        ]

    @strawberry.field(description="Its violations, newest first.")
    async def violations(
        self,
        info: Info,
        status: ViolationStatusFilter = ViolationStatusFilter.OPEN,
        first: int = 20,
        after: str | None = None,
    ) -> ViolationsResult:
        criteria = ViolationFilter(organisation=self.record.iri, status=status.value)
        return await violation_connection(info, criteria, first, after)

    @strawberry.field
    async def compliance_summary(self, info: Info, as_of: dt.date | None = None) -> ComplianceSummary:
        return await compliance_summary(info, self.catalogue, self.record, _day(as_of))


async def compliance_summary(
    info: Info, catalogue: Catalogue, record: OrganisationRecord, day: dt.date
) -> ComplianceSummary:
    counts, (found, _) = await asyncio.gather(
        info.context.loaders.read(counts_read(info.context.loaders.organisation(record.iri))),
        applicable(info, record.iri, day, facts=False),
    )
    return summary(catalogue, record.id, day, found, counts)


def organisation_of(catalogue: Catalogue, node: Node) -> Organisation:
    record = OrganisationRecord.of(node)
    return Organisation(
        id=strawberry.ID(record.id),
        iri=record.iri,
        name=record.name,
        jurisdiction=catalogue.concept(record.jurisdiction),
        jurisdiction_code=record.jurisdiction_code,
        sectors=catalogue.concepts(record.sectors),
        cii_operator=record.cii_operator,
        important_data_processor=record.important_data_processor,
        personal_information_subjects=record.personal_information_subjects,
        registered_on=record.registered_on,
        record=record,
        catalogue=catalogue,
    )


def _day(as_of: dt.date | None) -> dt.date:
    return as_of or compliance.today()


# One organisation's dashboard, read before its fields are resolved.

Plan = list[Callable[[OrganisationRecord, OrganisationReads], Read]]
"""The reads an organisation's fields will ask for, made once its record is known (with what they share)."""


def dashboard_plan(info: Info) -> Plan:
    """The reads the fields selected under ``organisation`` will make, under the keys they will use.

    Arguments are taken as the resolvers will take them; a field whose arguments cannot be (or whose cursor is
    wrong) is left out, and its resolver reads (or reports) it as usual."""
    plan: Plan = []
    days: dict[dt.date, bool] = {}
    for field in _fields(info.selected_fields[0].selections):
        arguments = field.arguments
        try:
            if field.name == "systems":
                plan.append(_systems_of)
            elif field.name == "roles":
                plan.append(partial(_roles_of, facts=bool(names_below([field], ("reasons",)))))
            elif field.name == "applicableObligations":
                day = _argument_day(arguments.get("asOf"))
                days[day] = days.get(day, False) or asks_within([field], "assignment", "reasons")
            elif field.name == "complianceSummary":
                days.setdefault(_argument_day(arguments.get("asOf")), False)
                plan.append(_counts_of)
            elif field.name == "violations":
                plan.append(_planned_page(arguments, names_below([field], VIOLATION_PARTS)))
        except (ValueError, KeyError, TypeError):
            continue
    plan += [partial(_applicable_of, day=day, facts=facts) for day, facts in days.items()]
    return plan


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def _argument_day(value: object) -> dt.date:
    if value is None:
        return compliance.today()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):  # a literal comes as its text, a variable as its value
        return dt.date.fromisoformat(value)
    raise TypeError(value)


def _status(value: object) -> ViolationStatusFilter:
    if value is None:
        return ViolationStatusFilter.OPEN
    if isinstance(value, ViolationStatusFilter):
        return value
    if isinstance(value, str):
        named = value in ViolationStatusFilter.__members__
        return ViolationStatusFilter[value] if named else ViolationStatusFilter(value)
    raise TypeError(value)


def _planned_page(
    arguments: Mapping[str, object], parts: frozenset[str]
) -> Callable[[OrganisationRecord, OrganisationReads], Read]:
    status = _status(arguments.get("status"))
    first = arguments.get("first", 20)
    first = int(first) if isinstance(first, str) else first
    after = arguments.get("after")
    if not isinstance(first, int) or not (after is None or isinstance(after, str)):
        raise TypeError(first)
    try:
        limit = page_size(first)
        key = decode_cursor("violations", after, 2, None)  # its list is checked when the page is answered
    except BadArgumentError as error:
        raise ValueError(error) from error
    after_key = (key[0], key[1]) if key else None
    return partial(_page_of, status=status, after=after_key, limit=limit, parts=parts)


def _systems_of(record: OrganisationRecord, shared: OrganisationReads) -> Read:
    return systems_read(record, shared)


def _roles_of(record: OrganisationRecord, shared: OrganisationReads, *, facts: bool) -> Read:
    return roles_read(shared, facts)


def _counts_of(record: OrganisationRecord, shared: OrganisationReads) -> Read:
    return counts_read(shared)


def _applicable_of(record: OrganisationRecord, shared: OrganisationReads, *, day: dt.date, facts: bool) -> Read:
    return applicable_read(shared, day, facts)


def _page_of(
    record: OrganisationRecord,
    shared: OrganisationReads,
    *,
    status: ViolationStatusFilter,
    after: ViolationKey | None,
    limit: int,
    parts: frozenset[str],
) -> Read:
    return page_read(ViolationFilter(organisation=record.iri, status=status.value), after, limit, parts)


def _read_dashboard(
    store: Store, iri: str, plan: Plan, shared: OrganisationReads
) -> tuple[Catalogue, Node, list[tuple[Hashable, object]]]:
    """Blocking: the catalogue, the organisation's node and, when it is one, every planned read: the page of
    violations (the longest) beside the others."""
    catalogue = CATALOGUE.get(store, shared.fingerprint(store))
    node = shared.describe(store, [iri])[iri]
    done: list[tuple[Hashable, object]] = []
    if compliance.is_organisation(node):
        record = OrganisationRecord.of(node)
        reads = {read.key: read for read in (make(record, shared) for make in plan)}.values()
        pages = [read for read in reads if read.function is _read_page]
        done = run_beside(store, pages, [read for read in reads if read.function is not _read_page])
    return catalogue, node, done


async def dashboard(info: Info, iri: str) -> Organisation | None:
    """The organisation, with what its selected fields will read already read (``Loaders.provide``).

    One worker-thread call reads it all (the page of violations in a second thread) before any field is
    completed: pyoxigraph gives up the GIL for every row, so reads running while the event loop completes other
    fields wait on the loop again and again, and take two to ten times as long as alone."""
    loaders = info.context.loaders
    shared = loaders.organisation(iri)
    catalogue, node, done = await store_call(_read_dashboard, info.context.store, iri, dashboard_plan(info), shared)
    loaders.provide("catalogue", catalogue)
    for key, value in done:
        loaders.provide(key, value)
    return organisation_of(catalogue, node) if compliance.is_organisation(node) else None

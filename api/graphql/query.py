"""The query root: the catalogue, one organisation's dashboard, and violations across organisations."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from typing import Annotated

import strawberry

from api.graphql.catalog_types import Authority, Concept, Instrument, Obligation
from api.graphql.compliance_types import (
    ComplianceSummary,
    Organisation,
    ViolationConnection,
    ViolationStatusFilter,
    compliance_summary,
    dashboard,
    organisation_of,
    violation_connection,
)
from api.graphql.context import Info
from api.graphql.errors import (
    InvalidArgument,
    ObligationNotFound,
    OrganisationNotFound,
    obligation_not_found,
    organisation_not_found,
)
from api.graphql.loaders import store_call
from api.graphql.pagination import DEFAULT_PAGE, BadArgumentError, PageInfo, decode_cursor, encode_cursor, page_size
from kg import catalog, compliance, iris
from kg.catalog import ObligationFilter, UnknownCodeError
from kg.nodes import describe
from kg.violations import ViolationFilter


@strawberry.input(description="Every given criterion must hold. Codes are as the graph spells them.")
class ObligationFilterInput:
    instrument: str | None = strawberry.field(default=None, description="Instrument id or short name.")
    role: str | None = strawberry.field(
        default=None,
        description="Role notation, e.g. genai_service_provider: obligations binding it or a broader role.",
    )
    sector: str | None = strawberry.field(
        default=None, description="Sector notation, e.g. finance: obligations of instruments linked to the sector."
    )
    authority: str | None = strawberry.field(default=None, description="Competent authority code, e.g. CAC.")
    in_force_on: dt.date | None = strawberry.field(
        default=None, description="Instrument effective on or before this day and not a draft."
    )
    risk_subdomain: str | None = strawberry.field(
        default=None, description="MIT AI Risk Repository subdomain or domain notation, e.g. 3.1."
    )
    binding_force: str | None = strawberry.field(default=None, description="binding, non-binding …")
    text: str | None = strawberry.field(
        default=None,
        description=(
            "Case-insensitive text in id, title or texts, or (English or Chinese) in the instrument's titles, the "
            "articles' labels or the authorities' names."
        ),
    )


@strawberry.input
class ViolationFilterInput:
    organisation: str | None = None
    obligation: str | None = strawberry.field(default=None, description="Obligation reference id, e.g. ALG-09.")
    authority: str | None = strawberry.field(default=None, description="Competent authority code, e.g. CAC.")
    status: ViolationStatusFilter = ViolationStatusFilter.ALL
    opened_after: dt.datetime | None = strawberry.field(
        default=None, description="Opened strictly after this moment; a time without a zone is China time (UTC+8)."
    )
    opened_before: dt.datetime | None = strawberry.field(
        default=None, description="Opened strictly before this moment; a time without a zone is China time (UTC+8)."
    )


@strawberry.type
class ObligationEdge:
    cursor: str
    node: Obligation


@strawberry.type
class ObligationConnection:
    edges: list[ObligationEdge]
    page_info: PageInfo
    criteria: strawberry.Private[ObligationFilter]

    @strawberry.field
    def nodes(self) -> list[Obligation]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many obligations match the filter (one more store query).")
    async def total_count(self, info: Info) -> int:
        return await store_call(catalog.obligation_count, info.context.store, self.criteria)


ObligationsResult = Annotated[ObligationConnection | InvalidArgument, strawberry.union("ObligationsResult")]
ObligationResult = Annotated[Obligation | ObligationNotFound, strawberry.union("ObligationResult")]
OrganisationResult = Annotated[Organisation | OrganisationNotFound, strawberry.union("OrganisationResult")]
AllViolationsResult = Annotated[
    ViolationConnection | InvalidArgument | OrganisationNotFound | ObligationNotFound,
    strawberry.union("AllViolationsResult"),
]
SummaryResult = Annotated[ComplianceSummary | OrganisationNotFound, strawberry.union("ComplianceSummaryResult")]


def _invalid(error: BadArgumentError | UnknownCodeError) -> InvalidArgument:
    """The error in the client's terms: the argument's GraphQL name (``riskSubdomain``), not the Python one."""
    head, *rest = error.field.split("_")
    field = head + "".join(part.capitalize() for part in rest)
    return InvalidArgument(message=str(error).replace(error.field, field), field=field)


async def _organisation(info: Info, organisation_id: str) -> Organisation | None:
    if not iris.is_identifier(organisation_id):
        return None  # no event can have registered it
    iri = str(iris.organisation(organisation_id))
    catalogue, nodes = await asyncio.gather(
        info.context.loaders.catalogue(), store_call(describe, info.context.store, [iri])
    )
    return organisation_of(catalogue, nodes[iri]) if compliance.is_organisation(nodes[iri]) else None


@strawberry.type
class Query:
    @strawberry.field(description="Obligations matching a filter, by reference id.")
    async def obligations(
        self,
        info: Info,
        filter: ObligationFilterInput | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> ObligationsResult:
        criteria = ObligationFilter(**vars(filter)) if filter else ObligationFilter()
        try:
            limit = page_size(first)
            key = decode_cursor("obligations", after, 1, criteria)
            found = await store_call(
                catalog.obligation_page, info.context.store, criteria, after=key[0] if key else None, limit=limit + 1
            )
        except (BadArgumentError, UnknownCodeError) as error:
            return _invalid(error)
        catalogue = await info.context.loaders.catalogue()
        edges = [
            ObligationEdge(cursor=encode_cursor("obligations", [node.id], criteria), node=node)
            for node in catalogue.obligations(found[:limit])
        ]
        end = edges[-1].cursor if edges else None
        return ObligationConnection(
            edges=edges, page_info=PageInfo(has_next_page=len(found) > limit, end_cursor=end), criteria=criteria
        )

    @strawberry.field(description="One obligation by its reference id, such as GAI-08.")
    async def obligation(self, info: Info, id: strawberry.ID) -> ObligationResult:
        iri = await store_call(catalog.obligation_by_id, info.context.store, str(id))
        found = (await info.context.loaders.catalogue()).obligation(iri)
        return found if found is not None else obligation_not_found(str(id))

    @strawberry.field(description="Every instrument, by id.")
    async def instruments(self, info: Info) -> list[Instrument]:
        found = await store_call(catalog.instruments, info.context.store)
        return (await info.context.loaders.catalogue()).instruments(found)

    @strawberry.field(description="Every authority, by code.")
    async def authorities(self, info: Info) -> list[Authority]:
        found = await store_call(catalog.authorities, info.context.store)
        return (await info.context.loaders.catalogue()).authorities(found)

    @strawberry.field(description="Every sector, by notation.")
    async def sectors(self, info: Info) -> list[Concept]:
        found = await store_call(catalog.sectors, info.context.store)
        return (await info.context.loaders.catalogue()).concepts(found)

    @strawberry.field(description="One organisation's dashboard: profile, systems, what binds it and why, violations.")
    async def organisation(self, info: Info, id: strawberry.ID) -> OrganisationResult:
        if not iris.is_identifier(str(id)):
            return organisation_not_found(str(id))  # no event can have registered it
        found = await dashboard(info, str(iris.organisation(str(id))))
        return found if found is not None else organisation_not_found(str(id))

    @strawberry.field(description="Violations across organisations, newest first.")
    async def violations(
        self,
        info: Info,
        filter: ViolationFilterInput | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> AllViolationsResult:
        given = filter or ViolationFilterInput()
        criteria = ViolationFilter(
            status=given.status.value, opened_after=given.opened_after, opened_before=given.opened_before
        )
        if given.organisation is not None:
            if await _organisation(info, given.organisation) is None:
                return organisation_not_found(given.organisation)
            criteria = replace(criteria, organisation=str(iris.organisation(given.organisation)))
        if given.obligation is not None:
            iri = await store_call(catalog.obligation_by_id, info.context.store, given.obligation)
            if iri is None:
                return obligation_not_found(given.obligation)
            criteria = replace(criteria, obligation=iri)
        if given.authority is not None:
            authority = await store_call(catalog.find_authority, info.context.store, given.authority)
            if authority is None:
                return _invalid(UnknownCodeError("authority", given.authority))
            criteria = replace(criteria, authority=authority)
        return await violation_connection(info, criteria, first, after)

    @strawberry.field(description="Counts by status, authority and instrument for one organisation.")
    async def compliance_summary(
        self, info: Info, organisation: strawberry.ID, as_of: dt.date | None = None
    ) -> SummaryResult:
        found = await _organisation(info, str(organisation))
        if found is None:
            return organisation_not_found(str(organisation))
        return await compliance_summary(info, found.catalogue, found.record, as_of or compliance.today())

"""Expected failures as result types: a dashboard shows them, so they are data, not exceptions."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="Something the request asked for that the graph cannot answer as asked.")
class Problem:
    message: str


@strawberry.type(description="No organisation with this id has been registered (organisation.registered).")
class OrganisationNotFound(Problem):
    organisation_id: str


@strawberry.type(description="No obligation with this reference id (such as GAI-08) is in the regulation graph.")
class ObligationNotFound(Problem):
    obligation_id: str


@strawberry.type(
    description="An argument is wrong: a filter code the graph does not hold, a malformed cursor, a page size "
    "out of range. `field` names it."
)
class InvalidArgument(Problem):
    field: str


def organisation_not_found(organisation_id: str) -> OrganisationNotFound:
    return OrganisationNotFound(
        message=f"no organisation {organisation_id!r} is registered", organisation_id=organisation_id
    )


def obligation_not_found(obligation_id: str) -> ObligationNotFound:
    return ObligationNotFound(
        message=f"no obligation {obligation_id!r} in the regulation graph", obligation_id=obligation_id
    )

"""One ``data`` model per event type (``shared/spec/events.md``, "Types and their data").

Fields are snake_case in Python and camelCase on the wire (``launched_on`` ↔ ``launchedOn``). A field
the contract marks optional and that has no contract default is ``None`` when absent; a JSON ``null`` for an
optional field counts as absent, because many producers serialise absent values that way. Unknown fields
are kept as extras and never rejected. The type → model table is built from the classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from kg.events.codes import (
    ORGANISATION_CONTROL_KINDS,
    AssessmentKind,
    AssessmentOutcome,
    Capability,
    ControlKind,
    DisclosureKind,
    FilingKind,
    SectorCode,
    TransferMechanism,
)
from kg.events.values import (
    AuthorityCode,
    Count,
    CountryCode,
    Flag,
    HttpUrl,
    Identifier,
    IsoDate,
    Jurisdiction,
    Text,
)


def field_error(model: type[BaseModel], loc: tuple[str, ...], message: str, value: object) -> ValidationError:
    """A located error for a model validator to raise (pydantic prefixes ``loc`` with the model's place)."""
    details = InitErrorDetails(type=PydanticCustomError("og_rule", message), loc=loc, input=value)
    return ValidationError.from_exception_data(model.__name__, [details])


class EventData(BaseModel):
    """Base of every ``data`` model: frozen, camelCase on the wire, unknown fields kept as extras."""

    model_config = ConfigDict(
        frozen=True,
        extra="allow",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )

    event_type: ClassVar[str]
    done_on: ClassVar[str | None] = None
    """The field (Python name) of the day an act it reports was done: reported, it was done by the event's day."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        optional = {f.alias for f in cls.model_fields.values() if not f.is_required()}
        return {k: v for k, v in value.items() if not (v is None and k in optional)}


class Update(EventData):
    """A merge: every field optional, at least one besides ``systemId``; only the given ones apply.

    A field was given exactly when it is not None, since null counts as absent. (``model_fields_set`` is
    not used: it also lists unknown fields, so a stray ``monthly_active_users`` would pass for a change.)
    """

    @property
    def given_fields(self) -> frozenset[str]:
        """Python names of the contract fields this update sets, ``system_id`` excepted."""
        return frozenset(self.changes())

    def changes(self) -> dict[str, Any]:
        """The given fields and their values (Python names), ``system_id`` excepted: what to merge."""
        return {
            name: value
            for name in type(self).model_fields
            if name != "system_id" and (value := getattr(self, name)) is not None
        }

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.changes():
            names = [str(f.alias) for n, f in type(self).model_fields.items() if n != "system_id"]
            message = f"{self.event_type} needs at least one of: {', '.join(names)}"
            raise field_error(type(self), (), message, None)
        return self


class OrganisationRegistered(EventData):
    """An organisation enters the graph; sending it again replaces the profile."""

    event_type: ClassVar[str] = "organisation.registered"
    name: Text
    jurisdiction: Jurisdiction
    sectors: tuple[SectorCode, ...] = ()
    cii_operator: Flag | None = None
    important_data_processor: Flag | None = None
    personal_information_subjects: Count | None = None


class OrganisationUpdated(Update):
    """Merge the given fields into the organisation's profile."""

    event_type: ClassVar[str] = "organisation.updated"
    name: Text | None = None
    jurisdiction: Jurisdiction | None = None
    sectors: tuple[SectorCode, ...] | None = None
    cii_operator: Flag | None = None
    important_data_processor: Flag | None = None
    personal_information_subjects: Count | None = None


class AISystemDeployed(EventData):
    """A system starts serving; sending it again replaces it."""

    event_type: ClassVar[str] = "aisystem.deployed"
    system_id: Identifier
    name: Text
    capabilities: tuple[Capability, ...]
    launched_on: IsoDate
    public_facing: Flag = True
    public_opinion_attributes: Flag = False
    sectors: tuple[SectorCode, ...] = ()
    monthly_active_users: Count | None = None
    processes_personal_information: Flag | None = None
    large_scale: Flag | None = None


class AISystemUpdated(Update):
    """Merge the given fields into the system (which must exist)."""

    event_type: ClassVar[str] = "aisystem.updated"
    system_id: Identifier
    name: Text | None = None
    capabilities: tuple[Capability, ...] | None = None
    launched_on: IsoDate | None = None
    public_facing: Flag | None = None
    public_opinion_attributes: Flag | None = None
    sectors: tuple[SectorCode, ...] | None = None
    monthly_active_users: Count | None = None
    processes_personal_information: Flag | None = None
    large_scale: Flag | None = None


class AISystemRetired(EventData):
    """The system stops serving: its obligations end, its history stays."""

    event_type: ClassVar[str] = "aisystem.retired"
    system_id: Identifier
    retired_on: IsoDate


class FilingCompleted(EventData):
    """A record-filing with a regulator."""

    event_type: ClassVar[str] = "filing.completed"
    system_id: Identifier
    kind: FilingKind
    filing_number: Text
    authority: AuthorityCode
    filed_on: IsoDate
    done_on: ClassVar[str | None] = "filed_on"


class AssessmentCompleted(EventData):
    """An assessment or review; a failed one is not evidence."""

    event_type: ClassVar[str] = "assessment.completed"
    done_on: ClassVar[str | None] = "completed_on"
    kind: AssessmentKind
    completed_on: IsoDate
    outcome: AssessmentOutcome
    system_id: Identifier | None = None
    transfer_id: Identifier | None = None
    assessor: Text | None = None


class DisclosurePublished(EventData):
    """Something published to the public."""

    event_type: ClassVar[str] = "disclosure.published"
    done_on: ClassVar[str | None] = "published_on"
    system_id: Identifier
    kind: DisclosureKind
    published_on: IsoDate
    url: HttpUrl | None = None


class _ControlChange(EventData):
    """A safeguard of one system, or of the whole organisation when ``systemId`` is absent (the contract:
    "absent: the control is organisation-wide"); a system kind without one covers all the organisation's
    systems. An organisation kind (officer, committee, plan) names no system."""

    kind: ControlKind
    since: IsoDate
    system_id: Identifier | None = None

    @model_validator(mode="after")
    def _scope_matches_kind(self) -> Self:
        organisation_wide = self.kind in ORGANISATION_CONTROL_KINDS
        if organisation_wide and self.system_id is not None:
            message = f"'{self.kind}' is an organisation-wide control and takes no systemId"
            raise field_error(type(self), ("systemId",), message, self.system_id)
        return self


class ControlImplemented(_ControlChange):
    """A safeguard is in place since the given date."""

    event_type: ClassVar[str] = "control.implemented"


class ControlWithdrawn(_ControlChange):
    """The safeguard is gone since the given date."""

    event_type: ClassVar[str] = "control.withdrawn"


class TransferStarted(EventData):
    """Personal information or important data leaves China."""

    event_type: ClassVar[str] = "transfer.started"
    transfer_id: Identifier
    destination: CountryCode
    started_on: IsoDate
    personal_information_subjects: Count | None = None
    important_data: Flag | None = None
    mechanism: TransferMechanism | None = None


class TransferEnded(EventData):
    """The transfer stops."""

    event_type: ClassVar[str] = "transfer.ended"
    transfer_id: Identifier
    ended_on: IsoDate


ALL_PAYLOADS: Final[tuple[type[EventData], ...]] = (
    OrganisationRegistered,
    OrganisationUpdated,
    AISystemDeployed,
    AISystemUpdated,
    AISystemRetired,
    FilingCompleted,
    AssessmentCompleted,
    DisclosurePublished,
    ControlImplemented,
    ControlWithdrawn,
    TransferStarted,
    TransferEnded,
)
PAYLOADS: Final[Mapping[str, type[EventData]]] = MappingProxyType({m.event_type: m for m in ALL_PAYLOADS})
EVENT_TYPES: Final[tuple[str, ...]] = tuple(PAYLOADS)

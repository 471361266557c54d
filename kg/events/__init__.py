"""Organisation events: parsing and checking CloudEvents against the contract, before any graph work.

Contract: ``shared/spec/events.md``. Modules: ``codes`` (code lists), ``values`` (scalar types),
``payloads`` (one ``data`` model per type), ``envelope`` (``Event``), ``errors`` (``EventRejected``) and
``parse`` (bytes, batches and JSON Lines in; events or rejections out).
"""

from __future__ import annotations

from kg.events.envelope import Event
from kg.events.errors import EventRejected
from kg.events.parse import (
    MAX_BATCH_BYTES,
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    iter_json_lines,
    parse_batch,
    parse_event,
    received_by,
)
from kg.events.payloads import (
    ALL_PAYLOADS,
    EVENT_TYPES,
    PAYLOADS,
    AISystemDeployed,
    AISystemRetired,
    AISystemUpdated,
    AssessmentCompleted,
    ControlImplemented,
    ControlWithdrawn,
    DisclosurePublished,
    EventData,
    FilingCompleted,
    OrganisationRegistered,
    OrganisationUpdated,
    TransferEnded,
    TransferStarted,
    Update,
)

__all__ = [
    "ALL_PAYLOADS",
    "EVENT_TYPES",
    "MAX_BATCH_BYTES",
    "MAX_DEPTH",
    "MAX_EVENT_BYTES",
    "PAYLOADS",
    "AISystemDeployed",
    "AISystemRetired",
    "AISystemUpdated",
    "AssessmentCompleted",
    "ControlImplemented",
    "ControlWithdrawn",
    "DisclosurePublished",
    "Event",
    "EventData",
    "EventRejected",
    "FilingCompleted",
    "OrganisationRegistered",
    "OrganisationUpdated",
    "TransferEnded",
    "TransferStarted",
    "Update",
    "iter_json_lines",
    "parse_batch",
    "parse_event",
    "received_by",
]

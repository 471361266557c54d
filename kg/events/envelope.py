"""The CloudEvents 1.0 envelope of an organisation event (JSON structured mode).

Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md and ``shared/spec/events.md``
("Envelope"). ``data`` is validated by the model its ``type`` names, so an ``Event`` always holds the
right ``EventData`` subclass. Extension attributes (``traceparent``, ``partitionkey`` …) are kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from kg.events.errors import describe
from kg.events.payloads import EVENT_TYPES, PAYLOADS, EventData
from kg.events.values import EventId, Identifier, Timestamp, UriReference

_JSON_MEDIA_TYPE: Final = re.compile(r"application/json\s*(;.*)?", re.IGNORECASE | re.DOTALL)


def _specversion(value: object) -> str:
    if value == "1.0" and isinstance(value, str):
        return value
    message = "expected '1.0' (CloudEvents 1.0), got {got}"
    raise PydanticCustomError("og_value", message, {"got": describe(value)})


def _event_type(value: object) -> str:
    if isinstance(value, str) and value in PAYLOADS:
        return value
    raise PydanticCustomError(
        "og_value", "{got} is not one of: {types}", {"got": describe(value), "types": ", ".join(EVENT_TYPES)}
    )


def _content_type(value: object) -> str:
    if isinstance(value, str) and _JSON_MEDIA_TYPE.fullmatch(value):
        return value
    raise PydanticCustomError("og_value", "must be application/json when present, got {got}", {"got": describe(value)})


class Event(BaseModel):
    """One organisation event; ``(source, id)`` identifies it, so a repeat is applied once."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Annotated[str, BeforeValidator(_specversion)]
    id: EventId
    source: UriReference
    type: Annotated[str, BeforeValidator(_event_type)]
    time: Timestamp
    subject: Identifier
    datacontenttype: Annotated[str, BeforeValidator(_content_type)] | None = None
    data: Annotated[SerializeAsAny[EventData], Field(json_schema_extra={"type": "object"})]

    @field_validator("data", mode="plain")
    @classmethod
    def _data_of_its_type(cls, value: object, info: ValidationInfo) -> EventData:
        model = PAYLOADS.get(info.data.get("type", ""))
        if model is None:  # the type itself is already reported, and comes first
            raise PydanticCustomError("og_value", "cannot be checked without a valid type")
        if isinstance(value, model):
            return value
        if not isinstance(value, Mapping):
            raise PydanticCustomError("og_value", "expected an object, got {got}", {"got": describe(value)})
        return model.model_validate(value)

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key: an event seen again with the same (source, id) is not applied again."""
        return (self.source, self.id)

    @property
    def content_digest(self) -> str:
        """What the event says to the graph (type, subject, instant, declared data fields), as a SHA-256: a repeat
        of ``(source, id)`` that says something else is a different event under a used id, not a repeat."""
        content = {
            "type": self.type,
            "subject": self.subject,
            "time": self.time.astimezone(UTC).isoformat(),
            "data": self.data.model_dump(mode="json", include=set(type(self.data).model_fields)),
        }
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def organisation_id(self) -> str:
        return self.subject

    @property
    def system_id(self) -> str | None:
        return self._data_field("system_id")

    @property
    def transfer_id(self) -> str | None:
        return self._data_field("transfer_id")

    @property
    def as_of(self) -> datetime:
        """The moment the fact became true: validation this event triggers is "as of" this time."""
        return self.time

    def _data_field(self, name: str) -> str | None:
        # Only declared fields: an unknown field that happens to be called ``system_id`` is not one.
        if name in type(self.data).model_fields:
            value = getattr(self.data, name)
            return value if isinstance(value, str) else None
        return None

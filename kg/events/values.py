"""The scalar value types of the event contract, each with the one sentence that rejects a bad value.

Each type takes exactly what the contract says from JSON and nothing pydantic's lax mode would coerce: a
count is an integer and not ``"5"``, ``5.0`` or ``true``; a date is ``2026-03-01`` and not a timestamp or a
number of seconds. Python callers may also pass the native value (``date``, aware ``datetime``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

import iso3166
from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from kg.events.codes import CN_SUBDIVISIONS, authority_codes
from kg.events.errors import describe
from kg.iris import is_identifier

MAX_COUNT: Final = 2**63 - 1  # the graph stores counts as xsd:integer, which Oxigraph keeps in 64 bits
MAX_TEXT_CHARS: Final = 1000
MAX_EVENT_ID_CHARS: Final = 256
MAX_URI_CHARS: Final = 2048
LAST_DAY: Final = date(2100, 12, 31)
"""The last day an event may name: deadlines are counted in working days up to 2100, the last year the working-day
calendar's solar terms reach (``kg.workdays``); a date past it could not be counted from (year 9999 overflowed)."""

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP: Final = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_URI_CHARS: Final = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_COUNTRY: Final = re.compile(r"[A-Z]{2}")


def _reject(template: str, value: object, **context: object) -> PydanticCustomError:
    return PydanticCustomError("og_value", template, {"got": describe(value), **context})


def _identifier(value: object) -> str:
    if isinstance(value, str) and is_identifier(value):
        return value
    raise _reject("expected an identifier of 1–64 characters A-Z a-z 0-9 . _ -, got {got}", value)


def _text(value: object) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT_CHARS:
        return value
    raise _reject(f"expected a non-blank string of at most {MAX_TEXT_CHARS} characters, got {{got}}", value)


def _event_id(value: object) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= MAX_EVENT_ID_CHARS:
        return value
    raise _reject(f"expected a non-blank string of at most {MAX_EVENT_ID_CHARS} characters, got {{got}}", value)


def _count(value: object) -> int:
    if type(value) is int and 0 <= value <= MAX_COUNT:
        return value
    if type(value) is int and value > MAX_COUNT:
        raise _reject(f"expected a count of at most {MAX_COUNT} (the store's 64-bit integers), got {{got}}", value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        raise _reject("expected a non-negative integer without a decimal point, got {got}", value)
    raise _reject("expected a non-negative integer, got {got}", value)


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise _reject("expected true or false, got {got}", value)


def _iso_date(value: object) -> date:
    if type(value) is date:
        return _in_range(value, value)
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise _reject("{got} is not a calendar date", value) from None
        return _in_range(day, value)
    raise _reject("expected an ISO 8601 date such as 2026-03-01, got {got}", value)


def _in_range(day: date, value: object) -> date:
    if day > LAST_DAY:
        raise _reject(f"{{got}} is after {LAST_DAY}, the last day deadlines are counted to", value)
    return day


CHINA: Final = timezone(timedelta(hours=8), "UTC+08:00")
"""China's time, in which an event's as-of day is read (``kg.organisations`` re-exports it): UTC+8 as the README
says, a fixed offset (``Asia/Shanghai`` would also apply the summer time of 1986–1991)."""


def _instant(moment: datetime, value: object) -> datetime:
    """``moment`` if it is an instant Python can place in UTC and in China's time, as the digest and the as-of day
    need: 0001-01-01T00:00:00+08:00 is in year 0 in UTC."""
    _in_range(moment.date(), value)
    try:
        moment.astimezone(UTC)
        moment.astimezone(CHINA)
    except OverflowError:
        raise _reject("{got} is not an instant between the years 1 and 9999 in UTC and in China", value) from None
    return moment


def _timestamp(value: object) -> datetime:
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise _reject("needs a time-zone offset (RFC 3339), got a naive datetime", value)
        return _instant(value, value)
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _reject("expected an RFC 3339 timestamp such as 2026-03-01T09:30:00+08:00, got {got}", value)
    if match["offset"] is None:
        raise _reject("needs a time-zone offset (RFC 3339), such as Z or +08:00, got {got}", value)
    offset = "+00:00" if match["offset"] in "Zz" else match["offset"]
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}{offset}")
    except ValueError:
        raise _reject("{got} is not a valid date and time", value) from None
    return _instant(moment, value)


def _is_uri_reference(value: str) -> bool:
    """RFC 3986 ``URI-reference``: allowed characters only, a well-formed scheme if any, one ``#`` at most."""
    if not _URI_CHARS.fullmatch(value) or value.count("#") > 1:
        return False
    head = re.split(r"[/?#]", value, maxsplit=1)[0]
    return ":" not in head or bool(_SCHEME.fullmatch(head.partition(":")[0]))


def _uri_reference(value: object) -> str:
    if isinstance(value, str) and len(value) <= MAX_URI_CHARS and _is_uri_reference(value):
        return value
    raise _reject(
        "expected a URI-reference (RFC 3986) such as urn:org:91110108MA01XXXX0X or https://erp.example.cn, got {got}",
        value,
    )


def _http_url(value: object) -> str:
    if isinstance(value, str) and len(value) <= MAX_URI_CHARS and _is_uri_reference(value):
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is not None and parts.scheme.lower() in {"http", "https"} and parts.hostname:
            return value
    raise _reject("expected an absolute http or https URL, got {got}", value)


def _jurisdiction(value: object) -> str:
    if value == "CN" or (isinstance(value, str) and value in CN_SUBDIVISIONS):
        return value
    raise _reject(
        "expected CN or the ISO 3166-2 code of a Chinese province-level division such as CN-BJ, got {got}",
        value,
    )


def _country(value: object) -> str:
    if isinstance(value, str) and _COUNTRY.fullmatch(value):
        if value == "CN":
            raise _reject("a transfer leaves China, so its destination cannot be CN", value)
        if value not in iso3166.countries_by_alpha2:  # ZZ, XA, …: user-assigned, no country
            raise _reject("{got} is not an ISO 3166-1 country code", value)
        return value
    raise _reject("expected an ISO 3166-1 alpha-2 country code in capitals such as DE, got {got}", value)


def _authority(value: object) -> str:
    codes = authority_codes()
    if isinstance(value, str) and value in codes:
        return value
    raise _reject("expected an authority code ({codes}), got {got}", value, codes=", ".join(codes))


def _string_schema(**schema: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", **schema})


Identifier = Annotated[str, BeforeValidator(_identifier), _string_schema(pattern="^[A-Za-z0-9._-]{1,64}$")]
Text = Annotated[str, BeforeValidator(_text), _string_schema(minLength=1, maxLength=MAX_TEXT_CHARS)]
EventId = Annotated[str, BeforeValidator(_event_id), _string_schema(minLength=1, maxLength=MAX_EVENT_ID_CHARS)]
Count = Annotated[int, BeforeValidator(_count), WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_COUNT})]
Flag = Annotated[bool, BeforeValidator(_flag), WithJsonSchema({"type": "boolean"})]
IsoDate = Annotated[date, BeforeValidator(_iso_date), _string_schema(format="date")]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp), _string_schema(format="date-time")]
UriReference = Annotated[str, BeforeValidator(_uri_reference), _string_schema(format="uri-reference")]
HttpUrl = Annotated[str, BeforeValidator(_http_url), _string_schema(format="uri")]
Jurisdiction = Annotated[str, BeforeValidator(_jurisdiction), _string_schema(pattern="^CN(-[A-Z]{2})?$")]
CountryCode = Annotated[str, BeforeValidator(_country), _string_schema(pattern="^[A-Z]{2}$")]
AuthorityCode = Annotated[str, BeforeValidator(_authority), _string_schema()]

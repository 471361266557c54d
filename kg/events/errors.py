"""Why an event was rejected, in words its producer can act on.

Every bad input ends as one ``EventRejected``: the dead-letter topic, the HTTP 4xx answer and the ingest
report all show its ``reason`` verbatim, so it is an English sentence naming the field, what was expected
and what came, never a traceback or a link to pydantic's documentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_SHOWN_CHARS: Final = 40


class EventRejected(ValueError):  # noqa: N818 (the name the contract and its callers use)
    """An event (or a whole body) that breaks the contract.

    ``pointer`` is the RFC 6901 JSON pointer of the offending value within the event (``/data/launchedOn``),
    or None when the body as a whole is at fault (not JSON, too large, not an object). ``payload`` is the
    raw text the parser was given when the caller may not have it (a JSON Lines line, a batch element).
    """

    def __init__(self, reason: str, pointer: str | None = None, payload: bytes | str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pointer = pointer
        self.payload = payload

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        return f"EventRejected({self.reason!r}, pointer={self.pointer!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.pointer, self.payload))

    def with_payload(self, payload: bytes | str | None) -> EventRejected:
        return EventRejected(self.reason, self.pointer, payload)


def describe(value: object) -> str:
    """A short, JSON-flavoured picture of a received value, safe to echo back (bounded length)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if len(value) > _SHOWN_CHARS:
            return repr(value[:_SHOWN_CHARS]) + "… (truncated)"
        return repr(value)
    if isinstance(value, int):
        return str(value) if abs(value) < 10**30 else "an integer with more than 30 digits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def dotted(loc: Sequence[int | str]) -> str:
    """``("data", "capabilities", 2)`` → ``data.capabilities[2]``: how a person names the field."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "event"


def json_pointer(loc: Sequence[int | str]) -> str:
    """``("data", "capabilities", 2)`` → ``/data/capabilities/2`` (RFC 6901 escaping)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


# Pydantic's built-in error types that our value types can still produce, as "expected …" phrases.
_EXPECTED: Final = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "a non-negative integer",
    "tuple_type": "a list",
    "list_type": "a list",
    "model_type": "an object",
    "dict_type": "an object",
    "model_attributes_type": "an object",
}


def sentence(error: ErrorDetails) -> str:
    """The reason for one pydantic error, without its location."""
    kind = error["type"]
    got = describe(error.get("input"))
    if kind == "missing":
        return "required field is missing"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {got}"
    if kind == "literal_error":
        return f"expected {error.get('ctx', {}).get('expected', 'one of the listed codes')}, got {got}"
    if kind.startswith("og_"):
        return error["msg"]  # our own value types phrase the whole sentence, "got" included
    return f"{error['msg'].rstrip('.')}, got {got}"


def rejection_from(error: ValidationError) -> EventRejected:
    """The first error of a failed validation, located; the others usually follow from the same mistake."""
    first = error.errors(include_url=False)[0]
    loc = first["loc"]
    return EventRejected(f"{dotted(loc)}: {sentence(first)}", json_pointer(loc))

"""Opaque cursors and page sizes: the API's side of the keyset pagination that ``kg`` does in the store."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Final

import strawberry

MAX_PAGE: Final = 100
DEFAULT_PAGE: Final = 20


class BadArgumentError(ValueError):
    """An argument a client got wrong (cursor, page size, filter); ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise BadArgumentError("first", f"first must be between 1 and {MAX_PAGE}, got {first}")
    return first


def encode_cursor(kind: str, key: list[str], criteria: object) -> str:
    """A cursor names the kind of list it belongs to and a digest of what the list is of (its organisation, filter
    and status), so one from another list is refused, not misread: resumed in another list of the same kind, it
    would skip that list's rows before its key without an error."""
    return base64.urlsafe_b64encode(json.dumps([kind, _scope(criteria), *key]).encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None, parts: int, criteria: object | None) -> list[str] | None:
    """The key of a cursor of this kind of list; with ``criteria``, of this very list (None: its list is checked
    later, where the criteria are known)."""
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if (
        not isinstance(data, list)
        or len(data) != parts + 2
        or data[0] != kind
        or not all(isinstance(part, str) for part in data)
    ):
        raise BadArgumentError("after", f"not a cursor of this {kind} list: {cursor!r}")
    if criteria is not None and data[1] != _scope(criteria):
        raise BadArgumentError(
            "after",
            f"this cursor belongs to another {kind} list (another organisation, filter or status); "
            "ask for the first page again without `after`",
        )
    return data[2:]


def _scope(criteria: object) -> str:
    return hashlib.sha256(repr(criteria).encode()).hexdigest()[:12]

"""Why a SPARQL text was refused, in words a client can act on.

The parser's own message names a position and what it expected there: for an empty text "expected [_]", for an
update sent as a query "expected CONSTRUCT", for an undeclared prefix six hundred characters of Unicode ranges with
"Prefix not found" among them. The status stays 400; these say what to change instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Final, Literal

from api.federation import keywords, prefixed_names
from kg.answer_prefixes import declared_prefixes

QUERY_FORMS: Final = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
UPDATE_FORMS: Final = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})
_PROLOGUE: Final = frozenset({"PREFIX", "BASE"})
_POSITION: Final = re.compile(r"^error at \d+:\d+")


def explained(text: str, message: str, kind: Literal["query", "update"], known_prefixes: Collection[str] = ()) -> str:
    """The refusal of ``text`` (sent as ``kind``) whose parser said ``message``, as what to do about it."""
    form = first_keyword(text)
    if form is None:
        return f"the {kind} is empty (nothing but white space, comments or PREFIX and BASE declarations)"
    if kind == "query" and form in UPDATE_FORMS:
        return (
            f"this is a SPARQL update ({form}), sent as a query: POST it as update= (a form) or as "
            "application/sparql-update, with the update token"
        )
    if kind == "update" and form in QUERY_FORMS:
        return f"this is a SPARQL query ({form}), sent as an update: send it as query= or as application/sparql-query"
    if "Prefix not found" in message and (undeclared := undeclared_prefixes(text, known_prefixes)):
        position = _POSITION.match(message)
        where = f"{position.group(0)}: " if position else ""
        names = ", ".join(f"'{name}:'" for name in undeclared)
        return f"malformed {kind}: {where}the prefix {names} is not declared; add PREFIX {undeclared[0]}: <…>"
    return f"malformed {kind}: {message}"


def first_keyword(text: str) -> str | None:
    """The keyword after the prologue (PREFIX and BASE declarations): the form of a query or an update."""
    for word in keywords(text):
        if word not in _PROLOGUE:
            return word
    return None


def undeclared_prefixes(text: str, known: Collection[str]) -> list[str]:
    """The prefixes ``text`` uses without declaring them (nor being among ``known``), in order of first use."""
    declared = set(declared_prefixes(text)) | set(known)
    found: list[str] = []
    for name in prefixed_names(text):
        prefix = name.split(":", 1)[0]
        if prefix not in declared and prefix not in found:
            found.append(prefix)
    return found

"""A query's solutions read in one call, from pyoxigraph's TSV serialisation, rather than row by row.

Iterating ``QuerySolutions`` gives up the GIL and takes it back for every row. Alone that costs little; with
another thread running Python, every row waits for the GIL. Measured at 100,000 organisations on disk, a page's
50 violation records (668 rows of number, predicate and object): one thread 2.9 ms either way; two threads at once
8.2 ms a pair iterating, 4.0 ms a pair serialised, where the store decodes every row without the GIL and Python
then splits the text.

TSV (SPARQL 1.1 Query Results) writes each term in Turtle syntax, one row a line, tabs between, an empty field
where a variable is unbound; tabs, newlines, quotes and backslashes inside literals are escaped. So a caller can
take an IRI or an integer it selected straight from its field, and ``term`` builds any term: the common forms here
(IRIs, blank nodes, integers and booleans written bare, literals without a backslash, which then hold no quote
either), the others (an escape, a bare decimal or double, a quoted triple) with pyoxigraph's own TSV parser.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Final, TypeAlias

import pyoxigraph as ox

Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple

_TSV: Final = ox.QueryResultsFormat.TSV
_INTEGER: Final = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
_BOOLEAN: Final = ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")


def numbered_values(iris: Iterable[str]) -> str:
    """The rows of a ``VALUES (?n ?x)`` block that names each IRI by its index. A query that selects ``?n`` rather
    than the IRI spares the store decoding it (on disk, a lookup a row); the caller maps the number back."""
    return " ".join(f"({number} {ox.NamedNode(iri)})" for number, iri in enumerate(iris))


def rows(result: ox.QuerySolutions) -> list[list[str]]:
    """Every solution as its TSV fields, in the order of the query's variables ("" where unbound)."""
    lines = (result.serialize(format=_TSV) or b"").decode().split("\n")  # the header, each row, then ""
    if not lines[0]:
        return [[] for _ in lines[1:-1]]  # no variables: an empty line a solution
    return [line.split("\t") for line in lines[1:-1]]


def iri(field: str) -> str:
    """The IRI a field of a variable bound only to IRIs holds."""
    if not (field.startswith("<") and field.endswith(">")) or field.startswith("<<"):
        raise ValueError(f"not an IRI: {field!r}")
    return field[1:-1]


def value(field: str) -> str:
    """The value a bound field's term holds (``.value``: an IRI, a literal's lexical form, a blank node's id),
    read from the text for the common forms, without building the term."""
    first = field[:1]
    if first == "<" and not field.startswith("<<"):
        return field[1:-1]
    if first == '"' and "\\" not in field:
        return field[1 : field.rindex('"')]
    found = term(field)
    if not isinstance(found, ox.NamedNode | ox.BlankNode | ox.Literal):
        raise ValueError(f"no term with a value: {field!r}")
    return found.value


def term(field: str) -> Term | None:
    """The term a field holds (None: unbound)."""
    if not field:
        return None
    if "\\" not in field:
        try:
            found = _plain_term(field)
        except ValueError:  # a term pyoxigraph refuses to build as read here
            found = None
        if found is not None:
            return found
    return _parsed(field)


def _plain_term(field: str) -> Term | None:
    first = field[0]
    if first == "<" and not field.startswith("<<"):
        return ox.NamedNode(field[1:-1])
    if first == '"':
        end = field.rindex('"')  # no backslash, so no quote inside the value
        rest = field[end + 1 :]
        if not rest:
            return ox.Literal(field[1:end])
        if rest[0] == "@":
            return ox.Literal(field[1:end], language=rest[1:])
        if rest.startswith("^^<"):
            return ox.Literal(field[1:end], datatype=_datatype(rest[3:-1]))
        return None
    if field.startswith("_:"):
        return ox.BlankNode(field[2:])
    if field.isascii() and (field.isdigit() or (first in "+-" and field[1:].isdigit())):
        return ox.Literal(field, datatype=_INTEGER)
    if field in ("true", "false"):
        return ox.Literal(field, datatype=_BOOLEAN)
    return None


@lru_cache(maxsize=256)
def _datatype(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _parsed(field: str) -> Term:
    """The field as pyoxigraph's TSV parser reads it."""
    parsed = ox.parse_query_results(f"?x\n{field}\n".encode(), format=_TSV)
    assert isinstance(parsed, ox.QuerySolutions)
    found = [value for solution in parsed for value in solution]
    assert len(found) == 1 and found[0] is not None, field
    return found[0]

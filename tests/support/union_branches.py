"""Constant objects inside UNION branches of a query: Oxigraph starts such a branch from the constant and scans every
match for every outer row (shapes/roles.ttl's header), so the queries the engine sends per batch must not hold one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rdflib import Variable
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue


def pattern_nodes(node: object) -> Iterator[CompValue]:
    """An algebra node and the nodes its pattern is made of (not its FILTER expressions: inside ``NOT EXISTS``
    the outer variables are bound already)."""
    if not isinstance(node, CompValue):
        return
    yield node
    for part in ("p", "p1", "p2"):
        if part in node:
            yield from pattern_nodes(node[part])


def branch_patterns(branch: object) -> Iterator[tuple[Any, Any, Any]]:
    return (triple for node in pattern_nodes(branch) if node.name == "BGP" for triple in node.triples)


def constant_objects_in_unions(query: str) -> set[tuple[str, str]]:
    """(predicate, object) of every triple pattern with a constant object inside a UNION branch of ``query``."""
    return {
        (str(predicate), str(obj))
        for union in pattern_nodes(prepareQuery(query).algebra)
        if union.name == "Union"
        for _, predicate, obj in [*branch_patterns(union["p1"]), *branch_patterns(union["p2"])]
        if not isinstance(obj, Variable)
    }

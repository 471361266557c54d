"""Parse each SPARQL text once while pyshacl runs (tests only).

pyshacl hands rdflib the same rule and constraint texts for every focus node, and rdflib parses them again each
time (pyparsing), which costs seconds per organisation. Caching the parsed algebra changes no result: the same
query is evaluated against the same graph.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import pytest
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.processor import SPARQLProcessor
from rdflib.plugins.sparql.sparql import Query


@cache
def _prepared(text: str, base: str | None, namespaces: frozenset[tuple[str, Any]]) -> Query:
    return translateQuery(parseQuery(text), base, dict(namespaces))


@contextmanager
def sparql_parsed_once() -> Iterator[None]:
    original = SPARQLProcessor.query

    def query(
        self: SPARQLProcessor,
        query: str | Query,
        initBindings: Mapping[str, Any] | None = None,  # noqa: N803 - rdflib's parameter names
        initNs: Mapping[str, Any] | None = None,  # noqa: N803
        base: str | None = None,
        DEBUG: bool = False,  # noqa: N803
    ) -> Mapping[str, Any]:
        if isinstance(query, str):
            query = _prepared(query, base, frozenset((initNs or {}).items()))
        return original(self, query, initBindings, initNs, base, DEBUG)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SPARQLProcessor, "query", query)
        yield

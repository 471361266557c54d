"""The dataset a SPARQL query names for itself (``FROM`` / ``FROM NAMED``).

obligraph's stores answer over the union of their named graphs, and both pyoxigraph's union option and Oxigraph
server's ``--union-default-graph`` then ignore a query's own ``FROM`` (0.5: ``SELECT … FROM <g>`` counted every
graph). A legal engineer who writes ``FROM <…/graph/regulations>`` means that graph alone, as SPARQL 1.1 says, so
the stores read the query's dataset here and run it without the union (embedded) or pass it as the Protocol's
``default-graph-uri`` / ``named-graph-uri`` (remote, where those override the server's default).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

_TOKENS: Final = re.compile(
    r'<[^<>"{}|^`\\\s]*>'  # an IRI, which may hold '#' or 'FROM'
    r'|"""[\s\S]*?"""'
    r"|'''[\s\S]*?'''"  # long strings
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"  # strings
    r"|\#[^\n]*"  # a comment
    r"|(?<![\w:?$])FROM(?=[\s<#])",  # the keyword (not ?from, not ex:FROM); FROM<g> needs no space
    re.IGNORECASE,
)
_GAP: Final = r"(?:\s|\#[^\n]*)*"  # white space and comments, which may stand between any two tokens
_SOURCE: Final = re.compile(
    rf"{_GAP}(?:(NAMED)(?=[\s<#]){_GAP})?(?:<([^<>\s]*)>|([A-Za-z][\w.-]*)?:([\w.-]*))", re.IGNORECASE
)
_PREFIX: Final = re.compile(r"PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^<>\s]*)>", re.IGNORECASE)


@dataclass(frozen=True)
class Dataset:
    """The graphs a query's ``FROM`` clauses (``default``) and ``FROM NAMED`` clauses (``named``) name."""

    default: tuple[str, ...]
    named: tuple[str, ...]


def declares_dataset(sparql: str) -> bool:
    """Whether the query has a ``FROM`` or ``FROM NAMED`` clause (strings, IRIs and comments skipped)."""
    return any(match.group(0).upper() == "FROM" for match in _tokens(sparql))


def _tokens(sparql: str) -> Iterator[re.Match[str]]:
    """The IRIs, strings, comments and ``FROM`` keywords of the query; none without the word (most queries)."""
    return _TOKENS.finditer(sparql) if "from" in sparql.lower() else iter(())


def dataset_of(sparql: str, prefixes: Mapping[str, str] | None = None) -> Dataset | None:
    """The dataset the query names, None when it names none. Prefixed names are expanded with the query's own
    ``PREFIX`` declarations, then ``prefixes``; a name with an undeclared prefix is left for the server to refuse."""
    keywords = [match for match in _tokens(sparql) if match.group(0).upper() == "FROM"]
    if not keywords:
        return None
    declared = {**(prefixes or {}), **{name or "": iri for name, iri in _PREFIX.findall(sparql)}}
    default: list[str] = []
    named: list[str] = []
    for match in keywords:
        source = _SOURCE.match(sparql, match.end())
        if source is None:
            continue
        is_named, iri, prefix, local = source.groups()
        if iri is None:
            base = declared.get(prefix or "")
            if base is None:
                continue
            iri = base + local
        (named if is_named else default).append(iri)
    return Dataset(tuple(default), tuple(named))

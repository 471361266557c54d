"""Obligation shapes compiled into batched SPARQL checks.

Every shape in ``shapes/obligations/`` is a SHACL node shape targeting ``og:Organisation`` with SPARQL-based
constraints (https://www.w3.org/TR/shacl/#sparql-constraints); pyshacl validates them as written and is the
reference. The engine runs the same SELECT text against the store, for many organisations at once:
``$this`` becomes ``?this`` and the validation-context pattern ``og:validationContext og:asOf ?asOf .`` is
replaced by a ``VALUES (?this ?asOf)`` block carrying each organisation with its own as-of date. One more
rewrite, for speed and with the same meaning: top-level ``FILTER NOT EXISTS`` become left joins
(``kg.absence`` says why and when they are equivalent). The shape cases and the differential test run pyshacl
on the shapes as written beside the engine, so both must agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rdflib import Graph, URIRef
from rdflib import Literal as Lit
from rdflib.term import Node

from kg.absence import rewrite_where
from ontology.namespaces import OG, SH, XSD

CONTEXT_PATTERN = re.compile(r"og:validationContext\s+og:asOf\s+\?asOf\s*\.")
THIS = re.compile(r"\$this\b")


class ShapeError(ValueError):
    """A shape the engine cannot compile; the message names the shape and the rule it breaks."""


_DATE = f"^^<{XSD.date}>"


def focus_values(focus: Sequence[tuple[URIRef, date]]) -> str:
    """The ``VALUES (?this ?asOf)`` block that binds each organisation with its own as-of date."""
    rows = " ".join(f'(<{organisation}> "{day.isoformat()}"{_DATE})' for organisation, day in focus)
    return f"VALUES (?this ?asOf) {{ {rows} }}"


@dataclass(frozen=True)
class Check:
    """One SPARQL constraint of one obligation shape."""

    shape: URIRef
    obligation: URIRef
    obligation_id: str
    severity: URIRef
    messages: dict[str, str]
    roles: frozenset[URIRef]
    query_head: str
    query_body: str

    def query_for(self, focus: Sequence[tuple[URIRef, date]]) -> str:
        return f"{self.query_head}{{ {focus_values(focus)} {self.query_body}"

    def dated_query_for(self, focus: Sequence[tuple[URIRef, date]]) -> str:
        """As ``query_for``, with each solution's ``?asOf`` projected: one query judges an organisation as of
        several days (``kg.owed_clocks``)."""
        head = self.query_head.rstrip()
        if not head.endswith("WHERE"):
            raise ShapeError(f"{self.shape}: cannot project ?asOf, the compiled head does not end with WHERE")
        return f"{head[: -len('WHERE')]} ?asOf WHERE {{ {focus_values(focus)} {self.query_body}"


def prefix_block(graph: Graph, constraint: Node) -> str:
    lines = []
    for prefixes in graph.objects(constraint, SH.prefixes):
        for declaration in graph.objects(prefixes, SH.declare):
            prefix = graph.value(declaration, SH.prefix)
            namespace = graph.value(declaration, SH.namespace)
            lines.append(f"PREFIX {prefix}: <{namespace}>")
    return "\n".join(sorted(set(lines)))


def _split_select(shape: URIRef, select: str) -> tuple[str, str]:
    """Cut ``SELECT … WHERE {`` from the pattern, dropping the context triple from the pattern."""
    if not CONTEXT_PATTERN.search(select):
        raise ShapeError(f"{shape}: the SELECT must read the date as 'og:validationContext og:asOf ?asOf .'")
    text = rewrite_where(THIS.sub("?this", CONTEXT_PATTERN.sub("", select, count=1)))
    match = re.search(r"\bWHERE\s*\{", text, flags=re.IGNORECASE)
    if match is None or "?this" not in text[: match.start()]:
        raise ShapeError(f"{shape}: the SELECT must project $this and have a WHERE clause")
    return text[: match.start()] + "WHERE ", text[match.end() :]


@dataclass(frozen=True)
class ObligationInfo:
    """What the engine needs of an obligation: its id and the roles it binds."""

    obligation_id: str
    roles: frozenset[URIRef]


def compile_checks(shapes_graph: Graph, obligations: Mapping[URIRef, ObligationInfo]) -> tuple[Check, ...]:
    """Compile every obligation shape; ``obligations`` (from the regulation graph) gives ids and bound roles."""
    checks = []
    for shape in sorted({URIRef(str(s)) for s in shapes_graph.subjects(OG.checksObligation, None)}):
        obligation = URIRef(str(shapes_graph.value(shape, OG.checksObligation)))
        info = obligations.get(obligation)
        if info is None:
            raise ShapeError(f"{shape}: checks {obligation}, which the regulation graph does not hold")
        obligation_id, roles = info.obligation_id, info.roles
        severity = URIRef(str(shapes_graph.value(shape, SH.severity) or SH.Violation))
        for constraint in shapes_graph.objects(shape, SH.sparql):
            select = shapes_graph.value(constraint, SH.select)
            if select is None:
                raise ShapeError(f"{shape}: a SPARQL constraint without sh:select")
            head, body = _split_select(shape, str(select))
            messages = {
                (m.language or "en"): str(m) for m in shapes_graph.objects(constraint, SH.message) if isinstance(m, Lit)
            }
            checks.append(
                Check(
                    shape=shape,
                    obligation=obligation,
                    obligation_id=str(obligation_id),
                    severity=severity,
                    messages=messages,
                    roles=roles,
                    query_head=f"{prefix_block(shapes_graph, constraint)}\n{head}",
                    query_body=body,
                )
            )
    return tuple(checks)

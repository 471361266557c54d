"""Deriving the roles organisations play, with their reasons, from rules kept as data.

The rules are SHACL-AF SPARQL rules (https://www.w3.org/TR/shacl-af/#SPARQLRule) in ``shapes/roles.ttl``:
each CONSTRUCTs role types (with every broader role) and a ``og:RoleAssignment`` naming the facts that
produced it. pyshacl can run them as written; the engine runs the same CONSTRUCT text for many
organisations at once (``$this`` bound by a ``VALUES`` block, with each organisation's as-of date), and
replaces those organisations' part of the derived graph in one update.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib import Literal as Lit

from kg.checks import CONTEXT_PATTERN, THIS, ShapeError, prefix_block
from kg.iris import Graphs
from kg.store import Store
from ontology.namespaces import OG, SH, XSD

DERIVED = f"<{Graphs.DERIVED}>"


@dataclass(frozen=True)
class RoleRule:
    rule: URIRef
    query_head: str
    query_body: str

    def query_for(self, focus: Sequence[tuple[URIRef, date]]) -> str:
        rows = " ".join(f"({org.n3()} {Lit(day.isoformat(), datatype=XSD.date).n3()})" for org, day in focus)
        return f"{self.query_head}{{ VALUES (?this ?asOf) {{ {rows} }} {self.query_body}"


def compile_rules(shapes_graph: Graph) -> tuple[RoleRule, ...]:
    rules = []
    for rule in sorted({URIRef(str(r)) for r in shapes_graph.subjects(SH.construct, None)}):
        construct = str(shapes_graph.value(rule, SH.construct))
        text = THIS.sub("?this", CONTEXT_PATTERN.sub("", construct, count=1))
        match = re.search(r"\bWHERE\s*\{", text, flags=re.IGNORECASE)
        if match is None:
            raise ShapeError(f"{rule}: a CONSTRUCT rule needs a WHERE clause")
        head = f"{prefix_block(shapes_graph, rule)}\n{text[: match.start()]}WHERE "
        rules.append(RoleRule(rule, head, text[match.end() :]))
    return tuple(rules)


class RoleDeriver:
    """Recomputes the derived roles of the given organisations."""

    def __init__(self, rules: Sequence[RoleRule]) -> None:
        self.rules = tuple(rules)

    def derive(self, store: Store, focus: Mapping[URIRef, date]) -> tuple[list[str], set[ox.Triple]]:
        """Run the rules on ``store`` (the workspace); return the update that replaces the organisations'
        derived roles in the main store, and the derived triples themselves."""
        if not focus:
            return [], set()
        rows = list(focus.items())
        triples: set[ox.Triple] = set()
        for rule in self.rules:
            result = store.query(rule.query_for(rows))
            triples.update(result)  # type: ignore[arg-type]
        values = " ".join(org.n3() for org in focus)
        clear = (
            f"DELETE {{ GRAPH {DERIVED} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {DERIVED} {{ "
            f"{{ VALUES ?org {{ {values} }} ?s {OG.isAssignedTo.n3()} ?org . ?s ?p ?o }} "
            f"UNION {{ VALUES ?s {{ {values} }} ?s ?p ?o }} }} }}"
        )
        if not triples:
            return [clear], triples
        body = " ".join(f"{t.subject} {t.predicate} {t.object} ." for t in sorted(triples, key=str))
        return [clear, f"INSERT DATA {{ GRAPH {DERIVED} {{ {body} }} }}"], triples

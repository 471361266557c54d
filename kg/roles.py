"""Deriving the roles organisations play, with their reasons, from rules kept as data.

The rules are SHACL-AF SPARQL rules (https://www.w3.org/TR/shacl-af/#SPARQLRule) in ``shapes/roles.ttl``:
each CONSTRUCTs role types (with every broader role) and a ``og:RoleAssignment`` naming the facts that
produced it. pyshacl can run them as written; the engine runs the same CONSTRUCT text for many
organisations at once (``$this`` bound by a ``VALUES`` block, with each organisation's as-of date), and
replaces those organisations' part of the derived graph in one update.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from rdflib import Graph, URIRef

from kg.checks import CONTEXT_PATTERN, THIS, ShapeError, focus_values, prefix_block
from kg.iris import Graphs
from kg.parallel import constructed
from kg.store import Store
from ontology.namespaces import OG, SH

DERIVED = f"<{Graphs.DERIVED}>"
RULES_ON_POOL_FROM: Final = 16
"""Below this many organisations the rules run on the calling thread (``kg.parallel``): measured, each rule over
one organisation is mostly parsing and planning, and the pool's handoff costs more than it saves (1 organisation:
1.12 ms here, 1.50 ms on the pool; 16: even; 64: 12.6 ms here, 9.8 ms on the pool)."""


@dataclass(frozen=True)
class RoleRule:
    rule: URIRef
    query_head: str
    query_body: str

    def query_for(self, focus: Sequence[tuple[URIRef, date]]) -> str:
        return f"{self.query_head}{{ {focus_values(focus)} {self.query_body}"


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

    def derive(self, store: Store, focus: Mapping[URIRef, date], stored: bytes) -> tuple[list[str], bytes]:
        """Run the rules on ``store`` (the workspace); return the update that turns the organisations' roles as
        the main store holds them (``stored``, see ``stored_roles``) into the derived ones, and the derived
        triples themselves (N-Triples). Roles seldom change, so the update is usually empty: rewriting them
        all (~50 triples an organisation) on every validation was a third of the write volume."""
        if not focus:
            return [], b""
        rows = list(focus.items())
        queries = [rule.query_for(rows) for rule in self.rules]
        triples = b"".join(constructed(store, queries, on_pool=len(rows) >= RULES_ON_POOL_FROM))
        derived, held = set(triples.splitlines()), set(stored.splitlines())
        operations = []
        if gone := held - derived - {b""}:
            operations.append(f"DELETE DATA {{ GRAPH {DERIVED} {{ {b' '.join(sorted(gone)).decode()} }} }}")
        if added := derived - held - {b""}:
            operations.append(f"INSERT DATA {{ GRAPH {DERIVED} {{ {b' '.join(sorted(added)).decode()} }} }}")
        return operations, triples


def stored_roles(store: Store, organisations: Iterable[URIRef]) -> bytes:
    """The organisations' derived roles and role assignments as a store holds them (N-Triples)."""
    values = " ".join(org.n3() for org in organisations)
    if not values:
        return b""
    return store.construct(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {DERIVED} {{ "
        f"{{ VALUES ?org {{ {values} }} ?s {OG.isAssignedTo.n3()} ?org . ?s ?p ?o }} "
        f"UNION {{ VALUES ?s {{ {values} }} ?s ?p ?o }} }} }}"
    )

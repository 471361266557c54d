"""Deriving the roles organisations play, with their reasons, from rules kept as data.

The rules are SHACL-AF SPARQL rules (https://www.w3.org/TR/shacl-af/#SPARQLRule) in ``shapes/roles.ttl``:
each CONSTRUCTs role types (with every broader role) and a ``og:RoleAssignment`` naming the facts that
produced it. pyshacl can run them as written; the engine runs the same CONSTRUCT text for many
organisations at once (``$this`` bound by a ``VALUES`` block, with each organisation's as-of date), and
replaces those organisations' part of the derived graph in one update.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from rdflib import Graph, URIRef

from kg import solutions
from kg.checks import CONTEXT_PATTERN, THIS, ShapeError, focus_values, prefix_block
from kg.iris import BASE, Graphs
from kg.parallel import constructed
from kg.store import Store
from ontology.namespaces import OG, SH

DERIVED = f"<{Graphs.DERIVED}>"
META: Final = f"<{Graphs.META}>"
ROLES_DIGEST: Final = URIRef(f"{BASE}meta#rolesDigest")
"""The digest of an organisation's triples in the derived graph (``roles_digest``), kept in the meta graph and
written in the same update as the triples it describes."""
_ASSIGNED_TO: Final = OG.isAssignedTo.n3().encode()
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

    def derive(
        self, store: Store, focus: Mapping[URIRef, date], digests: Mapping[URIRef, str]
    ) -> tuple[dict[URIRef, set[bytes]], bytes]:
        """Run the rules on ``store`` (the workspace); return the derived lines (N-Triples) of each organisation
        whose roles differ from those the main store holds (by their digests there, ``stored_role_digests``), and
        all the derived triples. Roles seldom change, so the first is usually empty."""
        if not focus:
            return {}, b""
        rows = list(focus.items())
        queries = [rule.query_for(rows) for rule in self.rules]
        triples = b"".join(constructed(store, queries, on_pool=len(rows) >= RULES_ON_POOL_FROM))
        changed = {
            org: lines
            for org, lines in by_organisation(triples, focus).items()
            if digests.get(org) != roles_digest(lines)
        }
        return changed, triples


def by_organisation(triples: bytes, focus: Iterable[URIRef]) -> dict[URIRef, set[bytes]]:
    """The derived lines of each organisation: those about it, and those about its role assignments (each names
    its organisation with ``og:isAssignedTo``)."""
    owners = {org.n3().encode(): org for org in focus}
    lines = set(triples.splitlines()) - {b""}
    for line in lines:
        subject, predicate, rest = line.split(b" ", 2)
        if predicate == _ASSIGNED_TO:
            owner = owners.get(rest.rsplit(b" ", 1)[0])
            if owner is not None:
                owners[subject] = owner
    grouped: dict[URIRef, set[bytes]] = {org: set() for org in focus}
    for line in lines:
        owner = owners.get(line.split(b" ", 1)[0])
        if owner is None:
            raise ShapeError(f"a role rule derived a triple about neither an organisation nor its assignment: {line!r}")
        grouped[owner].add(line)
    return grouped


def roles_digest(lines: Iterable[bytes]) -> str:
    """The same for the same derived triples of an organisation, whatever their order."""
    return hashlib.blake2b(b"\n".join(sorted(lines)), digest_size=16).hexdigest()


def role_update(main: Store, changed: Mapping[URIRef, set[bytes]]) -> list[str]:
    """The update that turns the changed organisations' roles in the main store into the derived ones, with their
    digests: only the triples that differ, so a role gained or lost writes a few triples, not the organisation's
    ~50 (measured, a stream where one event in six changes a role: rewriting them all tripled the write step). The
    pipeline sends it in one update with the rest of the batch, so a digest always describes the triples beside it.
    """
    if not changed:
        return []
    held = set(stored_roles(main, changed).splitlines()) - {b""}
    derived = {line for lines in changed.values() for line in lines}
    operations = []
    if gone := held - derived:
        operations.append(f"DELETE DATA {{ GRAPH {DERIVED} {{ {b' '.join(sorted(gone)).decode()} }} }}")
    values = " ".join(org.n3() for org in changed)
    operations.append(
        f"DELETE {{ GRAPH {META} {{ ?org {ROLES_DIGEST.n3()} ?old }} }} "
        f"WHERE {{ VALUES ?org {{ {values} }} GRAPH {META} {{ ?org {ROLES_DIGEST.n3()} ?old }} }}"
    )
    added = b" ".join(sorted(derived - held)).decode()
    digests = " ".join(f'{org.n3()} {ROLES_DIGEST.n3()} "{roles_digest(lines)}" .' for org, lines in changed.items())
    operations.append(f"INSERT DATA {{ GRAPH {DERIVED} {{ {added} }} GRAPH {META} {{ {digests} }} }}")
    return operations


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


def stored_role_digests(store: Store, organisations: Iterable[URIRef]) -> dict[URIRef, str]:
    """The digest of each organisation's roles and role assignments as the main store holds them (``roles_digest``),
    from the meta graph. Reading the digests, and the triples only of the organisations whose roles changed
    (``role_update``), spares the store decoding ~50 triples an organisation (measured, 500 organisations of 10,000
    on disk: 449–601 ms for their triples)."""
    wanted = list(organisations)
    if not wanted:
        return {}
    values = solutions.numbered_values(wanted)
    rows = store.select_fields(
        f"SELECT ?n ?digest WHERE {{ VALUES (?n ?org) {{ {values} }} "
        f"GRAPH {META} {{ ?org {ROLES_DIGEST.n3()} ?digest }} }}"
    )
    return {wanted[int(number)]: solutions.value(digest) for number, digest in rows}

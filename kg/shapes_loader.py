"""Loading the obligation shapes and role rules, compiled against the regulation graph in the store."""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox
from rdflib import Graph, URIRef

import shapes
from kg.checks import Check, ObligationInfo, compile_checks
from kg.iris import Graphs
from kg.roles import RoleRule, compile_rules
from kg.store import Store
from ontology.namespaces import OG, SKOS


def obligation_index(store: Store) -> dict[URIRef, ObligationInfo]:
    """Every obligation's id and bound roles, in one query (start-up stays fast: no rdflib graph is built)."""
    rows = store.select(
        f"SELECT ?o ?id ?role WHERE {{ GRAPH <{Graphs.REGULATIONS}> {{ ?o a {OG.Obligation.n3()} ; "
        f"{SKOS.notation.n3()} ?id OPTIONAL {{ ?o {OG.bindsRole.n3()} ?role }} }} }}"
    )
    ids: dict[URIRef, str] = {}
    roles: dict[URIRef, set[URIRef]] = defaultdict(set)
    for row in rows:
        obligation, notation, role = row["o"], row["id"], row.get("role")
        assert isinstance(obligation, ox.NamedNode) and isinstance(notation, ox.Literal)
        ids[URIRef(obligation.value)] = notation.value
        if isinstance(role, ox.NamedNode):
            roles[URIRef(obligation.value)].add(URIRef(role.value))
    return {iri: ObligationInfo(ids[iri], frozenset(roles[iri])) for iri in ids}


def load_checks(store: Store, shapes_graph: Graph | None = None) -> tuple[Check, ...]:
    """The obligation checks, compiled from ``shapes_graph`` (default: the shapes as ``shapes`` loads them)."""
    graph = shapes.load_obligation_shapes() if shapes_graph is None else shapes_graph
    return compile_checks(graph, obligation_index(store))


def load_checks_and_rules(store: Store) -> tuple[tuple[Check, ...], tuple[RoleRule, ...]]:
    shapes_graph = shapes.load_obligation_shapes()
    return load_checks(store, shapes_graph), compile_rules(shapes_graph)

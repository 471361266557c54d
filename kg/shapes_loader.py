"""Loading the obligation shapes and role rules, compiled against the regulation graph."""

from __future__ import annotations

from functools import cache

from rdflib import Graph

import ontology
import shapes
from kg.checks import Check, compile_checks
from kg.regulations import build_regulation_graph
from kg.roles import RoleRule, compile_rules


@cache
def reference_graph() -> Graph:
    """Ontology plus regulation graph, in rdflib: what shapes are compiled against."""
    graph = ontology.load_ontology()
    graph += build_regulation_graph()
    return graph


@cache
def load_checks_and_rules() -> tuple[tuple[Check, ...], tuple[RoleRule, ...]]:
    shapes_graph = shapes.load_obligation_shapes()
    return compile_checks(shapes_graph, reference_graph()), compile_rules(shapes_graph)

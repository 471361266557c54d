"""SHACL shapes of obligraph. ``shapes/meta`` holds the meta-shapes that the ontology itself must meet.

This package may read ``ontology/`` and nothing else of obligraph's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from rdflib import Graph

__all__ = [
    "META_SHAPES",
    "OBLIGATION_SHAPE_FILES",
    "SHAPES_DIR",
    "load_meta_shapes",
    "load_obligation_shapes",
]

SHAPES_DIR: Final = Path(__file__).resolve().parent
META_SHAPES: Final = SHAPES_DIR / "meta" / "ontology-terms.ttl"
"""Every og: term has labels, a definition and a status; concepts have a notation and a scheme."""

OBLIGATION_SHAPE_FILES: Final[tuple[Path, ...]] = (
    SHAPES_DIR / "prefixes.ttl",
    SHAPES_DIR / "roles.ttl",
    *sorted((SHAPES_DIR / "obligations").glob("*.ttl")),
)
"""The role rules and one shape family per checkable obligation (``docs/organisation-graph.md``)."""


def load_meta_shapes() -> Graph:
    """The meta-shapes as a graph, to validate ``ontology.load_ontology()`` with pyshacl (default options)."""
    graph = Graph()
    graph.parse(META_SHAPES, format="turtle")
    return graph


def load_obligation_shapes() -> Graph:
    """Role rules and obligation shapes as one shapes graph (pyshacl needs ``advanced=True`` for the rules)."""
    graph = Graph()
    for path in OBLIGATION_SHAPE_FILES:
        graph.parse(path, format="turtle")
    return graph

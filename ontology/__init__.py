"""The obligraph ontology: OWL 2 classes and properties, role classes and SKOS schemes, as Turtle.

The Turtle files in this folder are the source of truth; ``ontology.namespaces`` is generated from them
(``python -m ontology.generate_namespaces``). This package imports nothing else of obligraph's, so every
other package can depend on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from rdflib import Graph

__all__ = ["OG_NS", "ONTOLOGY_DIR", "ONTOLOGY_FILES", "load_ontology"]

OG_NS: Final = "https://w3id.org/obligraph/ontology#"
"""The og: namespace. The ontology's own IRI is this without the ``#``."""

ONTOLOGY_DIR: Final = Path(__file__).resolve().parent
ONTOLOGY_FILES: Final[tuple[Path, ...]] = tuple(sorted(ONTOLOGY_DIR.glob("*.ttl")))


def load_ontology() -> Graph:
    """Parse every Turtle file of the ontology into one graph (no reasoning, no imports)."""
    graph = Graph()
    for path in ONTOLOGY_FILES:
        graph.parse(path, format="turtle")
    return graph

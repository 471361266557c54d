"""A small in-memory store where a batch of organisations is judged.

Role rules and obligation checks run here, not on the whole graph: the workspace holds the regulation graph
and the batch's organisations only (each organisation's nodes hang off it by a few links: its systems,
evidence, transfers and due dates), so the cost of a check depends on the batch, not on how many organisations
the store holds — and the main store may be remote. Shapes never cross organisations, so judging a copy gives
the verdict the whole graph would (``tests/test_differential.py`` holds the engine to pyshacl's whole-graph
validation).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import URIRef

from kg.iris import Graphs
from kg.store import OxigraphStore, Store
from ontology.namespaces import OG

_LINKS = " | ".join(link.n3() for link in (OG.hasAISystem, OG.hasEvidence, OG.hasTransfer, OG.hasDueDate))
_OWNED = f"({_LINKS} | {OG.hasAISystem.n3()}/{OG.hasDueDate.n3()})?"
"""From an organisation to every node it owns, itself included (zero-length path)."""


class Workspace:
    """Holds the regulation graph once; ``load`` replaces the organisations being judged."""

    def __init__(self, main: Store) -> None:
        self.main = main
        self.store = OxigraphStore(None)
        regulations = main.export_graph(Graphs.REGULATIONS, ox.RdfFormat.N_TRIPLES)
        self.store.replace_graph(Graphs.REGULATIONS, regulations, ox.RdfFormat.N_TRIPLES)

    def load(self, organisations: Iterable[URIRef]) -> None:
        """Copy the organisations' own triples from the main store (derived roles are recomputed here)."""
        self.store.drop_graph(Graphs.ORGANISATIONS)
        self.store.drop_graph(Graphs.DERIVED)
        values = " ".join(org.n3() for org in organisations)
        if not values:
            return
        triples = self.main.construct(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?org {{ {values} }} "
            f"GRAPH <{Graphs.ORGANISATIONS}> {{ ?org {_OWNED} ?s . ?s ?p ?o }} }}"
        )
        self.store.add_to_graph(Graphs.ORGANISATIONS, triples, ox.RdfFormat.N_TRIPLES)

    def add_derived(self, ntriples: bytes) -> None:
        self.store.add_to_graph(Graphs.DERIVED, ntriples, ox.RdfFormat.N_TRIPLES)

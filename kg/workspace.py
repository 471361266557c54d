"""A small in-memory store where a batch of organisations is judged.

Role rules and obligation checks run here, not on the whole graph: the workspace holds the regulation graph
and the batch's organisations only (each organisation's nodes hang off it by a few links: its systems,
evidence, transfers and due dates), so the cost of a check depends on the batch, not on how many organisations
the store holds — and the main store may be remote. Shapes never cross organisations, so judging a copy gives
the verdict the whole graph would (``tests/test_differential.py`` holds the engine to pyshacl's whole-graph
validation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final

import pyoxigraph as ox
from rdflib import URIRef

from kg.iris import Graphs
from kg.parallel import constructed
from kg.store import OxigraphStore, Store
from ontology.namespaces import OG

_LINKS = " | ".join(link.n3() for link in (OG.hasAISystem, OG.hasEvidence, OG.hasTransfer, OG.hasDueDate))
_OWNED = f"({_LINKS} | {OG.hasAISystem.n3()}/{OG.hasDueDate.n3()})?"
"""From an organisation to every node it owns, itself included (zero-length path)."""


def owned_pattern(organisations: Iterable[URIRef]) -> str:
    """The graph pattern binding ``?s ?p ?o`` to every triple of the organisations' own nodes."""
    values = " ".join(org.n3() for org in organisations)
    return f"GRAPH <{Graphs.ORGANISATIONS}> {{ VALUES ?org {{ {values} }} ?org {_OWNED} ?s . ?s ?p ?o }}"


def copy_query(organisations: Iterable[URIRef]) -> str:
    return f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {owned_pattern(organisations)} }}"


ROTATE_AFTER_QUADS: Final = 20_000
"""pyoxigraph's in-memory store keeps every removed quad as a dead version that later scans still walk (0.5.13:
after 5,000 load-and-drop cycles of 200 quads a query costs 100 times what it costs on a fresh store, and the
memory is never given back). So once this many quads have passed through it, the workspace moves to a fresh store
instead of dropping the last batch's graphs. The fresh store (the regulation graph loaded: 10–25 ms) is built ahead,
on a background thread (pyoxigraph parses without holding the GIL), so no event waits for it: built on the spot,
it was the slowest 1 % of one-event batches."""

_BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="obligraph-workspace")


def _release(store: OxigraphStore) -> None:
    """Holds the last reference to a retired store until the builder's thread runs it, and drops it there."""
    del store


class Workspace:
    """Holds the regulation graph; ``load`` replaces the organisations being judged."""

    def __init__(self, main: Store) -> None:
        self.main = main
        self._regulations = main.export_graph(Graphs.REGULATIONS, ox.RdfFormat.N_TRIPLES)
        self.store = self._fresh_store()
        self._spare: Future[OxigraphStore] = _BUILDER.submit(self._fresh_store)
        self._quads_written = 0

    def _fresh_store(self) -> OxigraphStore:
        store = OxigraphStore(None)
        store.add_copy(Graphs.REGULATIONS, self._regulations, ox.RdfFormat.N_TRIPLES)
        return store

    def load(self, organisations: Iterable[URIRef]) -> None:
        """Copy the organisations' own triples from the main store (derived roles are recomputed here).

        Two CONSTRUCTs, each over half the organisations, on the query threads (``kg.parallel``): the store reads
        without the GIL, so on disk the halves and the pipeline's other reads of the batch overlap (measured, 480
        organisations of 10,000 with their stored roles and violations: 744–778 ms, against 1,165 ms read from the
        index by this thread)."""
        self._clear()
        wanted = list(organisations)
        halves = [half for half in (wanted[::2], wanted[1::2]) if half]
        for triples in constructed(self.main, [copy_query(half) for half in halves]):
            self.store.add_copy(Graphs.ORGANISATIONS, triples, ox.RdfFormat.N_TRIPLES)
            self._quads_written += triples.count(b"\n")

    def load_changed(self, organisations: Iterable[URIRef], before: Iterable[bytes], changes: Sequence[str]) -> bytes:
        """Load the organisations as ``load`` would, from their triples as read before ``changes`` (the update
        operations their events made) were applied to the main store: the same operations, applied to the copy,
        make the same triples, without reading them again (``kg.deltas``). What the operations leave that the
        organisations no longer own is dropped, as ``load`` would not copy it."""
        self._clear()
        self.store.add_copy(Graphs.ORGANISATIONS, b"".join(before), ox.RdfFormat.N_TRIPLES)
        if changes:
            self.store.update(" ;\n".join(changes))
        owned = self.store.construct(copy_query(organisations))
        lines = owned.count(b"\n")
        self._quads_written += lines
        if self.store.count_triples(str(Graphs.ORGANISATIONS)) != lines:
            self.store.drop_graph(Graphs.ORGANISATIONS)
            self.store.add_copy(Graphs.ORGANISATIONS, owned, ox.RdfFormat.N_TRIPLES)
            self._quads_written += lines
        return owned

    def _clear(self) -> None:
        """Drop the last batch's organisations, or move to a fresh store (``ROTATE_AFTER_QUADS``)."""
        if self._quads_written > ROTATE_AFTER_QUADS:
            retired, self.store, self._quads_written = self.store, self._spare.result(), 0
            self._spare = _BUILDER.submit(self._fresh_store)
            # Freeing a used store takes 5–8 ms (measured alone), so the builder's thread drops the last reference,
            # after it built the next spare (measured, 3,000 one-event batches: the 30 that rotated took 15.7 ms at
            # the median against 17.3 ms freeing it here; the others 14.8 ms both ways).
            _BUILDER.submit(_release, retired)
            del retired
        else:
            self.store.drop_graph(Graphs.ORGANISATIONS)
            self.store.drop_graph(Graphs.DERIVED)

    @property
    def regulations(self) -> bytes:
        """The regulation graph every workspace holds (N-Triples)."""
        return self._regulations

    def owned(self, organisation: URIRef) -> bytes:
        """One loaded organisation's own triples, as ``load`` copied them."""
        return self.store.construct(copy_query([organisation]))

    def add_derived(self, ntriples: bytes) -> None:
        self.store.add_copy(Graphs.DERIVED, ntriples, ox.RdfFormat.N_TRIPLES)
        self._quads_written += ntriples.count(b"\n")

"""Building the knowledge graph's fixed part (ontology and regulations) into a store.

A build is keyed by a fingerprint of its inputs (the ontology Turtle, the vendored reference data and the
code that turns it into RDF). Start-up compares the fingerprint stored in the meta graph with the current one
and rebuilds only when they differ, so a warm start costs a single ASK query. The fingerprint is written
last: a build interrupted half-way is redone on the next start.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

import ontology
import shapes
from kg import iris
from kg.iris import Graphs
from kg.store import Store
from ontology.namespaces import OG

_KG_DIR = Path(__file__).parent
_BUILD_INPUTS = (
    *ontology.ONTOLOGY_FILES,
    *shapes.OBLIGATION_SHAPE_FILES,
    *sorted((_KG_DIR / "reference").glob("*.yaml")),
    _KG_DIR / "reference_data.py",
    _KG_DIR / "regulations.py",
    Path(__file__),
)
_FINGERPRINT = iris.build_fingerprint_predicate()
_BUILD_NODE = iris.build_record()

Progress = Callable[[str], None]

_MARK_CHECKABLE = (
    f"DELETE {{ GRAPH <{Graphs.REGULATIONS}> {{ ?o <{OG.isMachineCheckable}> false }} }} "
    f"INSERT {{ GRAPH <{Graphs.REGULATIONS}> {{ ?o <{OG.isMachineCheckable}> true }} }} "
    f"WHERE {{ GRAPH <{Graphs.SHAPES}> {{ ?shape <{OG.checksObligation}> ?o }} }}"
)
"""Obligations a shape checks are machine-checkable; the rest stay marked not machine-checkable."""


@dataclass(frozen=True)
class BuildReport:
    rebuilt: bool
    fingerprint: str
    seconds: float
    triples: dict[str, int]


def input_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in _BUILD_INPUTS:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current(store: Store, fingerprint: str | None = None) -> bool:
    fingerprint = fingerprint or input_fingerprint()
    return store.ask(f'ASK {{ GRAPH <{Graphs.META}> {{ <{_BUILD_NODE}> <{_FINGERPRINT}> "{fingerprint}" }} }}')


def ensure_built(store: Store, *, force: bool = False, progress: Progress | None = None) -> BuildReport:
    """Load the ontology and the regulation graph unless the store already holds this exact build."""
    started = time.perf_counter()
    fingerprint = input_fingerprint()
    if not force and is_current(store, fingerprint):
        return BuildReport(False, fingerprint, time.perf_counter() - started, {})

    from kg.regulations import regulation_turtle  # built only when needed: keeps warm start-up lean

    say = progress or (lambda _message: None)
    say("loading the ontology")
    ontology_turtle = ontology.load_ontology().serialize(format="turtle").encode()
    store.replace_graph(Graphs.ONTOLOGY, ontology_turtle, ox.RdfFormat.TURTLE)
    say("building the regulation graph")
    store.replace_graph(Graphs.REGULATIONS, regulation_turtle(), ox.RdfFormat.TURTLE)
    say("loading the obligation shapes")
    shapes_turtle = shapes.load_obligation_shapes().serialize(format="turtle").encode()
    store.replace_graph(Graphs.SHAPES, shapes_turtle, ox.RdfFormat.TURTLE)
    store.update(_MARK_CHECKABLE)
    say("recording the build")
    store.update(
        f"DELETE WHERE {{ GRAPH <{Graphs.META}> {{ <{_BUILD_NODE}> <{_FINGERPRINT}> ?old }} }};\n"
        f'INSERT DATA {{ GRAPH <{Graphs.META}> {{ <{_BUILD_NODE}> <{_FINGERPRINT}> "{fingerprint}" }} }}'
    )
    triples = {graph: store.count_triples(graph) for graph in (Graphs.ONTOLOGY, Graphs.REGULATIONS, Graphs.SHAPES)}
    return BuildReport(True, fingerprint, time.perf_counter() - started, triples)

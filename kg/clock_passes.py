"""The day the clock last judged every organisation as of, kept in the graph.

``serve`` re-validates everyone every interval; a server that was down when a day began would otherwise wait a
whole interval after it starts before anyone's deadlines are seen to fall due. With the day of the last complete
pass stored, it catches up at start when a day was missed, and a restart on a day already passed costs nothing
(a pass over 100,000 organisations takes about 20 minutes on 2 cores). The stored day only moves forward; a
pass as of a later day (``obligraph revalidate --as-of``) counts too, and only spares the catch-up: the passes
every interval go on regardless.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import pyoxigraph as ox
from rdflib import Literal as Lit
from rdflib import URIRef

from kg.forward_only import moved_forward
from kg.iris import BASE, Graphs
from kg.store import Store
from ontology.namespaces import XSD

META: Final = f"<{Graphs.META}>"
CLOCK: Final = URIRef(f"{BASE}meta#clock")
LAST_PASS: Final = URIRef(f"{BASE}meta#lastPassAsOf")


def last_pass(store: Store) -> date | None:
    """The latest day a complete clock pass was judged as of, or None before the first."""
    rows = store.select(f"SELECT ?day WHERE {{ GRAPH {META} {{ {CLOCK.n3()} {LAST_PASS.n3()} ?day }} }}")
    days = [term.value for row in rows if isinstance(term := row.get("day"), ox.Literal)]
    return max((date.fromisoformat(day) for day in days), default=None)


def record_pass(day: date) -> str:
    """The update that stores ``day`` as the last pass unless a later one is stored (in the store, so two writers
    racing cannot move it back)."""
    return moved_forward(LAST_PASS, [(CLOCK.n3(), Lit(day.isoformat(), datatype=XSD.date).n3())])

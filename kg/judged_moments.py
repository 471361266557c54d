"""The latest moment each organisation has been judged as of, so that time never runs backwards for it.

An event is judged as of its own time, on the organisation as the graph now holds it. An event sent late (a
backfill, a producer that was offline) may be dated before a moment the organisation was already judged as of,
by the clock or by a later event: judged as of its own date it would see deadlines that have since passed as not
yet due, resolve their violations, and the next clock pass would reopen them — a spurious episode, published.
So the pipeline judges an event as of the later of its time and the organisation's stored moment
(``og:judgedAsOf`` in the meta graph), which every validation moves forward and never back. The clock is judged as
of the day its caller asked for, unless the organisation was already judged as of a later day (``obligraph
revalidate --as-of`` looking back): then as of that moment, for the same reason, so looking back re-judges only the
organisations no one has judged since that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

import pyoxigraph as ox
from rdflib import URIRef

from kg.forward_only import moved_forward
from kg.iris import Graphs
from kg.store import Store
from ontology.namespaces import OG, XSD

META: Final = f"<{Graphs.META}>"
_JUDGED: Final = OG.judgedAsOf.n3()
_DATETIME: Final = XSD.dateTime.n3()


def judged_moments(store: Store, organisations: Iterable[URIRef]) -> dict[URIRef, datetime]:
    """The stored moment of each organisation that has one."""
    values = " ".join(org.n3() for org in organisations)
    if not values:
        return {}
    rows = store.select(f"SELECT ?org ?at WHERE {{ VALUES ?org {{ {values} }} GRAPH {META} {{ ?org {_JUDGED} ?at }} }}")
    moments: dict[URIRef, datetime] = {}
    for row in rows:
        org, at = row["org"], row["at"]
        if isinstance(org, ox.NamedNode) and isinstance(at, ox.Literal):
            moment = datetime.fromisoformat(at.value)
            key = URIRef(org.value)
            moments[key] = max(moment, moments.get(key, moment))  # two racing writers may leave two
    return moments


def judged_after(store: Store, moment: datetime) -> int:
    """How many organisations have been judged as of a moment later than ``moment``: one count in the store, not a
    read of every organisation's moment."""
    literal = f'"{moment.isoformat()}"^^{_DATETIME}'
    rows = store.select(
        f"SELECT (COUNT(DISTINCT ?org) AS ?n) WHERE {{ GRAPH {META} {{ ?org {_JUDGED} ?at FILTER(?at > {literal}) }} }}"
    )
    [row] = rows
    count = row["n"]
    assert isinstance(count, ox.Literal)
    return int(count.value)


def judged_as_of(store: Store, organisation: str) -> datetime | None:
    """One organisation's stored moment (by IRI), or None before its first validation."""
    return judged_moments(store, [URIRef(organisation)]).get(URIRef(organisation))


def record_judged(
    moments: Mapping[URIRef, datetime], held: Mapping[URIRef, datetime], *, not_after: datetime
) -> list[str]:
    """The update that stores each organisation's moment where it is later than the one ``held`` (as read before
    the validation); the store checks again (``kg.forward_only``), so a writer that raced ahead is not moved back.
    A moment after ``not_after`` (now) is stored as ``not_after``: an event dated in the future (a skewed clock) or
    a look-ahead ``revalidate`` is judged as of its own time, but does not drag the organisation's later events
    into the future with it."""
    capped = {org: min(at, not_after) for org, at in moments.items()}
    forward = [(org, at) for org, at in capped.items() if org not in held or held[org] < at]
    if not forward:
        return []
    return [moved_forward(OG.judgedAsOf, [(org.n3(), f'"{at.isoformat()}"^^{_DATETIME}') for org, at in forward])]

"""Values the meta graph keeps that only ever move forward: the day of the clock's last complete pass
(``kg.clock_passes``) and the moment each organisation was last judged as of (``kg.judged_moments``).

Each is written by an update the store itself checks — a stored value is replaced only by a later one — so two
writers racing (a worker and ``serve``'s clock on one remote store) cannot move one back. Kafka positions
(``kg.positions``) follow the same rule with more triples per position.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from rdflib import URIRef

from kg.iris import Graphs

META: Final = f"<{Graphs.META}>"


def moved_forward(predicate: URIRef, values: Iterable[tuple[str, str]]) -> str:
    """The update that stores each (subject, value) pair, both in N-Triples, as the subject's ``predicate`` in
    the meta graph unless the stored value is as late or later."""
    rows = " ".join(f"({subject} {value})" for subject, value in values)
    stored = f"GRAPH {META} {{ ?subject {predicate.n3()} ?old }}"
    return (
        f"DELETE {{ {stored} }} INSERT {{ GRAPH {META} {{ ?subject {predicate.n3()} ?new }} }} "
        f"WHERE {{ VALUES (?subject ?new) {{ {rows} }} OPTIONAL {{ {stored} }} FILTER(!BOUND(?old) || ?old < ?new) }}"
    )

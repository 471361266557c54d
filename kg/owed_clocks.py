"""Which running clocks an organisation still owes: the ``DUE`` of ``kg.compliance``.

A clock (``og:hasDueDate``, ``kg.due_dates``) stays in the graph after its duty is done: a filing made three days
after launch leaves the filing clock's due date in place, and the shape that reads it finds nothing once the due
date has passed. So a clock whose date is still ahead says only that a deadline exists, not that anything is owed.
Whether it is owed is what the obligation's own check says when judged, on the facts as they stand, as of the day
after the due date: a finding on the clock's owner (the organisation, or its system) means that, if nothing else
happens, a violation opens then. The checks are the engine's (``kg.checks``), run on the store for this one
organisation, each query judging it as of several days at once (``Check.dated_query_for``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import date, timedelta
from typing import Final

import pyoxigraph as ox
from rdflib import URIRef

import shapes
from kg.catalog import PREFIXES, PerBuild
from kg.checks import Check, compile_checks
from kg.iris import Graphs
from kg.parallel import selected
from kg.shapes_loader import obligation_index
from kg.store import Store
from ontology.namespaces import XSD

ORGANISATIONS: Final = f"<{Graphs.ORGANISATIONS}>"
_CHECKS: Final[PerBuild[tuple[Check, ...]]] = PerBuild()


def _checks(store: Store, fingerprint: str | None) -> tuple[Check, ...]:
    """The obligation checks, compiled once per build of the fixed graphs (the shapes are part of it)."""
    return _CHECKS.get(fingerprint, lambda: compile_checks(shapes.load_obligation_shapes(), obligation_index(store)))


def _clocks_ahead(store: Store, organisation: str, as_of: date) -> list[tuple[str, str, date]]:
    """``(obligation, owner, due)`` of every clock of the organisation or a live system due on or after the day."""
    day = ox.Literal(as_of.isoformat(), datatype=ox.NamedNode(str(XSD.date)))
    org = f"<{organisation}>"
    rows = store.select(
        f"{PREFIXES}SELECT ?o ?owner ?due WHERE {{ GRAPH {ORGANISATIONS} {{ "
        f"{{ {org} og:hasDueDate ?clock BIND({org} AS ?owner) }} UNION {{ {org} og:hasAISystem ?owner . "
        "?owner og:hasDueDate ?clock "
        f"FILTER NOT EXISTS {{ ?owner og:retiredOn ?retired FILTER(?retired <= {day}) }} }} "
        f"?clock og:isDueFor ?o ; og:dueOn ?due FILTER(?due >= {day}) }} }}"
    )
    return [
        (row["o"].value, row["owner"].value, date.fromisoformat(row["due"].value[:10]))  # type: ignore[union-attr]
        for row in rows
    ]


def owed_due_dates(
    store: Store,
    organisation: str,
    as_of: date,
    fingerprint: str | None,
    among: Collection[str] | None = None,
    since: date | None = None,
) -> dict[str, date]:
    """The earliest due date on or after ``since`` (default ``as_of``) of each obligation (``among`` these IRIs)
    with a clock still owed, by obligation IRI. Each obligation's earliest due day is asked first, the later ones
    only where it is not owed: most often it is (a periodic clock always is), and each day asked is one more
    evaluation of the check."""
    days: dict[str, set[date]] = defaultdict(set)
    clocks = sorted(_clocks_ahead(store, organisation, since or as_of), key=lambda clock: clock[2])
    for obligation, _, due in clocks:
        if among is None or obligation in among:
            days[obligation].add(due + timedelta(days=1))
    checks = _checks(store, fingerprint)
    subject = URIRef(organisation)
    owed: dict[str, date] = {}
    first = {obligation: {min(asked)} for obligation, asked in days.items()}
    later = {obligation: asked - first[obligation] for obligation, asked in days.items()}
    for asked in (first, later):
        found = _findings(store, checks, subject, {o: d for o, d in asked.items() if o not in owed and d})
        for obligation, owner, due in clocks:
            if obligation not in owed and (obligation, owner, due + timedelta(days=1)) in found:
                owed[obligation] = due
    return owed


def _findings(
    store: Store, checks: Sequence[Check], subject: URIRef, days: Mapping[str, set[date]]
) -> set[tuple[str, str, date]]:
    """``(obligation, focus, day)`` of each finding of the obligations' checks, judged as of each of their days."""
    wanted = [check for check in checks if str(check.obligation) in days]
    queries = [
        check.dated_query_for([(subject, day) for day in sorted(days[str(check.obligation)])]) for check in wanted
    ]
    found: set[tuple[str, str, date]] = set()
    for check, rows in zip(wanted, selected(store, queries), strict=True):
        for row in rows:
            value, this, day = row.get("value"), row["this"], row["asOf"]
            focus = value if isinstance(value, ox.NamedNode) else this  # as kg.validation reads a finding
            found.add((str(check.obligation), focus.value, date.fromisoformat(day.value)))  # type: ignore[union-attr]
    return found

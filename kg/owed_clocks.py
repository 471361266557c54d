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
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import pyoxigraph as ox
from rdflib import URIRef

from kg import iris, vocabulary
from kg.catalog import PREFIXES, PerBuild
from kg.checks import Check
from kg.due_dates import CLOCKS, counts_working_days
from kg.iris import Graphs
from kg.parallel import selected
from kg.shapes_loader import load_checks
from kg.store import Store
from kg.workdays import is_covered
from ontology.namespaces import XSD

ORGANISATIONS: Final = f"<{Graphs.ORGANISATIONS}>"
_CHECKS: Final[PerBuild[tuple[Check, ...]]] = PerBuild()


def _checks(store: Store, fingerprint: str | None) -> tuple[Check, ...]:
    """The obligation checks, compiled once per build of the fixed graphs (the shapes are part of it)."""
    return _CHECKS.get(fingerprint, lambda: load_checks(store))


_IN_WORKING_DAYS: Final = frozenset(
    (str(iris.obligation(clock.obligation)), str(vocabulary.anchor(clock.anchor)))
    for clock in CLOCKS
    if counts_working_days(clock)
)
"""``(obligation, anchor)`` IRIs of the clocks counted in working days."""


@dataclass(frozen=True)
class OwedDue:
    """The earliest owed due date of an obligation, and whether it was counted in working days into a year the
    official holiday calendar does not cover (the fallback rule of ``kg.workdays``: an estimate)."""

    day: date
    estimated: bool


@dataclass(frozen=True)
class _Clock:
    obligation: str
    owner: str
    due: date
    estimated: bool


def _clocks_ahead(store: Store, organisation: str, as_of: date) -> list[_Clock]:
    """Every clock of the organisation or a live system due on or after the day."""
    day = ox.Literal(as_of.isoformat(), datatype=ox.NamedNode(str(XSD.date)))
    org = f"<{organisation}>"
    rows = store.select(
        f"{PREFIXES}SELECT ?o ?owner ?due ?anchor WHERE {{ GRAPH {ORGANISATIONS} {{ "
        f"{{ {org} og:hasDueDate ?clock BIND({org} AS ?owner) }} UNION {{ {org} og:hasAISystem ?owner . "
        "?owner og:hasDueDate ?clock "
        f"FILTER NOT EXISTS {{ ?owner og:retiredOn ?retired FILTER(?retired <= {day}) }} }} "
        f"?clock og:isDueFor ?o ; og:dueOn ?due FILTER(?due >= {day}) "
        "OPTIONAL { ?clock og:isRelativeTo ?anchor } } }"
    )
    clocks = []
    for row in rows:
        obligation, anchor = row["o"].value, row["anchor"].value if "anchor" in row else ""  # type: ignore[union-attr]
        due = date.fromisoformat(row["due"].value[:10])  # type: ignore[union-attr]
        estimated = (obligation, anchor) in _IN_WORKING_DAYS and not is_covered(due)
        clocks.append(_Clock(obligation, row["owner"].value, due, estimated))  # type: ignore[union-attr]
    return clocks


def owed_due_dates(
    store: Store,
    organisation: str,
    as_of: date,
    fingerprint: str | None,
    among: Collection[str] | None = None,
    since: date | None = None,
) -> dict[str, OwedDue]:
    """The earliest due date on or after ``since`` (default ``as_of``) of each obligation (``among`` these IRIs)
    with a clock still owed, by obligation IRI. Each obligation's earliest due day is asked first, the later ones
    only where it is not owed: most often it is (a periodic clock always is), and each day asked is one more
    evaluation of the check."""
    days: dict[str, set[date]] = defaultdict(set)
    clocks = sorted(_clocks_ahead(store, organisation, since or as_of), key=lambda clock: clock.due)
    for clock in clocks:
        if among is None or clock.obligation in among:
            days[clock.obligation].add(clock.due + timedelta(days=1))
    checks = _checks(store, fingerprint)
    subject = URIRef(organisation)
    owed: dict[str, OwedDue] = {}
    first = {obligation: {min(asked)} for obligation, asked in days.items()}
    later = {obligation: asked - first[obligation] for obligation, asked in days.items()}
    for asked in (first, later):
        found = _findings(store, checks, subject, {o: d for o, d in asked.items() if o not in owed and d})
        for clock in clocks:
            if clock.obligation in owed or (clock.obligation, clock.owner, clock.due + timedelta(days=1)) not in found:
                continue
            owed[clock.obligation] = OwedDue(clock.due, clock.estimated)
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

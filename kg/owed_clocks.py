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
from kg.foresight import Foresight
from kg.iris import Graphs
from kg.parallel import selected
from kg.role_assignments import RoleAssignment
from kg.roles import RoleRule
from kg.shapes_loader import load_checks_and_rules
from kg.store import Store
from kg.workdays import is_covered
from ontology.namespaces import XSD

ORGANISATIONS: Final = f"<{Graphs.ORGANISATIONS}>"
_COMPILED: Final[PerBuild[tuple[tuple[Check, ...], tuple[RoleRule, ...]]]] = PerBuild()


def compiled(store: Store, fingerprint: str | None) -> tuple[tuple[Check, ...], tuple[RoleRule, ...]]:
    """The obligation checks and role rules, compiled once per build of the fixed graphs (the shapes are part of
    it)."""
    return _COMPILED.get(fingerprint, lambda: load_checks_and_rules(store))


_IN_WORKING_DAYS: Final = frozenset(
    (str(iris.obligation(clock.obligation)), str(vocabulary.anchor(clock.anchor)))
    for clock in CLOCKS
    if counts_working_days(clock)
)
"""``(obligation, anchor)`` IRIs of the clocks counted in working days."""


@dataclass(frozen=True)
class Foreseen:
    """The roles an organisation will play on the day a clock of a system yet to launch was judged (its role types,
    broader ones included, and its role assignments with their reasons): why the obligation will bind."""

    roles: frozenset[str]
    assignments: tuple[RoleAssignment, ...]


@dataclass(frozen=True)
class OwedDue:
    """The earliest owed due date of an obligation, and whether it was counted in working days into a year the
    official holiday calendar does not cover (the fallback rule of ``kg.workdays``: an estimate). ``foreseen`` when
    the clock's owner is a system launching after the organisation's latest judgement: the roles that make the
    obligation bind are those of that day, not yet in the derived graph."""

    day: date
    estimated: bool
    foreseen: Foreseen | None = None


@dataclass(frozen=True)
class _Clock:
    obligation: str
    owner: str
    due: date
    estimated: bool
    launched: date | None
    """The owner's launch day, when the owner is a system."""

    def launches_after(self, day: date) -> bool:
        return self.launched is not None and self.launched > day


def _clocks_ahead(store: Store, organisation: str, as_of: date, *, any_due: bool = False) -> list[_Clock]:
    """Every clock of the organisation or a system live on the day, due on or after it (``any_due``: whenever)."""
    day = ox.Literal(as_of.isoformat(), datatype=ox.NamedNode(str(XSD.date)))
    org = f"<{organisation}>"
    due_filter = "" if any_due else f"FILTER(?due >= {day}) "
    rows = store.select(
        f"{PREFIXES}SELECT ?o ?owner ?due ?anchor ?launched WHERE {{ GRAPH {ORGANISATIONS} {{ "
        f"{{ {org} og:hasDueDate ?clock BIND({org} AS ?owner) }} UNION {{ {org} og:hasAISystem ?owner . "
        "?owner og:hasDueDate ?clock OPTIONAL { ?owner og:launchedOn ?launched } "
        f"FILTER NOT EXISTS {{ ?owner og:retiredOn ?retired FILTER(?retired <= {day}) }} }} "
        f"?clock og:isDueFor ?o ; og:dueOn ?due {due_filter}"
        "OPTIONAL { ?clock og:isRelativeTo ?anchor } } }"
    )
    clocks = []
    for row in rows:
        obligation, anchor = row["o"].value, row["anchor"].value if "anchor" in row else ""  # type: ignore[union-attr]
        due = date.fromisoformat(row["due"].value[:10])  # type: ignore[union-attr]
        estimated = (obligation, anchor) in _IN_WORKING_DAYS and not is_covered(due)
        launched = date.fromisoformat(row["launched"].value[:10]) if "launched" in row else None  # type: ignore[union-attr]
        clocks.append(_Clock(obligation, row["owner"].value, due, estimated, launched))  # type: ignore[union-attr]
    return clocks


def owed_due_dates(
    store: Store,
    organisation: str,
    as_of: date,
    fingerprint: str | None,
    among: Collection[str] | None = None,
    since: date | None = None,
    *,
    looking_back: bool = False,
    compiled_from: Store | None = None,
    launches: Mapping[str, date] | None = None,
    bound_before: Collection[str] = (),
    foresight: Foresight | None = None,
) -> dict[str, OwedDue]:
    """The earliest due date on or after ``since`` (default ``as_of``) of each obligation (``among`` these IRIs)
    with a clock still owed, by obligation IRI. Each obligation's earliest due day is asked first, the later ones
    only where it is not owed: most often it is (a periodic clock always is), and each day asked is one more
    evaluation of the check.

    ``since`` is the day the roles are known for (the organisation's latest judgement, whose roles the derived graph
    holds, or the day asked when it is earlier). The clocks of a system launching after it are judged with the roles
    the organisation will play on each day asked (``kg.foresight``), whatever obligations bind it on ``since``: its
    launch brings roles (and so obligations, ``among`` or not) not seen then, such as a security assessment owed
    before launch.

    ``looking_back``: ``store`` holds the organisation as it stood on ``as_of``, a day before its latest judgement
    (``kg.foresight``: roles derived then, what was done after it taken out). Clocks due before it count too, each
    judged as of ``as_of`` itself: a finding then means overdue and not done by that day. ``compiled_from`` is the
    store the checks are compiled from when ``store`` holds no shapes (a scratch copy).

    ``launches``: the organisation's systems launching after ``since``, with their launch days. What a system must
    have in place when it goes live (a real-identity check, labelling) has no clock in the graph: each check is
    judged on the launch day as a clock due the day before (``_launch_duties``), the system its owner, and the
    organisation its owner for the obligations it is not bound by before the launch (``bound_before``). ``foresight``:
    a scratch copy of the organisation already made, used instead of making another."""
    derived_on = since or as_of
    clocks = sorted(_clocks_ahead(store, organisation, derived_on, any_due=looking_back), key=lambda clock: clock.due)
    ahead = [clock for clock in clocks if clock.launches_after(derived_on)]
    current = [clock for clock in clocks if not clock.launches_after(derived_on)]
    checks, rules = compiled(compiled_from or store, fingerprint)
    ahead += _launch_duties(organisation, checks, launches or {}, bound_before)

    def asked(clock: _Clock) -> date:
        after_due = clock.due + timedelta(days=1)
        return max(after_due, as_of) if looking_back else after_due

    scratch = (foresight or Foresight(store, organisation, fingerprint, rules)) if ahead else None
    owed = _foreseen(scratch, checks, ahead) if scratch is not None else {}
    days: dict[str, set[date]] = defaultdict(set)
    for clock in current:
        if among is None or clock.obligation in among:
            days[clock.obligation].add(asked(clock))
    subject = URIRef(organisation)
    now: dict[str, OwedDue] = {}
    first = {obligation: {min(wanted)} for obligation, wanted in days.items()}
    later = {obligation: wanted - first[obligation] for obligation, wanted in days.items()}
    for days_asked in (first, later):
        found = check_findings(store, checks, subject, {o: d for o, d in days_asked.items() if o not in now and d})
        for clock in current:
            if clock.obligation in now or (clock.obligation, clock.owner, asked(clock)) not in found:
                continue
            now[clock.obligation] = OwedDue(clock.due, clock.estimated)
    for obligation, due in now.items():
        if obligation not in owed or due.day <= owed[obligation].day:
            owed[obligation] = due
    return owed


def _launch_duties(
    organisation: str, checks: Sequence[Check], launches: Mapping[str, date], bound_before: Collection[str]
) -> list[_Clock]:
    """A clock due the day before each launch for every obligation a check judges, owned by the launching system
    and, for the obligations not bound before it, by the organisation (the roles a launch brings bind it too): the
    clock's pass on the launch day judges the live system, so what must be in place then is owed by the day before.
    A check that finds nothing on that day (a duty with a clock of its own, not yet run out) owes nothing here."""
    obligations = sorted({str(check.obligation) for check in checks})
    duties = []
    for system, launched in sorted(launches.items()):
        due = launched - timedelta(days=1)
        duties += [_Clock(obligation, system, due, False, launched) for obligation in obligations]
        duties += [
            _Clock(obligation, organisation, due, False, launched)
            for obligation in obligations
            if obligation not in bound_before
        ]
    return duties


def _foreseen(foresight: Foresight, checks: Sequence[Check], clocks: Sequence[_Clock]) -> dict[str, OwedDue]:
    """The owed clocks among those of systems yet to launch, each judged as of the day after its due date with the
    roles of that day; the earliest day first, one role derivation a day."""
    by_day: dict[date, list[_Clock]] = defaultdict(list)
    for clock in clocks:
        by_day[clock.due + timedelta(days=1)].append(clock)
    owed: dict[str, OwedDue] = {}
    for day in sorted(by_day):
        wanted = {clock.obligation for clock in by_day[day]} - owed.keys()
        if not wanted:
            continue
        found = check_findings(foresight.as_of(day), checks, foresight.organisation, {o: {day} for o in wanted})
        foreseen = None
        for clock in by_day[day]:
            if clock.obligation in owed or (clock.obligation, clock.owner, day) not in found:
                continue
            foreseen = foreseen or Foreseen(foresight.roles(), tuple(foresight.role_assignments()))
            owed[clock.obligation] = OwedDue(clock.due, clock.estimated, foreseen)
    return owed


def check_findings(
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

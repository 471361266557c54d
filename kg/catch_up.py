"""The deadlines that ran out between an organisation's latest judgement and its next event.

With no clock running (a file ingested after the fact, a backfill, a worker without ``--clock``), a deadline is seen
at the organisation's next event. When that event is the one that meets the deadline late (the filing made a day
after it fell due), it is judged as of its own day with the filing in place, so the breach between the two was
never recorded. The clock, had it run, would have opened the violation the day after the deadline and the event
would have resolved it. So before an event is applied, each day after a deadline of its organisation that falls
after the latest judgement and on or before the event's day is judged as the clock would judge it
(``Pipeline._catch_up``): the history is the same as if the clock had run, however late the events come in.

The clock changes verdicts on other days too, and they are caught up the same way: the day a system the graph
already knows launches (what must be in place when it goes live is owed by the day before, ``kg.owed_clocks``)
or retires (its violations end), the day a control announced ahead holds from or is withdrawn on, the day a
transfer announced ahead starts or ends, and the day an instrument takes effect (its obligations start to bind:
the Labelling Measures on 1 September 2025).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Final

from rdflib import URIRef

from kg import solutions
from kg.iris import Graphs
from kg.judged_moments import judged_moments
from kg.organisations import as_of_date
from kg.store import Store
from ontology.namespaces import OG

ORGANISATIONS: Final = f"<{Graphs.ORGANISATIONS}>"


def clock_days_passed(store: Store, events_at: Mapping[URIRef, datetime]) -> dict[URIRef, list[date]]:
    """By organisation (with the time of its event), the days after its clocks' due dates that fall after the day of
    its latest judgement and on or before its event's day (and today), in order. An organisation never judged, or
    whose event is dated before its latest judgement, has none."""
    judged = judged_moments(store, events_at)
    since = {org: as_of_date(judged[org]) for org, at in events_at.items() if org in judged and at >= judged[org]}
    return turning_days(store, since, {org: as_of_date(events_at[org]) for org in since})


def turning_days(
    store: Store,
    after: Mapping[URIRef, date],
    until: Mapping[URIRef, date],
    *,
    deadlines: bool = True,
    past_only: bool = True,
) -> dict[URIRef, list[date]]:
    """By organisation, the days after ``after`` and on or before ``until`` (and today, with ``past_only``) on which
    the clock changes a verdict of its (the module docstring's), in order; without ``deadlines``, leaving out the days
    after its due dates (what ``kg.owed_clocks`` reads as owed, not broken)."""
    if not after:
        return {}
    # the catch-up judges no day to come, even for an event dated ahead; a dashboard's preview does
    today = as_of_date(datetime.now(UTC)) if past_only else date.max
    wanted = list(after)
    values = solutions.numbered_values([str(org) for org in wanted])
    link = f"{OG.hasDueDate.n3()} ?clock . ?clock {OG.dueOn.n3()} ?due }} UNION "
    clocks, system_clocks = (f"{{ ?org {link}", f"{{ ?system {link}") if deadlines else ("", "")
    rows = store.select_fields(
        f"SELECT DISTINCT ?n ?due ?on WHERE {{ VALUES (?n ?org) {{ {values} }} GRAPH {ORGANISATIONS} {{ "
        f"{clocks}"
        f"{{ ?org {OG.hasAISystem.n3()} ?system . "
        f"{system_clocks}"
        f"{{ ?system {OG.launchedOn.n3()} ?on }} UNION {{ ?system {OG.retiredOn.n3()} ?on }} }} UNION "
        f"{{ ?org {OG.hasEvidence.n3()} ?control . "  # only controls have these (no `a og:Control`: see below)
        f"{{ ?control {OG.since.n3()} ?on }} UNION {{ ?control {OG.withdrawnOn.n3()} ?on }} }} UNION "
        f"{{ ?org {OG.hasTransfer.n3()} ?transfer . "
        f"{{ ?transfer {OG.startedOn.n3()} ?on }} UNION {{ ?transfer {OG.endedOn.n3()} ?on }} }} }} }}"
    )
    # A constant object in a UNION branch (``?control a og:Control``) made Oxigraph scan every control of the store
    # for every organisation: 1,000 generated organisations loaded at 4 a second, and an event took ~50 ms.
    effective = taking_effect(store)
    days: dict[URIRef, set[date]] = defaultdict(set)
    for org in wanted:  # the clock's pass on the day an instrument takes effect
        days[org].update(day for day in effective if after[org] < day <= min(until[org], today))
    for number, due, on in rows:
        org = wanted[int(number)]
        # the day after a deadline, or the day of a launch, a retirement, a control's start or end, a transfer's
        day = date.fromisoformat(solutions.value(due)[:10]) + timedelta(days=1) if due else _day(on)
        if after[org] < day <= min(until[org], today):
            days[org].add(day)
    return {org: sorted(found) for org, found in days.items() if found}


def _day(field: str) -> date:
    return date.fromisoformat(solutions.value(field)[:10])


_EFFECTIVE: Final[weakref.WeakKeyDictionary[Store, frozenset[date]]] = weakref.WeakKeyDictionary()


def taking_effect(store: Store) -> frozenset[date]:
    """The days instruments take effect (``og:effectiveOn``), read once per store: the regulation graph is fixed
    while a store is open (a rebuild happens before it is)."""
    found = _EFFECTIVE.get(store)
    if found is None:
        rows = store.select_fields(
            f"SELECT DISTINCT ?on WHERE {{ GRAPH <{Graphs.REGULATIONS}> {{ "
            f"?i a {OG.Instrument.n3()} ; {OG.effectiveOn.n3()} ?on }} }}"
        )
        found = _EFFECTIVE[store] = frozenset(_day(on) for (on,) in rows)
    return found

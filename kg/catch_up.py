"""The deadlines that ran out between an organisation's latest judgement and its next event.

With no clock running (a file ingested after the fact, a backfill, a worker without ``--clock``), a deadline is seen
at the organisation's next event. When that event is the one that meets the deadline late (the filing made a day
after it fell due), it is judged as of its own day with the filing in place, so the breach between the two was
never recorded. The clock, had it run, would have opened the violation the day after the deadline and the event
would have resolved it. So before an event is applied, each day after a deadline of its organisation that falls
after the latest judgement and on or before the event's day is judged as the clock would judge it
(``Pipeline._catch_up``): the history is the same as if the clock had run, however late the events come in.
"""

from __future__ import annotations

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
    if not since:
        return {}
    today = as_of_date(datetime.now(UTC))  # an event dated ahead (a skewed clock) does not judge days to come
    wanted = list(since)
    values = solutions.numbered_values([str(org) for org in wanted])
    rows = store.select_fields(
        f"SELECT DISTINCT ?n ?due WHERE {{ VALUES (?n ?org) {{ {values} }} GRAPH {ORGANISATIONS} {{ "
        f"{{ ?org {OG.hasDueDate.n3()} ?clock }} UNION {{ ?org {OG.hasAISystem.n3()} ?system . "
        f"?system {OG.hasDueDate.n3()} ?clock }} ?clock {OG.dueOn.n3()} ?due }} }}"
    )
    days: dict[URIRef, set[date]] = defaultdict(set)
    for number, due in rows:
        org = wanted[int(number)]
        day = date.fromisoformat(solutions.value(due)[:10]) + timedelta(days=1)
        if since[org] < day <= min(as_of_date(events_at[org]), today):
            days[org].add(day)
    return {org: sorted(found) for org, found in days.items()}

"""Events delivered late and out of order: a state event dated before the one that last set a field leaves that
field as the later event set it (``kg.field_times``), so the graph ends as the events' times say, whatever order
they arrived in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kg import iris
from kg.events import Event, parse_event
from kg.iris import Graphs
from kg.pipeline import Pipeline
from kg.store import Store
from kg.violations import list_violations
from tests.support.cloudevents import ORG, cloudevent
from tests.support.shape_cases import clear


def event(name: str, kind: str, day: str, data: dict[str, Any]) -> Event:
    return parse_event(cloudevent(name, kind, f"{day}T10:00:00+08:00", data, ORG))


def organisation_graph(store: Store) -> set[str]:
    """The organisation graph's triples, as N-Triples lines."""
    rows = store.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{Graphs.ORGANISATIONS}> {{ ?s ?p ?o }} }}")
    return {f"{row['s']} {row['p']} {row['o']}" for row in rows}


def ingest(store: Store, events: Sequence[Event], *, one_at_a_time: bool = True) -> Pipeline:
    clear(store)
    pipeline = Pipeline.from_store(store)
    for batch in [[e] for e in events] if one_at_a_time else [list(events)]:
        result = pipeline.process(batch)
        assert not result.rejected, result.rejected
    return pipeline


REGISTER = event("reg", "organisation.registered", "2026-01-05", {"name": "Acme", "jurisdiction": "CN"})
CHAT = {"systemId": "chat", "name": "Chat", "capabilities": ["image-generation"], "launchedOn": "2026-02-02"}
LABEL = {"kind": "explicit-content-label", "systemId": "chat"}

HISTORY = (
    REGISTER,
    event("deploy", "aisystem.deployed", "2026-02-02", CHAT),
    event("label-on", "control.implemented", "2026-02-10", {**LABEL, "since": "2026-02-10"}),
    event("count-low", "organisation.updated", "2026-03-01", {"personalInformationSubjects": 500_000}),
    event("label-off", "control.withdrawn", "2026-03-02", {**LABEL, "since": "2026-03-02"}),
    event("redeploy", "aisystem.deployed", "2026-03-02", {**CHAT, "name": "Chat 2"}),
    event("rename", "organisation.updated", "2026-03-03", {"name": "Acme Ltd"}),
    event("count-high", "organisation.updated", "2026-04-01", {"personalInformationSubjects": 1_500_000}),
    event("label-on-again", "control.implemented", "2026-04-01", {**LABEL, "since": "2026-04-01"}),
    event(
        "export", "transfer.started", "2026-04-02", {"transferId": "x", "destination": "SG", "startedOn": "2026-04-02"}
    ),
    event("export-end", "transfer.ended", "2026-05-04", {"transferId": "x", "endedOn": "2026-05-04"}),
    event("retire", "aisystem.retired", "2026-05-06", {"systemId": "chat", "retiredOn": "2026-05-06"}),
)

# Each late event arrives after the later-dated events that set the same fields; the registration, the deployment
# and the start of the export still come first (an event about an organisation, system or transfer the graph does
# not know is rejected).
ARRIVAL: tuple[str, ...] = (
    *("reg", "deploy", "count-high", "label-on-again", "export", "export-end", "retire", "rename", "count-low"),
    *("label-off", "label-on", "redeploy"),
)


def test_events_out_of_order_leave_the_graph_the_events_times_say(store: Store) -> None:
    by_name = {e.id: e for e in HISTORY}
    ingest(store, HISTORY)
    in_time_order = organisation_graph(store)
    for one_at_a_time in (True, False):
        ingest(store, [by_name[name] for name in ARRIVAL], one_at_a_time=one_at_a_time)
        assert organisation_graph(store) == in_time_order


def test_a_late_update_leaves_a_later_value_and_sets_the_fields_no_later_event_set(store: Store) -> None:
    """The count of 1,500,000 people (1 April) arrives before that of 500,000 (1 March): the organisation keeps
    1,500,000, so it must appoint a protection officer (PIPL-06); a rename dated between them still applies."""
    count_high, rename, count_low = (
        event(n, "organisation.updated", d, v)
        for n, d, v in (
            ("c-high", "2026-04-01", {"personalInformationSubjects": 1_500_000}),
            ("r", "2026-03-03", {"name": "Acme Ltd"}),
            ("c-low", "2026-03-01", {"personalInformationSubjects": 500_000, "name": "Acme Old"}),
        )
    )
    ingest(store, [REGISTER, count_high, rename, count_low])
    org = iris.organisation(ORG)
    rows = store.select(
        f"SELECT ?count ?name WHERE {{ GRAPH <{Graphs.ORGANISATIONS}> {{ <{org}> "
        "<https://w3id.org/obligraph/ontology#personalInformationSubjects> ?count ; "
        "<http://www.w3.org/2000/01/rdf-schema#label> ?name } }"
    )
    assert [(row["count"].value, row["name"].value) for row in rows] == [("1500000", "Acme Ltd")]  # type: ignore[union-attr]


def test_a_late_withdrawal_does_not_undo_a_later_implementation(store: Store) -> None:
    """The label of a public image generator: in place from 10 February, withdrawn on 2 March, in place again from
    1 April; the withdrawal arrives last. LBL-01 (explicit labels) ends resolved, as in time order; before, the
    late withdrawal left the label gone for good and LBL-01 open."""
    names = ("reg", "deploy", "label-on", "label-on-again", "label-off")
    by_name = {e.id: e for e in HISTORY}
    ingest(store, [by_name[name] for name in names])
    open_lbl01 = [v for v in list_violations(store, ORG, "open") if v["obligation"] == "LBL-01"]
    assert open_lbl01 == []


def test_a_late_deployment_does_not_bring_a_retired_system_back(store: Store) -> None:
    by_name = {e.id: e for e in HISTORY}
    ingest(store, [by_name[name] for name in ("reg", "deploy", "retire", "redeploy")])
    system = iris.ai_system(ORG, "chat")
    rows = store.select(
        f"SELECT ?retired ?name WHERE {{ GRAPH <{Graphs.ORGANISATIONS}> {{ <{system}> "
        "<https://w3id.org/obligraph/ontology#retiredOn> ?retired ; <http://www.w3.org/2000/01/rdf-schema#label> "
        "?name } }"
    )
    assert [(row["retired"].value, row["name"].value) for row in rows] == [("2026-05-06", "Chat 2")]  # type: ignore[union-attr]
    assert [v for v in list_violations(store, ORG, "open")] == []


def test_a_launch_day_replaced_later_still_says_the_attributes_came_with_a_launch(store: Store) -> None:
    """E (1 May) gives public-opinion attributes with a launch on 1 April; F (10 May) moves the launch to 1 March. In
    time order the filing clocks run from 1 March; F arriving first made E's launch day stale, and E then read as
    attributes gained on 1 May, moving the clocks there (the review of this change)."""
    deploy = event("deploy", "aisystem.deployed", "2026-02-02", {**CHAT, "capabilities": ["text-generation"]})
    gained = {"systemId": "chat", "publicOpinionAttributes": True, "launchedOn": "2026-04-01"}
    e = event("e", "aisystem.updated", "2026-05-01", gained)
    f = event("f", "aisystem.updated", "2026-05-10", {"systemId": "chat", "launchedOn": "2026-03-01"})
    ingest(store, [REGISTER, deploy, e, f])
    in_time_order = organisation_graph(store)
    ingest(store, [REGISTER, deploy, f, e])
    assert organisation_graph(store) == in_time_order


def test_an_organisation_wide_withdrawal_and_a_systems_own_control_out_of_order(store: Store) -> None:
    """An organisation-wide label withdrawn on 1 March that arrives after the system's own label of 1 April leaves
    the April label in place (before, it withdrew it as of 1 March: the later implementation undone); a system's own
    label of 20 February that arrives after that withdrawal does not bring it back (before, it stayed in place for
    good). The second case keeps the system's earlier ``since``: which labels are in place, and the violations, are
    as in time order."""
    deploy = event("deploy", "aisystem.deployed", "2026-02-02", CHAT)
    kind = "explicit-content-label"
    wide_on = event("wide-on", "control.implemented", "2026-02-05", {"kind": kind, "since": "2026-02-05"})
    wide_off = event("wide-off", "control.withdrawn", "2026-03-01", {"kind": kind, "since": "2026-03-01"})
    own = {"kind": kind, "systemId": "chat"}
    own_first = event("own-1", "control.implemented", "2026-02-06", {**own, "since": "2026-02-06"})
    own_feb = event("own-feb", "control.implemented", "2026-02-20", {**own, "since": "2026-02-20"})
    own_apr = event("own-apr", "control.implemented", "2026-04-01", {**own, "since": "2026-04-01"})

    def open_now() -> set[str]:
        return {v["obligation"] for v in list_violations(store, ORG, "open")}

    ingest(store, [REGISTER, deploy, wide_on, wide_off, own_apr])
    in_time_order = organisation_graph(store)
    ingest(store, [REGISTER, deploy, wide_on, own_apr, wide_off])
    assert organisation_graph(store) == in_time_order
    ingest(store, [REGISTER, deploy, own_first, own_feb, wide_on, wide_off])
    labelled_in_time_order = open_now()
    assert "LBL-01" in labelled_in_time_order  # withdrawn everywhere on 1 March
    ingest(store, [REGISTER, deploy, own_first, wide_on, wide_off, own_feb])
    assert open_now() == labelled_in_time_order

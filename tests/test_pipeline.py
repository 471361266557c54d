"""The validation pipeline as every way in uses it: idempotent, atomic, with a violation lifecycle."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kg import iris
from kg.build import ensure_built
from kg.clock_passes import last_pass, record_pass
from kg.compliance import Status, applicable_obligations
from kg.due_dates import CLOCKS, first_due
from kg.events import Event, parse_event
from kg.iris import Graphs
from kg.judged_moments import judged_moments, record_judged
from kg.metrics import exposition, registry_for
from kg.organisations import CHINA, EventApplier
from kg.pipeline import STEPS, Pipeline, clock_moment
from kg.store import Store, StoreError, open_store
from kg.violations import ViolationChange, list_violations, violation_history
from obligraph.bootstrap import start_clock
from ontology.namespaces import RDFS
from tests.support import generated_data
from tests.support.cloudevents import ORG, cloudevent
from tests.support.shape_cases import clear


@pytest.fixture(scope="module")
def built() -> Store:
    store = open_store("memory")
    ensure_built(store)
    return store


@pytest.fixture
def store(built: Store) -> Iterator[Store]:
    clear(built)
    yield built


@pytest.fixture
def pipeline(store: Store) -> Pipeline:
    return Pipeline.from_store(store)


def event(number: int, kind: str, time: str, data: dict[str, Any], subject: str = ORG) -> Event:
    return parse_event(cloudevent(f"evt-{number}", kind, time, data, subject))


REGISTER = event(1, "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN-BJ"})
DEPLOY = event(
    2,
    "aisystem.deployed",
    "2026-03-02T10:00:00+08:00",
    {
        "systemId": "feed",
        "name": "Feed",
        "capabilities": ["recommendation"],
        "launchedOn": "2026-03-02",
        "publicOpinionAttributes": True,
    },
)
FILE = event(
    3,
    "filing.completed",
    "2026-03-25T10:00:00+08:00",
    {
        "systemId": "feed",
        "kind": "algorithm",
        "filingNumber": "网信算备-1",
        "authority": "CAC",
        "filedOn": "2026-03-25",
    },
)
RETIRE = event(4, "aisystem.retired", "2026-04-01T10:00:00+08:00", {"systemId": "feed", "retiredOn": "2026-04-01"})


def only_alg09(changes: list[ViolationChange]) -> list[ViolationChange]:
    """Other shapes judge the same organisation too; these tests follow ALG-09 (filing within 10 working days)."""
    return [change for change in changes if change.obligation == "ALG-09"]


def alg09(store: Store, status: str = "all") -> list[dict[str, Any]]:
    return [v for v in list_violations(store, ORG, status) if v["obligation"] == "ALG-09"]  # type: ignore[arg-type]


def test_a_deadline_falls_due_on_the_clock_and_a_late_filing_resolves_it(store: Store, pipeline: Pipeline) -> None:
    pipeline.process([REGISTER, DEPLOY])
    assert alg09(store) == []
    changes = only_alg09(pipeline.revalidate(date(2026, 3, 17)))  # 10 working days after 2 March were up on 16 March
    assert [(c.kind, c.obligation, c.by) for c in changes] == [("opened", "ALG-09", "clock")]
    [violation] = alg09(store, "open")
    assert violation["focusNode"].endswith("/system/feed")
    assert violation["causedBy"] == "clock"
    assert violation["trace"]["penalty"].startswith("Art. 31")
    assert "CAC" in violation["trace"]["authorities"]
    result = pipeline.process([FILE])
    assert [(c.kind, c.by) for c in only_alg09(result.changes)] == [("resolved", "evt-3")]
    [resolved] = alg09(store, "resolved")
    assert resolved["resolvedBy"] == "evt-3"
    assert resolved["id"] == violation["id"]


def test_a_fresh_workspace_store_judges_as_the_old_one(
    store: Store, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace replaces its in-memory store after enough quads (pyoxigraph never frees removed ones)."""
    monkeypatch.setattr("kg.workspace.ROTATE_AFTER_QUADS", 0)  # a fresh store on every load after the first
    first = pipeline.workspace.store
    pipeline.process([REGISTER, DEPLOY])
    opened = only_alg09(pipeline.revalidate(date(2026, 3, 17)))
    assert pipeline.workspace.store is not first
    assert [(c.kind, c.by) for c in opened] == [("opened", "clock")]
    assert [(c.kind, c.by) for c in only_alg09(pipeline.process([FILE]).changes)] == [("resolved", "evt-3")]


def test_a_violation_that_reopens_keeps_its_history(store: Store, pipeline: Pipeline) -> None:
    label = {"kind": "explicit-content-label", "systemId": "chat"}
    chat = {"systemId": "chat", "name": "Chat", "capabilities": ["text-generation"], "launchedOn": "2026-03-02"}
    steps = [
        event(11, "aisystem.deployed", "2026-03-02T10:00:00+08:00", chat),  # no label yet
        event(12, "control.implemented", "2026-03-03T10:00:00+08:00", {**label, "since": "2026-03-03"}),
        event(13, "control.withdrawn", "2026-03-04T10:00:00+08:00", {**label, "since": "2026-03-04"}),
    ]
    pipeline.process([REGISTER])
    deployed, implemented, withdrawn = (pipeline.process([step]).changes for step in steps)
    labelled = {c.violation_id for c in implemented if c.kind == "resolved"}
    assert labelled and labelled <= {c.violation_id for c in deployed if c.kind == "opened"}
    reopened = [c for c in withdrawn if c.kind == "opened"]
    assert {c.violation_id for c in reopened} == labelled
    for change in reopened:
        assert (change.episode, change.by) == (2, "evt-13")
        history = violation_history(store, change.violation_id)
        assert [(h["episode"], h["causedBy"], h["resolvedBy"]) for h in history] == [
            (1, "evt-11", "evt-12"),
            (2, "evt-13", None),
        ]
        assert change.to_cloudevent()["id"] == f"{change.violation_id}-2-opened"


def test_a_retired_system_ends_its_obligations(store: Store, pipeline: Pipeline) -> None:
    pipeline.process([REGISTER, DEPLOY])
    pipeline.revalidate(date(2026, 3, 17))
    result = pipeline.process([RETIRE])
    assert [(c.kind, c.obligation) for c in only_alg09(result.changes)] == [("resolved", "ALG-09")]
    assert all(change.kind == "resolved" for change in result.changes)  # every obligation of the system ends
    assert pipeline.revalidate(date(2026, 6, 1)) == []


def test_the_officer_duty_names_the_largest_count_of_the_organisation_and_its_exports(
    store: Store, pipeline: Pipeline
) -> None:
    """PIPL-06 counts an export under way (under the PIPL, providing personal information is processing it);
    its message names the largest count, and an ended export no longer counts."""
    profile = {"name": "Shop", "jurisdiction": "CN", "personalInformationSubjects": 1_200_000}
    export = {"destination": "SG", "startedOn": "2026-03-02", "mechanism": "standard-contract"}
    register = event(31, "organisation.registered", "2026-03-02T09:00:00+08:00", profile)
    larger = {**export, "transferId": "T1", "personalInformationSubjects": 3_000_000}
    smaller = {**export, "transferId": "T2", "personalInformationSubjects": 1_100_000}
    exports = [
        event(32 + n, "transfer.started", "2026-03-02T10:00:00+08:00", data) for n, data in enumerate([larger, smaller])
    ]
    pipeline.process([register, *exports])
    opened = [c for c in pipeline.revalidate(date(2026, 4, 15)) if c.obligation == "PIPL-06"]
    assert [c.kind for c in opened] == ["opened"]
    [violation] = [v for v in list_violations(store, ORG, "open") if v["obligation"] == "PIPL-06"]
    assert "3000000 people" in violation["message"], violation["message"]
    assert violation["focusNode"] == str(iris.organisation(ORG))

    pipeline.process(
        [event(34, "transfer.ended", "2026-04-20T10:00:00+08:00", {"transferId": "T1", "endedOn": "2026-04-20"})]
    )
    [still] = [v for v in list_violations(store, ORG, "open") if v["obligation"] == "PIPL-06"]
    assert "1200000 people" in still["message"] and still["id"] == violation["id"], still["message"]
    assert still["openedAt"] == violation["openedAt"]


def test_an_open_violation_says_what_is_still_wrong(store: Store, pipeline: Pipeline) -> None:
    """DS-06 (Deep Synthesis Provisions Art. 16) asks for an implicit mark and logs. A deep-synthesis service with
    neither opens one violation saying both; the mark added, it stays open and says only what is still missing (it
    said 'adds no implicit mark' until it resolved), in English and Chinese; its episode, when it opened and why,
    stays. Restating it is no change to publish."""
    swap = {"systemId": "swap", "name": "Swap", "capabilities": ["face-or-voice-editing"], "launchedOn": "2026-03-02"}
    deployed = event(41, "aisystem.deployed", "2026-03-02T10:00:00+08:00", swap)
    marked = event(
        42,
        "control.implemented",
        "2026-03-05T10:00:00+08:00",
        {"kind": "implicit-content-label", "systemId": "swap", "since": "2026-03-05"},
    )
    pipeline.process([REGISTER, deployed])

    def ds06() -> dict[str, Any]:
        [found] = [v for v in list_violations(store, ORG, "open") if v["obligation"] == "DS-06"]
        return found

    before = ds06()
    assert "implicit mark" in before["message"] and "log information" in before["message"], before["message"]
    assert "不影响用户使用的标识" in before["messageZh"], before["messageZh"]
    result = pipeline.process([marked])
    assert not [change for change in result.changes if change.obligation == "DS-06"]
    after = ds06()
    assert (after["id"], after["openedAt"]) == (before["id"], before["openedAt"])
    assert "implicit mark" not in after["message"] and "log information" in after["message"], after["message"]
    assert "不影响用户使用的标识" not in after["messageZh"] and "日志" in after["messageZh"], after["messageZh"]
    assert [(h["episode"], h["causedBy"]) for h in violation_history(store, after["id"])] == [(1, "evt-41")]


def test_a_deadline_met_late_with_no_clock_between_is_caught_up_before_the_event(
    store: Store, pipeline: Pipeline
) -> None:
    """No clock ran between the due date (16 March) and the late filing (25 March): before the filing is applied the
    organisation is judged as the clock would have judged it on the 17th, so the breach between is in the history,
    however the events were batched; a filing in time leaves none."""
    for batches in ([[REGISTER, DEPLOY], [FILE]], [[REGISTER, DEPLOY, FILE]], [[REGISTER], [DEPLOY], [FILE]]):
        clear(store)
        changes = [change for batch in batches for change in only_alg09(pipeline.process(batch).changes)]
        assert [(c.kind, c.by, c.at) for c in changes] == [
            ("opened", "clock", clock_moment(date(2026, 3, 17))),
            ("resolved", "evt-3", FILE.time),
        ], batches
    clear(store)
    filed = {**FILE.data.model_dump(mode="json", by_alias=True, exclude_none=True), "filedOn": "2026-03-16"}
    on_time = event(7, "filing.completed", "2026-03-16T18:00:00+08:00", filed)
    assert only_alg09(pipeline.process([REGISTER, DEPLOY, on_time]).changes) == []


def test_a_clock_pass_that_skipped_days_opens_each_breach_the_day_after_its_deadline(
    store: Store, pipeline: Pipeline
) -> None:
    """A pass a week late (a server down, ``obligraph revalidate`` by hand) records the breach on 17 March, the day
    after the deadline, as a daily pass would have, and as an event on the 24th would have: how the deadline is
    noticed does not change the history."""
    pipeline.process([REGISTER, DEPLOY])
    changes = only_alg09(pipeline.revalidate(date(2026, 3, 24)))
    assert [(c.kind, c.by, c.at) for c in changes] == [("opened", "clock", clock_moment(date(2026, 3, 17)))]
    [violation] = alg09(store, "open")
    assert violation["openedAt"].startswith("2026-03-17")
    assert only_alg09(pipeline.revalidate(date(2026, 3, 25))) == []  # nothing judged twice


def lbl01_changes(changes: list[ViolationChange]) -> list[tuple[str, str, datetime]]:
    return [(change.kind, change.by, change.at) for change in changes if change.obligation == "LBL-01"]


def test_a_launch_and_a_retirement_the_graph_knew_of_are_caught_up_on_their_days(
    store: Store, pipeline: Pipeline
) -> None:
    """A public chatbot announced on 15 November for the 23rd, with no label, and retired on the 28th as announced on
    the 27th: with no clock running, the next events catch up the launch day (what must be in place at launch is
    owed by the day before) and the retirement day, as the clock's passes on those days would have."""
    bot = {"systemId": "bot", "name": "Bot", "capabilities": ["text-generation"], "launchedOn": "2026-11-23"}
    announced = [
        event(81, "organisation.registered", "2026-11-10T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN-BJ"}),
        event(82, "aisystem.deployed", "2026-11-15T09:00:00+08:00", bot),
    ]
    retiring = event(
        83, "aisystem.retired", "2026-11-27T09:00:00+08:00", {"systemId": "bot", "retiredOn": "2026-11-28"}
    )
    renamed = event(84, "organisation.updated", "2026-12-01T09:00:00+08:00", {"name": "Acme Ltd"})
    by_events = lbl01_changes([c for e in [*announced, retiring, renamed] for c in pipeline.process([e]).changes])
    expected = [
        ("opened", "clock", clock_moment(date(2026, 11, 23))),
        ("resolved", "clock", clock_moment(date(2026, 11, 28))),
    ]
    assert by_events == expected
    clear(store)
    pipeline.process(announced)
    by_clock = [c for day in (22, 23, 27) for c in pipeline.revalidate(date(2026, 11, day))]
    by_clock += pipeline.process([retiring]).changes + pipeline.revalidate(date(2026, 11, 28))
    assert lbl01_changes(by_clock) == expected, "the clock's own passes give the same history"


def test_an_instrument_taking_effect_is_caught_up_on_its_day(store: Store, pipeline: Pipeline) -> None:
    """A chatbot live since June 2025 labels its output explicitly only on 15 October 2025: the Labelling Measures took
    effect on 1 September (LBL-01, their Art. 4), so a history ingested after the fact opens LBL-01 that day, as the
    clock's pass would have, and the label resolves it."""
    bot = {"systemId": "bot", "name": "Bot", "capabilities": ["text-generation"], "launchedOn": "2025-06-02"}
    label = {"kind": "explicit-content-label", "since": "2025-10-15", "systemId": "bot"}
    history = [
        event(91, "organisation.registered", "2025-06-01T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN-BJ"}),
        event(92, "aisystem.deployed", "2025-06-02T09:00:00+08:00", bot),
        event(93, "control.implemented", "2025-10-15T09:00:00+08:00", label),
    ]
    changes = [change for item in history for change in pipeline.process([item]).changes]
    assert lbl01_changes(changes) == [
        ("opened", "clock", clock_moment(date(2025, 9, 1))),
        ("resolved", "evt-93", history[2].time),
    ]


ANNOUNCED_BOT = {"systemId": "bot", "name": "Bot", "capabilities": ["text-generation"], "launchedOn": "2026-02-02"}


def announced_ahead() -> list[Event]:
    """A chatbot live since 2 February, labelled; on 1 and 2 March, with dates ahead: the label withdrawn from 1
    April, a complaint channel from 15 April, a transfer of personal information from 1 April."""
    label = {"kind": "explicit-content-label", "systemId": "bot"}
    transfer = {
        "transferId": "T9",
        "destination": "SG",
        "startedOn": "2026-04-01",
        "personalInformationSubjects": 50_000,
        "mechanism": "standard-contract",
    }
    complaints = {"kind": "complaint-channel", "systemId": "bot", "since": "2026-04-15"}
    return [
        event(101, "organisation.registered", "2026-02-01T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN-BJ"}),
        event(102, "aisystem.deployed", "2026-02-02T09:00:00+08:00", ANNOUNCED_BOT),
        event(103, "control.implemented", "2026-02-02T10:00:00+08:00", {**label, "since": "2026-02-02"}),
        event(104, "control.withdrawn", "2026-03-01T09:00:00+08:00", {**label, "since": "2026-04-01"}),
        event(105, "control.implemented", "2026-03-01T10:00:00+08:00", complaints),
        event(106, "transfer.started", "2026-03-02T09:00:00+08:00", transfer),
    ]


def test_controls_and_transfers_announced_ahead_are_caught_up_on_their_days(store: Store, pipeline: Pipeline) -> None:
    """Announced on 1 and 2 March with no clock running: the explicit label withdrawn from 1 April (LBL-01 opens that
    day, Labelling Measures Art. 4), a complaint channel in place from 15 April (GenAI Measures Art. 15: GAI-11
    resolves that day) and a transfer of personal information starting on 1 April with no impact assessment (PIPL
    Art. 55, assessed beforehand: PIPL-07 opens that day). An event on 1 May catches those days up, as the clock's
    passes on them would have; before, the event's own day was recorded for all three."""
    history = announced_ahead()
    renamed = event(107, "organisation.updated", "2026-05-01T09:00:00+08:00", {"name": "Acme Ltd"})
    watched = {"LBL-01", "GAI-11", "PIPL-07"}

    def days(changes: list[ViolationChange]) -> set[tuple[str, str, str, date]]:
        return {(c.obligation, c.kind, c.by, c.at.date()) for c in changes if c.obligation in watched}

    by_events = days([c for item in [*history, renamed] for c in pipeline.process([item]).changes])
    expected = {
        ("LBL-01", "opened", "clock", date(2026, 4, 1)),
        ("GAI-11", "resolved", "clock", date(2026, 4, 15)),
        ("PIPL-07", "opened", "clock", date(2026, 4, 1)),
    }
    assert expected <= by_events, by_events
    assert not {change for change in by_events if change[3] == date(2026, 5, 1)}, by_events
    clear(store)
    by_clock = [c for item in history for c in pipeline.process([item]).changes]
    by_clock += [c for day in (1, 15) for c in pipeline.revalidate(date(2026, 4, day))]
    by_clock += pipeline.process([renamed]).changes
    assert days(by_clock) == by_events, "the clock's own passes give the same history"


def test_a_day_after_the_latest_judgement_reads_as_that_days_clock_pass_will(store: Store, pipeline: Pipeline) -> None:
    """The events of the test above, with no event after 2 March and no clock since: asked about 20 April, the
    dashboard's statuses are those the clock's pass that day then stores (LBL-01 and PIPL-07 VIOLATED, GAI-11 no
    longer), not the latest judgement's. Before, they were 2 March's: LBL-01 and PIPL-07 COMPLIANT, GAI-11 VIOLATED.
    And a chatbot live since June 2025 is VIOLATED on LBL-01 once the Labelling Measures took effect (1 September),
    asked about 1 October with nothing judged since June."""
    pipeline.process(announced_ahead())
    watched = ("LBL-01", "GAI-11", "PIPL-07")

    def statuses(day: date) -> dict[str, Status]:
        found = applicable_obligations(store, str(iris.organisation(ORG)), day)
        return {item.obligation_id: item.status for item in found if item.obligation_id in watched}

    assert statuses(date(2026, 3, 2)) == {"LBL-01": Status.COMPLIANT, "GAI-11": Status.VIOLATED}
    ahead = statuses(date(2026, 4, 20))
    assert ahead == {"LBL-01": Status.VIOLATED, "GAI-11": Status.COMPLIANT, "PIPL-07": Status.VIOLATED}
    pipeline.revalidate(date(2026, 4, 20))
    assert statuses(date(2026, 4, 20)) == ahead

    clear(store)
    chatbot = {**ANNOUNCED_BOT, "launchedOn": "2025-06-02"}
    pipeline.process(
        [
            event(131, "organisation.registered", "2025-06-01T09:00:00+08:00", {"name": "A", "jurisdiction": "CN"}),
            event(132, "aisystem.deployed", "2025-06-02T09:00:00+08:00", chatbot),
        ]
    )
    assert statuses(date(2025, 8, 31))["LBL-01"] is Status.NOT_IN_FORCE
    assert statuses(date(2025, 10, 1))["LBL-01"] is Status.VIOLATED


def test_a_day_to_come_reads_as_its_clock_pass_will_after_a_withdrawal_announced_for_before_it(
    store: Store, pipeline: Pipeline
) -> None:
    """A label withdrawn as announced for ten days from today: asked about twenty days from today, LBL-01 reads
    VIOLATED, as the pass of that day makes it (before, the turning days stopped at today and it read COMPLIANT)."""
    now = datetime.now(CHINA).replace(microsecond=0)
    day = now.date()

    def at(days: int) -> str:
        return (now + timedelta(days=days)).isoformat()

    bot = {**ANNOUNCED_BOT, "launchedOn": (day - timedelta(days=10)).isoformat()}
    label = {"kind": "explicit-content-label", "systemId": "bot"}
    pipeline.process(
        [
            event(141, "organisation.registered", at(-11), {"name": "A", "jurisdiction": "CN"}),
            event(142, "aisystem.deployed", at(-10), bot),
            event(143, "control.implemented", at(-10), {**label, "since": (day - timedelta(days=10)).isoformat()}),
            event(144, "control.withdrawn", at(-1), {**label, "since": (day + timedelta(days=10)).isoformat()}),
        ]
    )

    def lbl01(asked: date) -> Status:
        found = applicable_obligations(store, str(iris.organisation(ORG)), asked)
        return next(item.status for item in found if item.obligation_id == "LBL-01")

    later = day + timedelta(days=20)
    assert (lbl01(day), lbl01(later)) == (Status.COMPLIANT, Status.VIOLATED)
    pipeline.revalidate(later)
    assert lbl01(later) is Status.VIOLATED


def test_a_system_from_before_the_governance_code_owes_its_first_report_six_months_after_it(
    store: Store, pipeline: Pipeline
) -> None:
    """AGC-03 (unverified, seed 003: the Code read as effective 2026-01-01): a large-scale model live since June 2025
    owes its first transparency report on 2026-07-01. Its clock says so (``counted_from`` in deadlines.yaml), so a
    day asked before shows it DUE then, and a history ingested after the fact opens it on the 2nd, as the clock's
    pass would have; before, the clock said 2025-12-02 and the breach was recorded on the next event's day."""
    model = {
        "systemId": "m",
        "name": "M",
        "capabilities": ["image-generation"],
        "launchedOn": "2025-06-02",
        "largeScale": True,
    }
    summary = {"systemId": "m", "kind": "training-data-summary", "publishedOn": "2025-06-02"}
    pipeline.process(
        [
            event(111, "organisation.registered", "2025-06-02T09:00:00+08:00", {"name": "M", "jurisdiction": "CN"}),
            event(112, "aisystem.deployed", "2025-06-02T10:00:00+08:00", model),
            event(113, "disclosure.published", "2025-06-02T11:00:00+08:00", summary),
        ]
    )
    [agc03] = [
        item
        for item in applicable_obligations(store, str(iris.organisation(ORG)), date(2026, 6, 30))
        if item.obligation_id == "AGC-03"
    ]
    assert (agc03.status, agc03.due_on) == (Status.DUE, date(2026, 7, 1))
    renamed = event(114, "organisation.updated", "2026-08-03T09:00:00+08:00", {"name": "M Ltd"})
    opened = [(c.kind, c.by, c.at) for c in pipeline.process([renamed]).changes if c.obligation == "AGC-03"]
    assert opened == [("opened", "clock", clock_moment(date(2026, 7, 2)))]


def test_public_opinion_attributes_gained_later_start_their_clocks_that_day(store: Store, pipeline: Pipeline) -> None:
    """A public chatbot launched in January gains public-opinion attributes on 1 June: that day it launches a
    public-opinion function, so the filing (10 working days) and the assessment GenAI Art. 17 asks before it run
    from 1 June, not from January; nothing is overdue on the day it changes, and the filing falls due in June."""
    chat = {
        "systemId": "chat",
        "name": "Chat",
        "capabilities": ["text-generation"],
        "publicFacing": True,
        "launchedOn": "2026-01-05",
    }
    pipeline.process([REGISTER, event(31, "aisystem.deployed", "2026-03-02T10:00:00+08:00", chat)])
    gained = event(
        32, "aisystem.updated", "2026-06-01T10:00:00+08:00", {"systemId": "chat", "publicOpinionAttributes": True}
    )
    opened = {change.obligation for change in pipeline.process([gained]).changes if change.kind == "opened"}
    assert not opened & {"ALG-09", "DS-09", "GAI-12", "DS-05"}, opened
    due = first_due(next(c for c in CLOCKS if c.obligation == "ALG-09"), date(2026, 6, 1))
    assert due == date(2026, 6, 15)  # 10 working days from Monday 1 June (the Dragon Boat Festival is 19 June)
    changes = pipeline.revalidate(due + timedelta(days=1))
    late = [change for change in changes if change.obligation == "ALG-09" and change.kind == "opened"]
    assert [change.at.date() for change in late] == [due + timedelta(days=1)]
    [violation] = alg09(store, "open")
    assert f"due {due.isoformat()}" in violation["message"], violation["message"]
    gai12 = [v for v in list_violations(store, ORG, "open") if v["obligation"] == "GAI-12"]
    assert [v["openedAt"][:10] for v in gai12] == ["2026-06-02"]  # no assessment before the function's launch
    ds05 = [v for v in list_violations(store, ORG, "open") if v["obligation"] == "DS-05"]  # Deep Synthesis Art. 20
    assert [v["openedAt"][:10] for v in ds05] == ["2026-06-02"]
    assert "before it launched on 2026-06-01" in ds05[0]["message"], ds05[0]["message"]


def test_a_face_editor_that_gains_public_opinion_attributes_owed_its_assessment_at_launch(
    store: Store, pipeline: Pipeline
) -> None:
    """Deep Synthesis Provisions Art. 15 asks a security assessment of a tool that edits faces or voices before it
    is offered: public-opinion attributes gained later (Art. 20) do not move that clock."""
    faces = {
        "systemId": "faces",
        "name": "Faces",
        "capabilities": ["face-or-voice-editing"],
        "launchedOn": "2026-03-02",
    }
    pipeline.process([REGISTER, event(35, "aisystem.deployed", "2026-03-02T10:00:00+08:00", faces)])
    gained = event(
        36, "aisystem.updated", "2026-06-01T10:00:00+08:00", {"systemId": "faces", "publicOpinionAttributes": True}
    )
    pipeline.process([gained])
    ds05 = [v for v in list_violations(store, ORG, "all") if v["obligation"] == "DS-05"]
    assert [(v["openedAt"][:10], v["status"]) for v in ds05] == [("2026-03-03", "open")]
    assert "before it launched on 2026-03-02" in ds05[0]["message"], ds05[0]["message"]


def test_a_control_withdrawn_for_one_system_leaves_the_others_covered(store: Store, pipeline: Pipeline) -> None:
    """An organisation-wide explicit label withdrawn for S1 on 1 April: S1 is unlabelled from then, S2 keeps its
    label (the organisation-wide control becomes S2's own, since 2 March), asked about 15 March S1 was labelled,
    and a system deployed in May needs a label of its own."""
    systems = [
        event(40 + n, "aisystem.deployed", "2026-03-02T10:00:00+08:00", data)
        for n, data in enumerate(
            {"systemId": key, "name": key, "capabilities": ["image-generation"], "launchedOn": "2026-03-02"}
            for key in ("S1", "S2")
        )
    ]
    label = {"kind": "explicit-content-label"}
    pipeline.process(
        [
            REGISTER,
            *systems,
            event(43, "control.implemented", "2026-03-02T11:00:00+08:00", {**label, "since": "2026-03-02"}),
            event(
                44, "control.withdrawn", "2026-04-01T10:00:00+08:00", {**label, "systemId": "S1", "since": "2026-04-01"}
            ),
        ]
    )

    def unlabelled() -> set[str]:
        return {
            v["focusNode"].rsplit("/", 1)[-1]
            for v in list_violations(store, ORG, "open")
            if v["obligation"] == "LBL-01"
        }

    assert unlabelled() == {"S1"}
    [lbl01] = [
        item
        for item in applicable_obligations(store, str(iris.organisation(ORG)), date(2026, 3, 15))
        if item.obligation_id == "LBL-01"
    ]
    assert lbl01.status is Status.COMPLIANT
    later = {"systemId": "S3", "name": "S3", "capabilities": ["image-generation"], "launchedOn": "2026-05-01"}
    pipeline.process([event(45, "aisystem.deployed", "2026-05-01T10:00:00+08:00", later)])
    assert unlabelled() == {"S1", "S3"}


def test_an_event_sent_late_catches_up_nothing(store: Store, pipeline: Pipeline) -> None:
    """Dated before the organisation's latest judgement, an event is judged as of that moment; no day is caught up."""
    pipeline.process([REGISTER, DEPLOY])
    pipeline.revalidate(date(2026, 3, 17))
    late = event(8, "organisation.updated", "2026-03-05T10:00:00+08:00", {"name": "Acme Ltd"})
    assert [c.by for c in pipeline.process([late]).changes] == []


def test_replaying_the_same_events_changes_nothing(store: Store, pipeline: Pipeline) -> None:
    pipeline.process([REGISTER, DEPLOY])
    pipeline.revalidate(date(2026, 3, 17))
    before = list_violations(store, ORG, "all")
    replay = pipeline.process([REGISTER, DEPLOY])
    assert [o.status for o in replay.outcomes] == ["duplicate", "duplicate"]
    assert replay.changes == []
    assert list_violations(store, ORG, "all") == before


def test_an_id_reused_for_a_different_event_is_rejected_and_a_true_repeat_is_not(
    store: Store, pipeline: Pipeline
) -> None:
    """The contract makes ``id`` unique per ``source``: an event that says something else under a used id is not a
    repeat to drop silently (its facts would be lost) nor a new event (the id would name two)."""
    pipeline.process([REGISTER, DEPLOY])
    triples = store.count_triples(Graphs.ORGANISATIONS)
    before = list_violations(store, ORG, "all")
    deployed = DEPLOY.data.model_dump(mode="json", by_alias=True, exclude_none=True)
    retimed = cloudevent("evt-2", "aisystem.deployed", "2026-03-02T02:00:00Z", deployed)  # the same instant
    extended = {**retimed, "data": {**retimed["data"], "colour": "blue"}, "traceparent": "00-ab-cd-01"}
    other = cloudevent("evt-2", "organisation.updated", "2026-03-02T10:00:00+08:00", {"name": "Acme Two"})

    result = pipeline.process([parse_event(retimed), parse_event(extended), parse_event(other)])

    assert [o.status for o in result.outcomes] == ["duplicate", "duplicate", "rejected"]
    reason = result.outcomes[2].reason or ""
    assert "'evt-2'" in reason and "already used by an event that said something else" in reason, reason
    assert store.count_triples(Graphs.ORGANISATIONS) == triples
    assert list_violations(store, ORG, "all") == before


def test_a_batch_that_uses_one_id_for_two_events_applies_the_first(store: Store, pipeline: Pipeline) -> None:
    renamed = event(5, "organisation.updated", "2026-03-03T10:00:00+08:00", {"name": "Acme Two"})
    clash = event(5, "organisation.updated", "2026-03-03T10:00:00+08:00", {"name": "Acme Three"})

    result = pipeline.process([REGISTER, renamed, clash, renamed])

    assert [o.status for o in result.outcomes] == ["applied", "applied", "rejected", "duplicate"]
    names = store.select(f"SELECT ?name WHERE {{ <{iris.organisation(ORG)}> <{RDFS.label}> ?name }}")
    assert [row["name"].value for row in names] == ["Acme Two"]  # type: ignore[union-attr]


def test_the_steps_account_for_a_batch(pipeline: Pipeline) -> None:
    """Every step of a batch is timed, and the steps are most of it (a step left untimed would leave a gap)."""
    events = generated_data.as_events(generated_data.generate(30, seed=5))
    pipeline.process(events)
    steps, batches = pipeline.stats.step_seconds, pipeline.stats.batch_seconds
    assert list(steps) == list(STEPS)
    assert all(seconds > 0 for seconds in steps.values()), steps
    assert 0.8 * batches <= sum(steps.values()) <= batches, (steps, batches)


def test_an_event_about_an_unknown_system_is_rejected_and_changes_nothing(store: Store, pipeline: Pipeline) -> None:
    pipeline.process([REGISTER])
    triples = store.count_triples(Graphs.ORGANISATIONS)
    ghost = event(9, "aisystem.retired", "2026-04-01T10:00:00+08:00", {"systemId": "ghost", "retiredOn": "2026-04-01"})
    result = pipeline.process([ghost])
    assert result.outcomes[0].status == "rejected"
    assert "no AI system 'ghost'" in (result.outcomes[0].reason or "")
    assert store.count_triples(Graphs.ORGANISATIONS) == triples
    assert not store.ask(f'ASK {{ GRAPH <{Graphs.EVENTS}> {{ ?e ?p "evt-9" }} }}')


def test_an_all_or_nothing_batch_with_one_bad_event_applies_none(store: Store, pipeline: Pipeline) -> None:
    stranger = event(10, "organisation.updated", "2026-03-02T09:00:00+08:00", {"name": "X"}, subject="NOBODY")
    result = pipeline.process([REGISTER, stranger], all_or_nothing=True)
    assert [o.status for o in result.outcomes] == ["applied", "rejected"]
    assert store.count_triples(Graphs.ORGANISATIONS) == 0


def test_a_refused_all_or_nothing_batch_validates_nothing(store: Store, pipeline: Pipeline) -> None:
    pipeline.process([REGISTER, DEPLOY])
    late = event(5, "organisation.updated", "2026-03-18T09:00:00+08:00", {"name": "Acme Ltd"})
    unknown = event(6, "control.implemented", "2026-03-18T09:00:00+08:00",
                    {"systemId": "no-such-system", "kind": "complaint-channel", "since": "2026-03-18"})  # fmt: skip
    result = pipeline.process([late, unknown], all_or_nothing=True)
    assert [outcome.status for outcome in result.outcomes] == ["applied", "rejected"]
    assert result.changes == []  # validating as of the refused batch's time would open ALG-09
    assert alg09(store) == []
    assert only_alg09(pipeline.process([late]).changes)[0].kind == "opened"


def test_recover_validates_what_a_crash_left_pending(store: Store, pipeline: Pipeline) -> None:
    # Step 1 only (as if the process died right after applying): the organisation is marked pending.
    EventApplier(store).apply([REGISTER, DEPLOY])
    late = event(5, "organisation.updated", "2026-03-18T09:00:00+08:00", {"name": "Acme Ltd"})
    EventApplier(store).apply([late])
    assert alg09(store) == []
    changes = only_alg09(pipeline.recover())
    assert [(c.kind, c.obligation, c.by) for c in changes] == [("opened", "ALG-09", "evt-5")]
    assert pipeline.recover() == []


def test_a_store_failure_between_apply_and_validation_is_finished_by_the_next_batch(
    store: Store, pipeline: Pipeline
) -> None:
    """The store fails after the events are applied (step 1) and before they are judged (steps 2–3): the caller hears
    of it and sends them again. The retry is a repeat, and the validation the failure left pending is finished then,
    with the events as the cause; before, it waited for a restart, and the next catch-up recorded the violations as
    the clock's, on the days before the events."""
    real_validate, failures = pipeline._validate, list[bool]()

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(True)
            raise StoreError("the SPARQL server at http://127.0.0.1:1/update did not answer")
        return real_validate(*args, **kwargs)

    pipeline.process([REGISTER])
    pipeline._validate = failing_once  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        pipeline.process([DEPLOY])
    assert list_violations(store, ORG, "all") == [], "nothing was judged yet"
    retried = pipeline.process([DEPLOY])
    assert [outcome.status for outcome in retried.outcomes] == ["duplicate"]
    opened = {(c.obligation, c.by, c.at.isoformat()) for c in retried.changes if c.kind == "opened"}
    assert opened and {(by, at) for _, by, at in opened} == {("evt-2", "2026-03-02T10:00:00+08:00")}, opened
    assert pipeline._unfinished == set()
    assert pipeline.process([DEPLOY]).changes == []


def test_a_fault_that_is_not_the_stores_leaves_other_organisations_batches_alone(
    store: Store, pipeline: Pipeline
) -> None:
    """A validation that raises for another reason than the store (a fault of the code) is not retried by every
    later batch: it would fail them all, for every organisation, until a restart."""
    real_validate, poisoned = pipeline._validate, iris.organisation(ORG)

    def failing_for_one(causes: Any, *args: Any, **kwargs: Any) -> Any:
        if poisoned in causes:
            raise RuntimeError("a fault of the code")
        return real_validate(causes, *args, **kwargs)

    pipeline._validate = failing_for_one  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        pipeline.process([REGISTER])
    other = event(
        7, "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "B", "jurisdiction": "CN"}, "ORG-B"
    )
    assert [outcome.status for outcome in pipeline.process([other]).outcomes] == ["applied"]


def test_looking_back_with_the_clock_does_not_rewrite_a_history(store: Store, pipeline: Pipeline) -> None:
    """A clock pass as of a day before the one an organisation was judged as of judges it as of that later moment:
    as of the earlier day the deadline was not yet due, so the violation would be resolved before it was opened,
    and the next pass would reopen it."""
    pipeline.process([REGISTER, DEPLOY])
    pipeline.revalidate(date(2026, 3, 17))
    [opened] = alg09(store)
    assert only_alg09(pipeline.revalidate(date(2026, 3, 10))) == []  # due on 16 March: not yet, as of 10 March
    assert alg09(store) == [opened]
    assert only_alg09(pipeline.revalidate(date(2026, 3, 18))) == []
    [episode] = violation_history(store, opened["id"])
    assert (episode["openedAt"], episode["resolvedAt"]) == ("2026-03-17T00:00:00+08:00", None)


def test_a_complete_clock_pass_is_recorded_and_the_recorded_day_only_moves_forward(
    store: Store, pipeline: Pipeline
) -> None:
    assert last_pass(store) is None
    pipeline.process([REGISTER, DEPLOY])
    pipeline.revalidate(date(2026, 3, 17))
    assert last_pass(store) == date(2026, 3, 17)
    pipeline.revalidate(date(2026, 3, 1))  # an earlier day (a user looking back) does not move it back
    assert last_pass(store) == date(2026, 3, 17)
    store.update(record_pass(date(2026, 3, 18)))
    store.update(record_pass(date(2026, 3, 2)))
    assert last_pass(store) == date(2026, 3, 18)


def test_a_stopped_pass_starts_no_further_chunk_and_is_not_recorded(store: Store, pipeline: Pipeline) -> None:
    """``revalidate(stop=…)``: how ``serve`` and ``worker --clock`` stop a pass before the store closes."""
    other = ORG.replace("XXXX", "YYYY")
    feed = {"systemId": "feed", "name": "Feed", "capabilities": ["recommendation"], "launchedOn": "2026-03-02"}
    pipeline.process(
        [
            REGISTER,
            DEPLOY,
            event(
                3, "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "B", "jurisdiction": "CN"}, other
            ),
            event(
                4, "aisystem.deployed", "2026-03-02T10:00:00+08:00", {**feed, "publicOpinionAttributes": True}, other
            ),
        ]
    )
    stop = threading.Event()
    stopped = pipeline.revalidate(date(2026, 3, 17), batch_size=1, progress=lambda _: stop.set(), stop=stop)
    assert len(only_alg09(stopped)) == 1  # the first organisation's chunk only
    assert last_pass(store) is None
    rest = pipeline.revalidate(date(2026, 3, 17), batch_size=1)
    assert len(only_alg09(rest)) == 1 and only_alg09(rest)[0].organisation != only_alg09(stopped)[0].organisation
    assert last_pass(store) == date(2026, 3, 17)


def test_the_clock_catches_up_at_start_and_logs_its_progress(
    store: Store, pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="obligraph")
    pipeline.process([REGISTER, DEPLOY])
    stop = start_clock(pipeline, 3600, progress_every_s=0)
    try:
        deadline = time.monotonic() + 60
        while "clock: done in" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
    finally:
        stop.set()
    assert "clock: validated 1 organisation so far" in caplog.text
    today = datetime.now(CHINA).date()
    assert last_pass(store) == today
    scraped = {
        sample.name: sample.value
        for family in text_string_to_metric_families(exposition(registry_for(pipeline.stats)).decode())
        for sample in family.samples
    }
    assert scraped["obligraph_clock_last_pass_as_of_timestamp_seconds"] == clock_moment(today).timestamp()
    [opened] = alg09(store)
    assert (opened["status"], opened["causedBy"]) == ("open", "clock")


def test_the_clock_compacts_an_embedded_store_after_the_first_pass_of_a_day_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="obligraph")
    on_disk = open_store("oxigraph", data_dir=tmp_path)
    ensure_built(on_disk)
    pipeline = Pipeline.from_store(on_disk)
    pipeline.process([REGISTER, DEPLOY])
    stop = start_clock(pipeline, 0.05, progress_every_s=3600)
    try:
        deadline = time.monotonic() + 60
        while caplog.text.count("clock: done in") < 3:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
    finally:
        stop.set()
    assert caplog.text.count("clock: compacted the store in") == 1
    assert caplog.text.index("clock: compacted the store in") > caplog.text.index("clock: done in")
    for clock in [thread for thread in threading.enumerate() if thread.name == "obligraph-clock"]:
        clock.join(timeout=60)  # a pass under way ends before the store closes
    assert [v["status"] for v in alg09(on_disk)] == ["open"]
    on_disk.close()


def test_change_events_follow_the_contract(store: Store, pipeline: Pipeline) -> None:
    pipeline.process([REGISTER, DEPLOY])
    [opened] = only_alg09(pipeline.revalidate(date(2026, 3, 17)))
    cloudevent = opened.to_cloudevent()
    assert cloudevent["type"] == "violation.opened"
    assert cloudevent["subject"] == ORG
    assert set(cloudevent["data"]) == {
        "violationId",
        "organisation",
        "obligation",
        "focusNode",
        "message",
        "severity",
        "detectedAt",
        "causedBy",
    }
    [resolved] = only_alg09(pipeline.process([FILE]).changes)
    assert set(resolved.to_cloudevent()["data"]) >= {"violationId", "resolvedAt", "resolvedBy"}
    assert resolved.violation_id == opened.violation_id


def test_with_an_outbox_changes_wait_for_the_publisher(store: Store) -> None:
    from kg import outbox

    pipeline = Pipeline.from_store(store, outbox=True)
    changes = pipeline.process([REGISTER, DEPLOY]).changes + pipeline.revalidate(date(2026, 3, 17))
    assert changes
    entries = outbox.pending(store)
    assert [json.loads(entry.payload)["id"] for entry in entries] == [c.to_cloudevent()["id"] for c in changes]
    assert {entry.key for entry in entries} == {ORG}
    outbox.acknowledge(store, entries[:1])
    assert outbox.pending(store) == entries[1:]
    outbox.acknowledge(store, entries[1:])
    assert outbox.pending(store) == []


def test_events_are_judged_while_the_clock_revalidates(store: Store, pipeline: Pipeline) -> None:
    """The clock takes the pipeline's lock one chunk at a time: an event sent while a large graph is being
    re-checked is applied and judged between two chunks, not after the whole run."""
    others = [f"91110108MA01CLK{number:02d}X" for number in range(4)]
    registrations = [
        event(
            100 + number,
            "organisation.registered",
            "2026-03-02T09:00:00+08:00",
            {"name": org, "jurisdiction": "CN-BJ"},
            subject=org,
        )
        for number, org in enumerate(others)
    ]
    pipeline.process([REGISTER, DEPLOY, *registrations])
    judged: list[str] = []

    def send_an_event_once(_chunk: int) -> None:
        if judged:
            return
        sender = threading.Thread(target=lambda: judged.extend(o.status for o in pipeline.process([FILE]).outcomes))
        sender.start()
        sender.join(timeout=20)  # with the lock held for the whole run, this waits in vain
        assert not sender.is_alive(), "the event waited for the whole revalidation"

    counted: list[int] = []

    def progress(done: int) -> None:
        counted.append(done)
        send_an_event_once(done)

    pipeline.revalidate(date(2026, 3, 2), batch_size=1, progress=progress)
    assert judged == ["applied"]
    assert sum(counted) == 1 + len(others)  # and the clock went on to the end


def _interleaved(histories: dict[str, list[dict[str, Any]]], seed: int) -> list[dict[str, Any]]:
    """The organisations' histories merged in a random order that keeps each one's own order."""
    rng = random.Random(seed)
    queues = {org: list(events) for org, events in histories.items()}
    merged = []
    while queues:
        org = rng.choice(sorted(queues))
        merged.append(queues[org].pop(0))
        if not queues[org]:
            del queues[org]
    return merged


def _run_in_batches(events: list[Event], size: int) -> tuple[list[dict[str, Any]], list[str]]:
    store = open_store("memory")
    ensure_built(store)
    pipeline = Pipeline.from_store(store)
    ids = []
    for start in range(0, len(events), size):
        ids += [change.to_cloudevent()["id"] for change in pipeline.process(events[start : start + size]).changes]
    violations = sorted(list_violations(store, None, "all"), key=lambda entry: str(entry["id"]))
    return [{**v, "history": violation_history(store, str(v["id"]))} for v in violations], sorted(ids)


def test_the_verdicts_do_not_depend_on_how_the_events_are_batched() -> None:
    """Each event is judged as of its own time, on the organisation as that event left it, so a violation that opens
    and closes between two events of one batch is recorded as it would be one event at a time; the worker's batches
    (which depend on timing, restarts and rebalances) cannot change the history."""
    histories = generated_data.by_organisation(generated_data.generate(24, seed=7))
    events = generated_data.as_events(_interleaved(histories, seed=7))
    one_at_a_time = _run_in_batches(events, 1)
    assert one_at_a_time[1], "the stream opens and resolves violations"
    assert any(v["status"] == "resolved" for v in one_at_a_time[0])
    for size in (9, len(events)):
        assert _run_in_batches(events, size) == one_at_a_time, f"batches of {size}"


LATE = event(
    5,
    "control.implemented",
    "2026-03-10T10:00:00+08:00",  # sent after the clock judged the organisation as of 17 March
    {"kind": "ethics-committee", "since": "2026-03-10"},
)


def test_a_late_event_is_judged_as_of_the_latest_moment_its_organisation_was_judged(
    store: Store, pipeline: Pipeline
) -> None:
    """Time never runs backwards for an organisation: an event dated before a moment it was already judged as of
    (a late sender, a backfill) is judged as of that moment, on the graph that now holds the event. Judged as of
    its own time, it would resolve the deadline the clock saw pass (a spurious episode the next pass reopens)."""
    pipeline.process([REGISTER, DEPLOY])
    [opened] = only_alg09(pipeline.revalidate(date(2026, 3, 17)))
    result = pipeline.process([LATE])
    assert result.applied == 1
    assert only_alg09(result.changes) == []
    [still_open] = alg09(store, "open")
    assert still_open["id"] == opened.violation_id
    # what the event does change (an ethics committee in place) is dated the moment it was judged as of
    assert sorted((c.kind, c.obligation, c.at) for c in result.changes) == [
        ("resolved", "BJ-02", clock_moment(date(2026, 3, 17))),
        ("resolved", "ETH-01", clock_moment(date(2026, 3, 17))),
    ]
    # an event after that moment is judged as of its own time again
    result = pipeline.process([FILE])
    assert [(c.kind, c.by, c.at.date()) for c in only_alg09(result.changes)] == [
        ("resolved", "evt-3", date(2026, 3, 25))
    ]


def test_the_judged_moment_only_moves_forward(store: Store, pipeline: Pipeline) -> None:
    org = iris.organisation(ORG)
    pipeline.process([REGISTER, DEPLOY, FILE])
    assert judged_moments(store, [org]) == {org: FILE.time}
    pipeline.revalidate(date(2026, 3, 20))  # a user looking back ...
    assert judged_moments(store, [org]) == {org: FILE.time}  # ... does not move the moment back
    raced = record_judged({org: clock_moment(date(2026, 3, 21))}, {}, not_after=datetime.now(CHINA))
    store.update(" ;\n".join(raced))  # a writer that read no moment before
    assert judged_moments(store, [org]) == {org: FILE.time}
    pipeline.revalidate(date(2026, 4, 1))
    assert judged_moments(store, [org]) == {org: clock_moment(date(2026, 4, 1))}


def test_an_event_dated_in_the_future_does_not_drag_later_events_with_it(store: Store, pipeline: Pipeline) -> None:
    """A skewed producer clock: the event is judged as of its own time, but the organisation's moment stops at now."""
    org = iris.organisation(ORG)
    future = event(
        6, "control.implemented", "2099-01-01T10:00:00+08:00", {"kind": "ethics-committee", "since": "2099-01-01"}
    )
    before = datetime.now(CHINA)
    result = pipeline.process([REGISTER, DEPLOY, future])
    after = datetime.now(CHINA)
    assert result.applied == 3
    caught_up = clock_moment(date(2026, 3, 17))  # ALG-09 fell due on 16 March: the clock's day, not the event's
    assert [(c.kind, c.by, c.at) for c in only_alg09(result.changes)] == [("opened", "clock", caught_up)]
    assert before <= judged_moments(store, [org])[org] <= after


def test_an_event_sent_in_utc_is_recorded_in_chinas_time(store: Store, pipeline: Pipeline) -> None:
    """16:30 UTC on 31 December is 00:30 on 1 January in China: the day the violation opened there."""
    new_year = parse_event(
        cloudevent(
            "utc-1",
            "aisystem.deployed",
            "2025-12-31T16:30:00Z",
            {"systemId": "bot", "name": "Bot", "capabilities": ["text-generation"], "launchedOn": "2026-01-01"},
        )
    )
    registered = parse_event(
        cloudevent("utc-0", "organisation.registered", "2025-12-31T01:00:00Z", {"name": "A", "jurisdiction": "CN"})
    )
    result = pipeline.process([registered, new_year])
    assert result.changes and all(change.at.utcoffset() == timedelta(hours=8) for change in result.changes)
    opened = {v["openedAt"] for v in list_violations(store, ORG, "open")}
    assert opened == {"2026-01-01T00:30:00+08:00"}

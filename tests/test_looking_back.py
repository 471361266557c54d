"""A dashboard asking about a day before the organisation's latest judgement sees that day: the roles its systems
gave it then, and the violations open at the end of it, not today's (``kg.compliance``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from kg import iris
from kg.compliance import Applicability, Status, applicable_obligations
from kg.events import parse_event
from kg.pipeline import Pipeline
from kg.store import Store
from tests.support.cloudevents import ORG, cloudevent
from tests.support.shape_cases import clear

ORGANISATION = str(iris.organisation(ORG))
FEED = {
    "systemId": "feed",
    "name": "Feed",
    "capabilities": ["recommendation"],
    "launchedOn": "2026-03-02",
    "publicOpinionAttributes": True,
}
FILING = {
    "systemId": "feed",
    "kind": "algorithm",
    "filingNumber": "网信算备-1",
    "authority": "CAC",
    "filedOn": "2026-03-25",
}


def history(*events: tuple[str, str, dict[str, Any]]) -> list[Any]:
    return [parse_event(cloudevent(f"back-{n}", kind, time, data)) for n, (kind, time, data) in enumerate(events)]


def launched_on_2_march(store: Store, pipeline: Pipeline, *more: tuple[str, str, dict[str, Any]]) -> None:
    """A fresh store holding an organisation registered on 2 March with the feed launched that day, and ``more``."""
    clear(store)
    registered = ("organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN"})
    pipeline.process(history(registered, ("aisystem.deployed", "2026-03-02T10:00:00+08:00", FEED), *more))


def by_id(store: Store, day: date) -> dict[str, Applicability]:
    return {item.obligation_id: item for item in applicable_obligations(store, ORGANISATION, day)}


def test_a_day_before_the_latest_judgement_shows_that_day(store: Store, pipeline: Pipeline) -> None:
    """A public-opinion feed launched on 2 March owed its algorithm filing by 16 March (ALG-09); the clock opened the
    violation on the 17th and the filing of the 25th resolved it. Asked on the 26th about earlier days: before its
    registration nothing; on the 10th the filing was due; on the 20th it was violated; on the 25th it was done."""
    launched_on_2_march(store, pipeline)
    pipeline.revalidate(date(2026, 3, 17))
    pipeline.process([parse_event(cloudevent("back-filing", "filing.completed", "2026-03-25T10:00:00+08:00", FILING))])
    now = by_id(store, date(2026, 3, 26))
    assert now["ALG-09"].status is Status.COMPLIANT

    assert by_id(store, date(2026, 3, 1)) == {}  # registered on the 2nd: nothing is known of it before

    due = by_id(store, date(2026, 3, 10))["ALG-09"]
    assert (due.status, due.due_on) == (Status.DUE, date(2026, 3, 16))
    assert {fact for reason in due.reasons for fact in reason.assignment.reasons} == {f"{ORGANISATION}/system/feed"}

    assert by_id(store, date(2026, 3, 20))["ALG-09"].status is Status.VIOLATED
    assert by_id(store, date(2026, 3, 25))["ALG-09"].status is Status.COMPLIANT


def test_a_system_retired_since_still_binds_on_the_days_it_ran(store: Store, pipeline: Pipeline) -> None:
    launched_on_2_march(
        store,
        pipeline,
        ("filing.completed", "2026-03-05T10:00:00+08:00", {**FILING, "filedOn": "2026-03-05"}),
        ("aisystem.retired", "2026-06-01T10:00:00+08:00", {"systemId": "feed", "retiredOn": "2026-06-01"}),
    )
    assert "ALG-05" not in by_id(store, date(2026, 6, 2))
    running = by_id(store, date(2026, 4, 1))
    assert "ALG-05" in running and running["ALG-05"].status is not Status.NOT_IN_FORCE, sorted(running)


def test_a_day_before_the_instrument_took_effect_is_not_in_force(store: Store, pipeline: Pipeline) -> None:
    """A feed live since June 2021 made its organisation a recommendation provider before the Algorithmic
    Recommendation Provisions took effect (1 March 2022): on a day between, their obligations bind it but are not in
    force; asked about today, they are."""
    clear(store)
    pipeline.process(
        history(
            ("organisation.registered", "2021-06-01T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN"}),
            ("aisystem.deployed", "2021-06-01T10:00:00+08:00", {**FEED, "launchedOn": "2021-06-01"}),
            ("filing.completed", "2022-03-10T10:00:00+08:00", {**FILING, "filedOn": "2022-03-10"}),
        )
    )
    assert by_id(store, date(2021, 12, 1))["ALG-05"].status is Status.NOT_IN_FORCE
    assert by_id(store, date(2022, 3, 10))["ALG-05"].status is not Status.NOT_IN_FORCE


def test_a_duty_done_after_the_day_was_owed_on_it(store: Store, pipeline: Pipeline) -> None:
    """Filed on 10 March, in time for the 16th: asked about the 5th, the filing was still due; about the 12th, done.
    Filed late on the 25th: the deadline is caught up before the filing is applied (``kg.catch_up``), so the
    violation opened on the 17th and the filing resolved it: asked about the 20th, it was violated."""
    for filed, asked, expected in (
        ("2026-03-10", date(2026, 3, 5), (Status.DUE, date(2026, 3, 16))),
        ("2026-03-10", date(2026, 3, 12), (Status.COMPLIANT, None)),
        ("2026-03-25", date(2026, 3, 20), (Status.VIOLATED, None)),
    ):
        launched_on_2_march(
            store, pipeline, ("filing.completed", f"{filed}T10:00:00+08:00", {**FILING, "filedOn": filed})
        )
        alg09 = by_id(store, asked)["ALG-09"]
        assert (alg09.status, alg09.due_on) == expected, (filed, asked)
        assert by_id(store, date(2026, 3, 26))["ALG-09"].status is Status.COMPLIANT


def test_a_deadline_the_graph_learnt_of_late_is_overdue_on_the_days_between(store: Store, pipeline: Pipeline) -> None:
    """The feed launched on 2 March was reported on the 25th only: its deadline (the 16th) entered the graph then,
    and the violation opened as of that report; asked about the 20th, the filing was overdue, DUE since the 16th,
    not yet violated. (A clock pass that missed days catches them up: see ``tests/test_pipeline.py``.)"""
    clear(store)
    registered = ("organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN"})
    pipeline.process(history(registered, ("aisystem.deployed", "2026-03-25T10:00:00+08:00", FEED)))
    alg09 = by_id(store, date(2026, 3, 20))["ALG-09"]
    assert (alg09.status, alg09.due_on) == (Status.DUE, date(2026, 3, 16))
    assert by_id(store, date(2026, 3, 25))["ALG-09"].status is Status.VIOLATED


def test_a_violation_open_on_the_day_is_listed_whatever_todays_undated_facts(store: Store, pipeline: Pipeline) -> None:
    """An organisation of 1,500,000 people from 2 March owed a protection officer's report (PIPL-06) by 14 April; the
    clock opened the violation on the 15th, and on 1 May the count fell to 400,000, which resolved it. Asked on 2 May
    about 20 April, the count is read as it is now (400,000: no role binds PIPL-06), but the violation open that day
    says PIPL-06 bound then: it is listed VIOLATED (before, it was missing, and the summary counted fewer VIOLATED
    obligations than violations open)."""
    clear(store)
    registered = ("organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN"})
    counted = ("organisation.updated", "2026-03-02T10:00:00+08:00", {"personalInformationSubjects": 1_500_000})
    pipeline.process(history(registered, counted))
    pipeline.revalidate(date(2026, 4, 15))
    fewer = ("organisation.updated", "2026-05-01T10:00:00+08:00", {"personalInformationSubjects": 400_000})
    pipeline.process([parse_event(cloudevent("back-fewer", *fewer))])
    assert "PIPL-06" not in by_id(store, date(2026, 5, 2))
    then = by_id(store, date(2026, 4, 20))
    assert then["PIPL-06"].status is Status.VIOLATED, then.get("PIPL-06")
    assert then["PIPL-06"].reasons == ()
    assert "PIPL-06" not in by_id(store, date(2026, 4, 10)) or by_id(store, date(2026, 4, 10))["PIPL-06"].status in (
        Status.DUE,
        Status.COMPLIANT,
    )

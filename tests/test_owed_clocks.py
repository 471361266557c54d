"""DUE means owed: an obligation the dashboard calls due on a day is one the clock opens the day after, if nothing
else happens (asked for a later day before the clock has run, it is still DUE, overdue by then); a deadline already
met leaves it COMPLIANT. Checked on every shape case of an obligation with a
clock (``tests/test_graphql.py`` shows a filing made early through the API)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from kg import iris
from kg.compliance import Status, applicable_obligations
from kg.due_dates import CLOCKS
from kg.organisations import as_of_date
from kg.owed_clocks import owed_due_dates
from kg.pipeline import Pipeline
from kg.store import Store
from ontology.namespaces import OG
from tests.support.shape_cases import DEFAULT_ORG, ShapeCase, case_events, clear, load_cases, open_violations

CLOCKED = frozenset(clock.obligation for clock in CLOCKS)
CASES = [case for case in load_cases() if case.obligation in CLOCKED]
ORG = str(iris.organisation(DEFAULT_ORG))


REGISTERED = {"name": "Acme", "jurisdiction": "CN-BJ"}
ANNOUNCED_BOT = {
    "systemId": "S1",
    "name": "Bot",
    "capabilities": ["text-generation"],
    "publicOpinionAttributes": True,
    "launchedOn": "2026-12-21",
}
"""A public-opinion chatbot announced on 2 December for 21 December."""


def status_of(store: Store, obligation: str, day: date) -> tuple[Status | None, date | None]:
    found = [item for item in applicable_obligations(store, ORG, day) if item.obligation_id == obligation]
    return (found[0].status, found[0].due_on) if found else (None, None)


def applied(store: Store, pipeline: Pipeline, case: ShapeCase) -> date:
    """Apply the case's events one by one; the day of the last."""
    clear(store)
    day = None
    for event in case_events(case):
        assert not pipeline.process([event]).rejected, case.id
        day = as_of_date(event.time)
    assert day is not None
    return day


def test_due_is_what_the_clock_opens_when_nothing_else_happens(store: Store, pipeline: Pipeline) -> None:
    """After each case's events, an obligation DUE on a day opens the day after its due date, not on it (so the
    date given is neither early nor late); one COMPLIANT with clocks ahead (a deadline met early) opens on none of
    their days."""
    checked: Counter[str] = Counter()
    for case in CASES:
        day = applied(store, pipeline, case)
        status, due_on = status_of(store, case.obligation, day)
        clocks = clocks_ahead(store, case.obligation, day)
        assert due_on is None or status == Status.DUE, f"{case.id}: {status} with a due date"
        checked["dated" if clocks and status == Status.VIOLATED else "other"] += 1
        if status not in {Status.DUE, Status.COMPLIANT} or not clocks:
            continue  # not bound yet, not in force, or violated already: no clock to ask about
        checked[status] += 1
        owed = owed_due_dates(store, ORG, day, None).get(str(iris.obligation(case.obligation)))
        assert due_on == (owed.day if owed else None), case.id
        if status == Status.DUE:
            assert due_on is not None and due_on >= day, case.id
            later = due_on + timedelta(days=5)  # asked ahead of the clock: overdue by then
            assert status_of(store, case.obligation, later) == (Status.DUE, due_on), case.id
            pipeline.revalidate(due_on)  # on the due date itself it is still owed, not broken: nothing opens
            assert not open_violations(store, case.obligation), f"{case.id}: DUE {due_on}, opened on that day"
            pipeline.revalidate(due_on + timedelta(days=1))
            assert open_violations(store, case.obligation), f"{case.id}: DUE {due_on}, nothing opened the day after"
        else:
            for due in clocks:
                pipeline.revalidate(due + timedelta(days=1))
            assert not open_violations(store, case.obligation), f"{case.id}: COMPLIANT, yet a clock ahead opened it"
    assert checked[Status.DUE] >= 5 and checked[Status.COMPLIANT] >= 5 and checked["dated"] >= 1, checked


def clocks_ahead(store: Store, obligation: str, day: date) -> list[date]:
    """The due dates on or after the day of the obligation's clocks (of any owner)."""
    rows = store.select(
        f"SELECT DISTINCT ?due WHERE {{ ?clock {OG.isDueFor.n3()} {iris.obligation(obligation).n3()} ; "
        f"{OG.dueOn.n3()} ?due }}"
    )
    return sorted(d for row in rows if (d := date.fromisoformat(row["due"].value)) >= day)  # type: ignore[union-attr]


def test_a_due_date_counted_into_a_year_the_official_calendar_lacks_is_an_estimate(
    store: Store, pipeline: Pipeline
) -> None:
    """ALG-09 (10 working days from launch): from 28 December 2026 the count runs into 2027, which chinese-calendar
    does not cover, so the date comes from the fallback rule and says so; from March 2026 it does not."""
    feed = {"systemId": "S1", "name": "Feed", "capabilities": ["recommendation"], "publicOpinionAttributes": True}
    registered = {"name": "Acme", "jurisdiction": "CN-BJ"}
    for launch, expected, estimated in (
        ("2026-03-02", date(2026, 3, 16), False),
        ("2026-12-28", date(2027, 1, 12), True),
    ):
        history = (
            {"type": "organisation.registered", "time": f"{launch}T09:00:00+08:00", "data": registered},
            {"type": "aisystem.deployed", "time": f"{launch}T10:00:00+08:00", "data": {**feed, "launchedOn": launch}},
        )
        day = applied(store, pipeline, ShapeCase("ALG-09", "ALG-09", launch, history, None, frozenset()))
        [alg09] = [item for item in applicable_obligations(store, ORG, day) if item.obligation_id == "ALG-09"]
        assert (alg09.status, alg09.due_on, alg09.due_estimated) == (Status.DUE, expected, estimated)


def test_a_system_yet_to_launch_brings_what_it_owes_before_launch(store: Store, pipeline: Pipeline) -> None:
    """An organisation that announces a public-opinion chatbot launching on 21 December is no generative-AI provider
    until then (roles come from live systems), yet GAI-12's security assessment is owed before launch: DUE on the
    launch day, with the role the launch brings and the system as its reason. Done early, nothing is due; not done,
    the clock opens the violation the day after launch."""
    registered, bot = REGISTERED, ANNOUNCED_BOT
    announced = (
        {"type": "organisation.registered", "time": "2026-12-01T09:00:00+08:00", "data": registered},
        {"type": "aisystem.deployed", "time": "2026-12-02T10:00:00+08:00", "data": bot},
    )
    assessed = {
        "type": "assessment.completed",
        "time": "2026-12-10T10:00:00+08:00",
        "data": {"kind": "security", "completedOn": "2026-12-10", "outcome": "passed", "systemId": "S1"},
    }
    system = f"{ORG}/system/S1"
    launch = date(2026, 12, 21)

    day = applied(store, pipeline, ShapeCase("GAI-12", "GAI-12", "announced", announced, None, frozenset()))
    assert day == date(2026, 12, 2)
    [gai12] = [item for item in applicable_obligations(store, ORG, day) if item.obligation_id == "GAI-12"]
    assert (gai12.status, gai12.due_on) == (Status.DUE, launch)
    assert {reason.bound_role.rsplit("#", 1)[-1] for reason in gai12.reasons} == {
        "GenerativeAIServiceProvider",
        "PublicOpinionGenerativeAIServiceProvider",  # the role its trigger requires (kg/reference/triggers.yaml)
    }
    assert {fact for reason in gai12.reasons for fact in reason.assignment.reasons} == {system}
    assert status_of(store, "GAI-12", date(2026, 12, 22)) == (Status.DUE, launch)  # overdue, not yet judged
    pipeline.revalidate(launch)
    assert status_of(store, "GAI-12", launch) == (Status.DUE, launch)  # launch day: the last day to assess
    assert not open_violations(store, "GAI-12")
    pipeline.revalidate(launch + timedelta(days=1))
    assert open_violations(store, "GAI-12") == {"system:S1"}

    day = applied(store, pipeline, ShapeCase("GAI-12", "GAI-12", "assessed", (*announced, assessed), None, frozenset()))
    status, due_on = status_of(store, "GAI-12", day)
    assert (status, due_on) == (Status.DUE, date(2027, 1, 5)), "assessed: only the filing, 10 working days on, is owed"
    pipeline.revalidate(launch + timedelta(days=1))
    assert not open_violations(store, "GAI-12")


def test_a_launch_owes_what_must_be_in_place_when_it_goes_live(store: Store, pipeline: Pipeline) -> None:
    """A public chatbot announced for 21 December owes, besides its clocks, whatever must be in place when it goes
    live (real-identity checks, labels, a complaint channel): each DUE on 20 December, the day before the clock's
    pass judges the live system, with the launch's roles as reasons; one in place already is not. Asked for a day
    after the launch, every obligation of those roles is listed, and the forecast is what the clock then does: each
    DUE before the day is open, each other status the same."""
    registered, bot = REGISTERED, {**ANNOUNCED_BOT, "publicFacing": True}
    real_identity = {"kind": "real-identity-verification", "since": "2026-12-15", "systemId": "S1"}
    announced = (
        {"type": "organisation.registered", "time": "2026-12-01T09:00:00+08:00", "data": registered},
        {"type": "aisystem.deployed", "time": "2026-12-02T10:00:00+08:00", "data": bot},
        {"type": "control.implemented", "time": "2026-12-03T10:00:00+08:00", "data": real_identity},
    )
    launch, after = date(2026, 12, 21), date(2026, 12, 28)
    system = f"{ORG}/system/S1"
    day = applied(store, pipeline, ShapeCase("launch", "DS-02", "announced", announced, None, frozenset()))
    before = {item.obligation_id: item for item in applicable_obligations(store, ORG, day)}
    owed_at_launch = {key for key, item in before.items() if item.due_on == launch - timedelta(days=1)}
    assert {"DS-07", "GAI-08", "GAI-11", "LBL-01", "LBL-02"} <= owed_at_launch, sorted(before)
    assert "DS-02" not in before, "its real-identity check is in place since 15 December"
    assert all(before[key].status is Status.DUE and before[key].foreseen for key in owed_at_launch)
    assert {fact for reason in before["LBL-01"].reasons for fact in reason.assignment.reasons} == {system}

    forecast = {item.obligation_id: (item.status, item.due_on) for item in applicable_obligations(store, ORG, after)}
    assert set(before) < set(forecast)  # the roles of that day bind the obligations with nothing owed too
    assert {Status.COMPLIANT, Status.NOT_CHECKABLE} <= {status for status, _ in forecast.values()}
    pipeline.revalidate(launch)
    assert {key for key in owed_at_launch if open_violations(store, key)} == owed_at_launch
    pipeline.revalidate(after)
    judged = {item.obligation_id: (item.status, item.due_on) for item in applicable_obligations(store, ORG, after)}
    assert set(judged) == set(forecast)
    for key, (status, due_on) in forecast.items():
        if status is Status.DUE and due_on is not None and due_on < after:
            assert judged[key][0] is Status.VIOLATED, key
        else:
            assert judged[key] == (status, due_on), key


def test_looking_back_at_the_eve_of_a_judged_launch_shows_what_was_owed_then(store: Store, pipeline: Pipeline) -> None:
    """Once the clock has judged a launch (20 November), the day before it, asked afterwards, still shows what the
    launch owed by then: DUE that day, as it showed before the launch, not left out."""
    bot = {**ANNOUNCED_BOT, "launchedOn": "2026-11-20"}
    announced = (
        {"type": "organisation.registered", "time": "2026-11-01T09:00:00+08:00", "data": REGISTERED},
        {"type": "aisystem.deployed", "time": "2026-11-02T10:00:00+08:00", "data": bot},
    )
    applied(store, pipeline, ShapeCase("eve", "LBL-01", "announced", announced, None, frozenset()))
    eve = date(2026, 11, 19)

    def owed_on_the_eve() -> set[str]:
        found = applicable_obligations(store, ORG, eve)
        return {item.obligation_id for item in found if (item.status, item.due_on) == (Status.DUE, eve)}

    before = owed_on_the_eve()
    assert {"DS-07", "GAI-08", "GAI-11", "LBL-01", "LBL-02"} <= before
    for day in (19, 20, 25):
        pipeline.revalidate(date(2026, 11, day))
    assert open_violations(store, "LBL-01"), "the launch day's pass opened it"
    assert owed_on_the_eve() == before

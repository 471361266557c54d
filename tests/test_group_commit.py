"""Group commit: overlapping callers share one pipeline batch, each still all or nothing with its own answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from kg.events import Event, parse_event
from kg.group_commit import GroupCommit
from kg.organisations import Outcome
from kg.pipeline import BatchResult, Pipeline
from kg.store import Store, StoreError
from kg.violations import list_violations
from tests.support.cloudevents import cloudevent
from tests.support.shape_cases import clear


@pytest.fixture
def pipeline(store: Store) -> Pipeline:
    """A fresh pipeline on the module's store, emptied of organisations (each test starts from none)."""
    clear(store)
    return Pipeline.from_store(store)


def register(org: str, number: int = 1) -> Event:
    data = {"name": org, "jurisdiction": "CN-BJ"}
    return parse_event(cloudevent(f"{org}-{number}", "organisation.registered", "2026-03-02T09:00:00+08:00", data, org))


def deploy(org: str, number: int = 2, system: str = "feed") -> Event:
    data = {
        "systemId": system,
        "name": "Feed",
        "capabilities": ["recommendation"],
        "launchedOn": "2026-03-02",
        "publicOpinionAttributes": True,
    }
    return parse_event(cloudevent(f"{org}-{number}", "aisystem.deployed", "2026-03-20T10:00:00+08:00", data, org))


def retire(org: str, number: int, system: str) -> Event:
    data = {"systemId": system, "retiredOn": "2026-04-01"}
    return parse_event(cloudevent(f"{org}-{number}", "aisystem.retired", "2026-04-01T10:00:00+08:00", data, org))


def grouped(group_commit: GroupCommit, batches: list[list[Event]]) -> list[BatchResult | BaseException]:
    """Each batch sent from its own thread while the pipeline is busy, in this order, so that all of them wait for
    the same next batch; the answers in the same order."""
    answers: list[BatchResult | BaseException | None] = [None] * len(batches)

    def send(index: int) -> None:
        try:
            answers[index] = group_commit.process(batches[index])
        except BaseException as error:  # the test reads it
            answers[index] = error

    threads = []
    with group_commit.pipeline.lock:  # a batch "running"
        for index in range(len(batches)):
            thread = threading.Thread(target=send, args=(index,))
            thread.start()
            threads.append(thread)
            wait_until(partial(has_waiting, group_commit, index + 1))
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def has_waiting(group_commit: GroupCommit, count: int) -> bool:
    return group_commit.waiting == count


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def statuses(outcomes: list[Outcome]) -> list[str]:
    return [outcome.status for outcome in outcomes]


def open_obligations(store: Store, org: str) -> set[str]:
    return {entry["obligation"] for entry in list_violations(store, org, "open")}


def test_overlapping_calls_share_one_batch_and_get_their_own_answers(pipeline: Pipeline) -> None:
    group_commit = GroupCommit(pipeline)
    orgs = ["G1", "G2", "G3"]
    answers = grouped(group_commit, [[register(org), deploy(org)] for org in orgs])
    assert group_commit.groups == 1
    for org, answer in zip(orgs, answers, strict=True):
        assert isinstance(answer, BatchResult)
        assert [outcome.event.subject for outcome in answer.outcomes] == [org, org]
        assert statuses(answer.outcomes) == ["applied", "applied"]
        assert answer.changes, f"{org}'s deployment opened nothing"
        assert {change.organisation for change in answer.changes} == {org}
        assert {change.obligation for change in answer.changes if change.kind == "opened"} == open_obligations(
            pipeline.store, org
        )


def test_grouped_verdicts_equal_one_call_at_a_time(pipeline: Pipeline, store: Store) -> None:
    batches = [[register(org), deploy(org)] for org in ("H1", "H2")] + [
        [register("H3"), deploy("H3"), retire("H3", 3, "feed")]
    ]
    grouped_answers = grouped(GroupCommit(pipeline), batches)
    by_group = {org: open_obligations(store, org) for org in ("H1", "H2", "H3")}
    changes_by_group = sorted(
        (c.organisation, c.obligation, c.kind) for a in grouped_answers if isinstance(a, BatchResult) for c in a.changes
    )
    clear(store)
    alone = Pipeline.from_store(store)
    changes_alone = sorted(
        (c.organisation, c.obligation, c.kind) for batch in batches for c in alone.process(batch).changes
    )
    assert {org: open_obligations(store, org) for org in ("H1", "H2", "H3")} == by_group
    assert changes_by_group == changes_alone
    assert by_group["H1"] and not by_group["H3"] - by_group["H1"]  # H3's system retired: nothing more than H1's


def test_a_rejected_call_changes_nothing_and_does_not_hold_back_the_others(pipeline: Pipeline) -> None:
    group_commit = GroupCommit(pipeline)
    broken = [register("R1"), retire("R1", 2, "no-such-system")]
    answers = grouped(group_commit, [broken, [register("R2"), deploy("R2")]])
    first, second = answers
    assert isinstance(first, BatchResult) and isinstance(second, BatchResult)
    assert statuses(first.outcomes) == ["applied", "rejected"]  # what apply would have made of it, nothing applied
    assert "no-such-system" in (first.outcomes[1].reason or "")
    assert not first.changes
    assert statuses(second.outcomes) == ["applied", "applied"]
    assert statuses(group_commit.process([register("R1")]).outcomes) == ["applied"]  # not a duplicate: not applied


def test_a_call_that_needs_a_rejected_earlier_one_is_rejected_too(pipeline: Pipeline) -> None:
    """The second call deploys a system of the organisation the first call registers; the first is refused."""
    answers = grouped(GroupCommit(pipeline), [[register("D1"), retire("D1", 2, "ghost")], [deploy("D1", 3)]])
    first, second = answers
    assert isinstance(first, BatchResult) and isinstance(second, BatchResult)
    assert statuses(first.outcomes) == ["applied", "rejected"]
    assert statuses(second.outcomes) == ["rejected"]
    assert "D1" in (second.outcomes[0].reason or "")


def test_a_duplicate_of_an_event_in_the_same_group_is_reported_as_one(pipeline: Pipeline) -> None:
    answers = grouped(GroupCommit(pipeline), [[register("U1")], [register("U1")]])
    assert [statuses(a.outcomes) for a in answers if isinstance(a, BatchResult)] == [["applied"], ["duplicate"]]


def test_every_caller_of_a_failed_batch_gets_the_error_and_the_next_call_works(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    group_commit = GroupCommit(pipeline)

    def failing(events: Any) -> BatchResult:
        raise StoreError("the disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "process", failing)
        answers = grouped(group_commit, [[register("F1")], [register("F2")]])
    assert all(isinstance(answer, StoreError) for answer in answers)
    assert statuses(group_commit.process([register("F1")]).outcomes) == ["applied"]


def test_after_a_store_failure_in_a_group_each_caller_gets_its_own_changes(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store fails once while the group is judged, after its events were applied: the group is run again call by
    call, the first call's batch finishes what the group left pending (``Pipeline._finish_unfinished``), and each
    caller is answered with its own organisation's changes (before: the first got every caller's, the others none)."""
    group_commit = GroupCommit(pipeline)
    real_validate, failures = pipeline._validate, list[bool]()

    def failing_once(causes: Any, *args: Any, **kwargs: Any) -> Any:
        if not failures and any(cause.event_id in {"S1-2", "S2-2"} for cause in causes.values()):
            failures.append(True)  # the deployments applied, their verdicts not written
            raise StoreError("the store did not answer")
        return real_validate(causes, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_validate", failing_once)
        answers = grouped(group_commit, [[register("S1"), deploy("S1")], [register("S2"), deploy("S2")]])
    assert failures, "the store never failed"
    for org, answer in zip(("S1", "S2"), answers, strict=True):
        assert isinstance(answer, BatchResult), answer
        assert answer.changes, f"{org} was answered without its changes"
        assert {change.organisation for change in answer.changes} == {org}


def test_a_fault_in_one_call_fails_that_call_alone(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that fails on one caller's event (an error no check foresaw) is run again call by call: the others
    are applied, and only that caller gets the error."""
    group_commit = GroupCommit(pipeline)
    process = pipeline.process

    def failing_on_p2(events: Any, **options: Any) -> BatchResult:
        if any(event.subject == "P2" for event in events):
            raise ValueError("no instant for this event")
        return process(events, **options)

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "process", failing_on_p2)
        answers = grouped(group_commit, [[register("P1")], [register("P2")], [register("P3")]])
    first, second, third = answers
    assert isinstance(second, ValueError)
    assert isinstance(first, BatchResult) and statuses(first.outcomes) == ["applied"]
    assert isinstance(third, BatchResult) and statuses(third.outcomes) == ["applied"]


def test_a_group_stops_at_max_events(pipeline: Pipeline) -> None:
    group_commit = GroupCommit(pipeline, max_events=2)
    answers = grouped(group_commit, [[register("M1"), deploy("M1")], [register("M2")], [register("M3")]])
    assert all(isinstance(answer, BatchResult) for answer in answers)
    assert group_commit.groups == 2  # [M1 ×2], then [M2, M3]
    with pytest.raises(ValueError, match="max_events"):
        GroupCommit(pipeline, max_events=0)

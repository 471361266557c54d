"""A batch's later rounds wait in the on-disk store (``kg/queued_rounds.py``): a crash between rounds leaves the batch
whole after the next start, whatever the batch holds; a failure the process survives leaves nothing behind.

A crash is simulated by an apply that raises at the chosen round while the pipeline's clean-up is switched off: a
process that is gone runs nothing after the crash. ``tests/test_cli.py`` kills a real server with SIGKILL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from kg.build import ensure_built
from kg.events import Event
from kg.iris import Graphs
from kg.pipeline import Pipeline
from kg.queued_rounds import waiting
from kg.store import Store, open_store
from kg.violations import list_violations
from tests.support.cloudevents import ORG
from tests.test_pipeline import DEPLOY, REGISTER, event


class CrashError(Exception):
    pass


def built_on_disk(directory: Path) -> Iterator[Store]:
    store = open_store("oxigraph", data_dir=directory)
    ensure_built(store)
    yield store
    store.close()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Store]:
    yield from built_on_disk(tmp_path / "crashed")


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[Store]:
    """The same batch, uninterrupted."""
    yield from built_on_disk(tmp_path / "uninterrupted")


def dying(
    store: Store, at_apply: int, *, clean_up: bool = False, raising: type[BaseException] = CrashError
) -> Pipeline:
    """A pipeline whose ``at_apply``-th apply raises; without ``clean_up``, as if the process died there."""
    pipeline = Pipeline.from_store(store)
    real_apply, calls = pipeline.applier.apply, []

    def apply(events: Any, *, also: Any = ()) -> Any:
        calls.append(len(events))
        if len(calls) == at_apply:
            raise raising
        return real_apply(events, also=also)

    pipeline.applier.apply = apply  # type: ignore[method-assign]
    if not clean_up:
        pipeline._forget = lambda entries: None  # type: ignore[method-assign]
    return pipeline


def organisations(store: Store) -> set[str]:
    return set(store.export_graph(Graphs.ORGANISATIONS, ox.RdfFormat.N_TRIPLES).decode().splitlines())


def violations(store: Store) -> set[tuple[str, str, str, str | None]]:
    return {(v["id"], v["status"], v["openedAt"], v["resolvedAt"]) for v in list_violations(store, ORG, "all")}


def crashed_then_restarted(store: Store, batch: list[Event], at_apply: int) -> Pipeline:
    with pytest.raises(CrashError):
        dying(store, at_apply).process(batch)
    assert waiting(store), "the crash left the batch's later rounds waiting"
    restarted = Pipeline.from_store(store)
    restarted.recover()
    assert waiting(store) == [] and restarted.recover() == []
    return restarted


LATE = event(5, "organisation.updated", "2026-03-18T09:00:00+08:00", {"name": "Acme Ltd"})


def test_a_batch_cut_between_its_rounds_is_whole_after_the_restart(disk: Store, reference: Store) -> None:
    batch = [REGISTER, DEPLOY, LATE]  # one organisation: three rounds
    Pipeline.from_store(reference).process(batch)
    restarted = crashed_then_restarted(disk, batch, at_apply=2)
    assert violations(disk) == violations(reference) and violations(disk)
    assert organisations(disk) == organisations(reference)
    assert [outcome.status for outcome in restarted.process(batch).outcomes] == ["duplicate"] * 3


def test_one_id_twice_in_a_batch_ends_as_without_a_crash(disk: Store, reference: Store) -> None:
    """The second use of an id that said something else is refused, after a crash as without one; each place of
    the batch is an entry of its own, so neither is lost nor taken for the other."""
    first = event(6, "organisation.updated", "2026-03-03T09:00:00+08:00", {"name": "First"})
    second = event(6, "organisation.updated", "2026-03-04T09:00:00+08:00", {"name": "Second"})
    batch = [REGISTER, first, second]
    statuses = [outcome.status for outcome in Pipeline.from_store(reference).process(batch).outcomes]
    assert statuses == ["applied", "applied", "rejected"]
    crashed_then_restarted(disk, batch, at_apply=2)
    assert organisations(disk) == organisations(reference)


def test_an_event_larger_once_escaped_than_an_event_may_be_is_recovered(disk: Store, reference: Store) -> None:
    """300,000 Chinese characters (in a field the contract does not name, which is kept) are 900 KB as sent and
    1.8 MB as stored JSON (each a \\uXXXX escape): the stored JSON is decoded before it is read as an event, so the
    size limit for senders does not refuse it at start."""
    long_name = event(7, "organisation.updated", "2026-03-05T09:00:00+08:00", {"name": "N", "note": "名" * 300_000})
    batch = [REGISTER, long_name]
    Pipeline.from_store(reference).process(batch)
    crashed_then_restarted(disk, batch, at_apply=2)
    assert organisations(disk) == organisations(reference)


def test_a_failure_the_process_survives_leaves_nothing_to_apply_later(disk: Store) -> None:
    """The caller hears of the failure (an HTTP 500, a worker applying one by one), so the batch's later events must
    not be applied at some later start, behind what was sent since."""
    with pytest.raises(CrashError):
        dying(disk, 2, clean_up=True).process([REGISTER, DEPLOY, LATE])
    assert waiting(disk) == []
    assert Pipeline.from_store(disk).recover() == []


def test_an_interrupt_leaves_the_rest_to_the_next_start_as_a_crash_does(disk: Store, reference: Store) -> None:
    """Ctrl-C in ``obligraph ingest`` between two rounds: the batch is whole after the next start."""
    batch = [REGISTER, DEPLOY, LATE]
    Pipeline.from_store(reference).process(batch)
    with pytest.raises(KeyboardInterrupt):
        dying(disk, 2, clean_up=True, raising=KeyboardInterrupt).process(batch)
    assert len(waiting(disk)) == 2
    Pipeline.from_store(disk).recover()
    assert organisations(disk) == organisations(reference) and violations(disk) == violations(reference)


def test_a_queued_event_that_fails_alone_is_dropped_and_the_rest_applied(
    disk: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(CrashError):
        dying(disk, 2).process([REGISTER, DEPLOY, LATE])
    restarted = Pipeline.from_store(disk)
    real_apply = restarted.applier.apply

    def refuse_the_deployment(events: Any, *, also: Any = ()) -> Any:
        if any(item.id == DEPLOY.id for item in events):
            raise RuntimeError("poison")
        return real_apply(events, also=also)

    restarted.applier.apply = refuse_the_deployment  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="obligraph.pipeline"):
        restarted.recover()
    assert waiting(disk) == []
    assert "failed alone and is dropped: poison" in caplog.text
    assert [outcome.status for outcome in Pipeline.from_store(disk).process([LATE]).outcomes] == ["duplicate"]


def test_nothing_is_queued_in_memory_where_a_crash_keeps_nothing() -> None:
    store = open_store("memory")
    ensure_built(store)
    with pytest.raises(CrashError):
        dying(store, 2).process([REGISTER, DEPLOY, LATE])
    assert waiting(store) == []

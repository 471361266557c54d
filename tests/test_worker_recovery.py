"""The worker as an operator runs it (``obligraph worker`` processes): killed, restarted, scaled out, stopped.

``kill -9`` lands wherever the worker happens to be in its five commit steps; whatever it interrupts, the final
graph must equal an uninterrupted run's, with every event applied once and every violation change published
(at least once). Two workers share a remote Oxigraph server; with the embedded store a second one refuses.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from kg.outbox import pending_dead_letters
from kg.positions import stored_offsets
from kg.store import RemoteEndpoints, RemoteStore, Store, open_store
from kg.violations import list_violations
from tests.support.oxigraph_server import running_oxigraph
from tests.support.tansu import consume, produce
from tests.test_worker import (
    OBLIGRAPH,
    applied_events,
    as_messages,
    clean_env,
    fresh_config,
    published,
    reference_run,
    run_until_idle,
    toggling_stream,
    violation_set,
    worker_command,
)

BATCH_LINE = "obligraph.worker: batch of"


@contextmanager
def worker_process(command: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process logging every batch to a file; killed if the test leaves it running."""
    log: IO[bytes] = log_path.open("ab")
    process = subprocess.Popen([*command, "--verbose"], env=clean_env(), stdout=log, stderr=log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        log.close()


def batches_logged(log_path: Path) -> int:
    return log_path.read_text(errors="replace").count(BATCH_LINE)


def wait_for(condition: object, timeout_s: float, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited with {process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def check_final_state(store: Store, bootstrap: str, topic: str, events: list[dict[str, object]]) -> None:
    expected = reference_run(events)
    listed = list_violations(store, None, "all")
    assert len({entry["id"] for entry in listed}) == len(listed), "a violation appears twice"
    assert violation_set(store) == expected.violations, sorted(violation_set(store) ^ expected.violations)
    assert applied_events(store) == len(events), "an event was lost or applied twice"
    cloudevents = published(bootstrap, topic)
    assert {event["id"] for event in cloudevents} == expected.cloudevent_ids  # at least once, nothing extra


@pytest.mark.slow
@pytest.mark.timeout(600)  # 289 s in a CI run of this machine at its slowest, and over 300 s in the next
def test_kill_9_at_several_points_of_a_20000_event_stream_loses_and_repeats_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    events = toggling_stream(20_000, n_orgs=60, toggle_every=50, tag="CRASH")
    config = fresh_config(kafka_bootstrap, batch_size=500)
    produce(kafka_bootstrap, config.events_topic, as_messages(events))
    data_dir = tmp_path / "data"
    built = subprocess.run(
        [OBLIGRAPH, "--data-dir", str(data_dir), "build"], env=clean_env(), capture_output=True, timeout=120
    )
    assert built.returncode == 0, built.stderr
    command = worker_command(config, data_dir)
    log_path = tmp_path / "worker.log"
    rng = random.Random(9)

    for kill_after in (1, 6, 12, 20):  # batches logged so far, across restarts; then a random moment
        with worker_process(command, log_path) as process:
            wait_for(lambda n=kill_after: batches_logged(log_path) >= n, 90, f"batch {kill_after}", process)
            time.sleep(rng.uniform(0.0, 0.4))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    run_until_idle(command, idle_s=4, timeout_s=150)

    store = open_store("oxigraph", data_dir=data_dir)
    try:
        check_final_state(store, kafka_bootstrap, config.violations_topic, events)
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_second_worker_joining_and_leaving_mid_stream_changes_nothing(kafka_bootstrap: str, tmp_path: Path) -> None:
    events = toggling_stream(6_000, n_orgs=60, toggle_every=50, tag="REBAL")
    config = fresh_config(kafka_bootstrap, batch_size=200)
    messages = as_messages(events)
    # Half the stream now, half once the second worker holds partitions: a fast first worker could otherwise
    # finish the whole stream before the second one joins, leaving it nothing to do.
    produce(kafka_bootstrap, config.events_topic, messages[: len(messages) // 2])
    with running_oxigraph(tmp_path / "oxigraph") as url:
        remote = ["--store", "remote", "--remote-url", url]
        built = subprocess.run([OBLIGRAPH, *remote, "build"], env=clean_env(), capture_output=True, timeout=180)
        assert built.returncode == 0, built.stderr
        command = worker_command(config, tmp_path / "unused", *remote)
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        with worker_process([*command, "--stop-when-idle", "20"], first_log) as first:
            wait_for(lambda: batches_logged(first_log) >= 2, 90, "the first worker's batches", first)
            with worker_process(command, second_log) as second:
                wait_for(lambda: "assigned " in second_log.read_text(errors="replace"), 90, "the join", second)
                produce(kafka_bootstrap, config.events_topic, messages[len(messages) // 2 :])
                wait_for(lambda: batches_logged(second_log) >= 2, 90, "the second worker's batches", second)
                second.send_signal(signal.SIGTERM)  # leaves the group gracefully
                assert second.wait(timeout=60) == 0, second_log.read_text()[-3000:]
            assert "partitions revoked" in first_log.read_text()
            assert first.wait(timeout=180) == 0, first_log.read_text()[-3000:]
        assert "stopped:" in second_log.read_text()
        store = RemoteStore(RemoteEndpoints.for_base_url(url))
        try:
            check_final_state(store, kafka_bootstrap, config.violations_topic, events)
        finally:
            store.close()


@pytest.mark.timeout(120)
def test_a_second_worker_on_the_same_embedded_store_refuses_and_sigterm_stops_the_first(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    config = fresh_config(kafka_bootstrap)
    produce(kafka_bootstrap, config.events_topic, as_messages(toggling_stream(50, n_orgs=5, tag="OWN")))
    command = worker_command(config, tmp_path / "data")
    log_path = tmp_path / "first.log"
    with worker_process(command, log_path) as first:
        wait_for(lambda: batches_logged(log_path) >= 1, 90, "the first worker's batch", first)
        second = subprocess.run(command, env=clean_env(), capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert "in use by another obligraph process" in second.stderr
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0
    text = log_path.read_text()
    assert "SIGTERM: finishing the batch, then stopping" in text and "stopped: 50 records" in text
    store = open_store("oxigraph", data_dir=tmp_path / "data")
    try:
        assert applied_events(store) == 50
    finally:
        store.close()


HOSTILE: list[tuple[bytes | None, bytes | None, str]] = [  # key, value, a part of the reason
    (b"K1", b"not json \xff\x00", "JSON"),
    (None, b"[1, 2]", "object"),
    (b"K2", None, "tombstone"),
    (b"", json.dumps({"specversion": "1.0", "id": "x", "subject": "A"}).encode(), "source"),
    (b"K3", b'{"specversion": "1.0", "id": "\\ud800", "subject": "\\ud800"}', "surrogate"),
]


def unknown_references(events: list[dict[str, object]]) -> list[tuple[bytes | None, bytes | None, str]]:
    """Valid events the graph rejects: an organisation nobody registered, a system nobody deployed."""
    deployed = next(event for event in events if event["type"] == "aisystem.deployed")
    stranger = {**deployed, "id": "s1", "subject": "NOBODY", "source": "urn:org:NOBODY"}
    ghost = {**events[-1], "id": "g1", "type": "aisystem.updated", "data": {"systemId": "ghost", "name": "G"}}
    return [
        (b"NOBODY", json.dumps(stranger).encode(), "unknown organisation 'NOBODY'"),
        (str(ghost["subject"]).encode(), json.dumps(ghost).encode(), "no AI system 'ghost'"),
    ]


@pytest.mark.timeout(300)
def test_dead_letters_committed_but_not_sent_when_killed_are_sent_once_after_restart(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """kill -9 between step 2 (graph, positions and dead letters stored) and step 3 (dead letters sent)."""
    good = toggling_stream(3600, n_orgs=60, toggle_every=50, tag="DLQ")
    first = 120  # registrations and deployments
    bad = HOSTILE + unknown_references(good[:first])
    messages = [(key, value) for key, value, _ in bad[:5]] + as_messages(good[:first])
    messages += [(key, value) for key, value, _ in bad[5:]] + as_messages(good[first:])
    bad_at = [*range(5), 5 + first, 6 + first]
    config = fresh_config(kafka_bootstrap, batch_size=100)
    placed = produce(kafka_bootstrap, config.events_topic, messages)
    data_dir = tmp_path / "data"
    built = subprocess.run(
        [OBLIGRAPH, "--data-dir", str(data_dir), "build"], env=clean_env(), capture_output=True, timeout=120
    )
    assert built.returncode == 0, built.stderr

    arguments = [str(data_dir), kafka_bootstrap, config.events_topic, config.violations_topic]
    arguments += [config.dead_letter_topic, config.group, str(config.batch_size)]
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.support.crashing_worker", *arguments],
        env=clean_env(),
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    store = open_store("oxigraph", data_dir=data_dir)
    try:
        waiting = pending_dead_letters(store)
        assert waiting and stored_offsets(store, config.group, config.events_topic), "step 2 was not committed"
    finally:
        store.close()
    assert consume(kafka_bootstrap, config.dead_letter_topic, idle_s=1.0) == [], "step 3 ran before the kill"

    run_until_idle(worker_command(config, data_dir), timeout_s=150)

    letters = consume(kafka_bootstrap, config.dead_letter_topic, expect=len(bad), idle_s=2.0)
    assert len(letters) == len(bad), [(letter.key, letter.value, dict(letter.headers)) for letter in letters]
    by_source = {(int(dict(r.headers)["source-partition"]), int(dict(r.headers)["source-offset"])): r for r in letters}
    for (key, value, reason), index in zip(bad, bad_at, strict=True):
        partition, offset = placed[index]
        letter = by_source[(partition, offset)]
        headers = dict(letter.headers)
        assert (letter.key, letter.value) == (key, value)
        assert [name for name, _ in letter.headers] == ["reason", "source-topic", "source-partition", "source-offset"]
        assert headers["source-topic"] == config.events_topic.encode()
        assert reason in headers["reason"].decode(), headers["reason"]
    store = open_store("oxigraph", data_dir=data_dir)
    try:
        assert pending_dead_letters(store) == []
        check_final_state(store, kafka_bootstrap, config.violations_topic, good)
    finally:
        store.close()

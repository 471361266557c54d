"""The worker as an operator runs it (``obligraph worker`` processes): killed, restarted, scaled out, stopped.

``kill -9`` lands wherever the worker happens to be in its five commit steps; whatever it interrupts, the final
graph must equal an uninterrupted run's, with every event applied once and every violation change published
(at least once). Two workers share a remote Oxigraph server; with the embedded store a second one refuses.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from kg.store import RemoteEndpoints, RemoteStore, Store, open_store
from kg.violations import list_violations
from tests.support.oxigraph_server import running_oxigraph
from tests.support.tansu import produce
from tests.test_worker import (
    OBLIGRAPH,
    applied_events,
    as_messages,
    clean_env,
    fresh_config,
    published,
    reference_run,
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
    assert violation_set(store) == expected.violations
    assert applied_events(store) == len(events), "an event was lost or applied twice"
    cloudevents = published(bootstrap, topic)
    assert {event["id"] for event in cloudevents} == expected.cloudevent_ids  # at least once, nothing extra


@pytest.mark.slow
@pytest.mark.timeout(300)
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
    final = subprocess.run(
        [*command, "--stop-when-idle", "4"], env=clean_env(), capture_output=True, text=True, timeout=150
    )
    assert final.returncode == 0, final.stderr[-3000:]

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
    produce(kafka_bootstrap, config.events_topic, as_messages(events))
    with running_oxigraph(tmp_path / "oxigraph") as url:
        remote = ["--store", "remote", "--remote-url", url]
        built = subprocess.run([OBLIGRAPH, *remote, "build"], env=clean_env(), capture_output=True, timeout=180)
        assert built.returncode == 0, built.stderr
        command = worker_command(config, tmp_path / "unused", *remote)
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        with worker_process([*command, "--stop-when-idle", "5"], first_log) as first:
            wait_for(lambda: batches_logged(first_log) >= 2, 90, "the first worker's batches", first)
            with worker_process(command, second_log) as second:
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

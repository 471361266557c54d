"""``violationChanged`` fed from the violations topic (``api/graphql/kafka_feed.py``), on a real broker.

The broker is Tansu (``tests/support/tansu.py``). It answers "latest offset" wrongly for a topic that holds
records (``../shared/spec/kafka-for-tests.md``), and the feed starts at the end of each partition: so every
test gives the feed a fresh, empty topic and publishes only once the feed says it is positioned.

End to end, the API is served over HTTP from the composition root's ``build_app`` with
``subscription_source="kafka"``, a real ``gql`` client subscribes over graphql-transport-ws, and the real Kafka
worker (``ingest.worker.Worker``, in a thread, sharing the API's store as the Compose services share Oxigraph)
validates events from the events topic and publishes the violation changes the API then reads.
"""

from __future__ import annotations

import ast
import asyncio
import json
import queue
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from pydantic import SecretStr
from starlette.applications import Starlette

from api.graphql.kafka_feed import ViolationFeed, ViolationFeedConfig
from ingest.config import WorkerConfig
from ingest.worker import Worker
from kg.pipeline import Pipeline
from kg.store import Store
from kg.violations import NotAViolationChangeError, ViolationChange, parse_violation_change
from obligraph.bootstrap import build_app
from obligraph.settings import Settings
from tests.support.cloudevents import ORG
from tests.support.graphql_client import ws_transport
from tests.support.live_server import live_server
from tests.support.oxigraph_server import free_port, stop_process
from tests.support.shape_cases import clear
from tests.support.tansu import create_topics, produce, tansu_binary
from tests.test_events_api import DEPLOY, LATE, REGISTER, STRUCTURED

CHINA = timezone(timedelta(hours=8))
OTHER = "91110108MA01YYYY1Y"
TOKEN = "kafka-feed-test-token-0123456789"
SUBSCRIPTION = """subscription($org: ID) { violationChanged(organisation: $org) { eventId kind violationId episode
  obligationId organisationId focusNode severity at by message zh: message(lang: ZH)
  violation { status history { causedBy } } } }"""

OPENED = ViolationChange(
    kind="opened",
    violation_id="0123456789abcdef0123",
    episode=2,
    organisation=ORG,
    obligation="ALG-09",
    focus_node="https://w3id.org/obligraph/org/91110108MA01XXXX0X/system/feed",
    message="ALG-09: file the algorithm (Art. 24) — 备案",
    severity="Violation",
    at=datetime(2026, 3, 20, 9, 0, 0, 123456, tzinfo=CHINA),
    by="evt-42",
)
RESOLVED = ViolationChange(
    kind="resolved",
    violation_id="0123456789abcdef0123",
    episode=2,
    organisation=ORG,
    obligation="ALG-09",
    focus_node=OPENED.focus_node,
    message="",
    severity="Warning",
    at=datetime(2026, 4, 1, 0, 0, tzinfo=CHINA),
    by="clock",
)


def as_bytes(change: ViolationChange) -> bytes:
    """The record value the worker publishes (``ingest.publisher``: the outbox holds this JSON)."""
    return json.dumps(change.to_cloudevent()).encode()


# --- the parser ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("change", [OPENED, RESOLVED], ids=["opened", "resolved"])
def test_a_published_change_parses_back_to_the_same_change(change: ViolationChange) -> None:
    assert parse_violation_change(as_bytes(change)) == change
    assert parse_violation_change(json.dumps(change.to_cloudevent(), ensure_ascii=False)) == change


def _broken(edit: Callable[[dict[str, Any]], object]) -> bytes:
    event = OPENED.to_cloudevent()
    edit(event)
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (None, "no value"),
        (b"\xff\xfe not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"[" * 100_000, "not valid JSON"),
        (_broken(lambda e: e.update(type="organisation.registered")), "type"),
        (_broken(lambda e: e.update(specversion="0.3")), "specversion"),
        (_broken(lambda e: e.update(data="x")), "data"),
        (_broken(lambda e: e["data"].pop("organisation")), "data.organisation"),
        (_broken(lambda e: e["data"].update(severity=3)), "data.severity"),
        (_broken(lambda e: e["data"].pop("detectedAt")), "data.detectedAt"),
        (_broken(lambda e: e["data"].update(detectedAt="2026-03-20T09:00:00")), "UTC offset"),
        (_broken(lambda e: e["data"].update(detectedAt="20/03/2026")), "ISO 8601"),
        (_broken(lambda e: e["data"].update(violationId="x> } ; DROP ALL ; <y")), "data.violationId"),
        (_broken(lambda e: e.update(id="0123456789abcdef0123-two-opened")), "episode"),
        (_broken(lambda e: e.update(id="0123456789abcdef0123-0-opened")), "episode"),
        (_broken(lambda e: e.update(id="someone-else-2-opened")), "id"),
        (_broken(lambda e: e.update(id="0123456789abcdef0123-2-resolved")), "id"),
    ],
)
def test_what_is_not_a_violation_change_is_refused_naming_the_field(value: bytes | None, names: str) -> None:
    with pytest.raises(NotAViolationChangeError, match=names):
        parse_violation_change(value)


def test_the_api_reads_the_topic_without_the_ingest_adapter() -> None:
    """``api/`` and ``ingest/`` are adapters around ``kg/`` and never import each other (``../shared/STYLE.md``)."""
    imported: set[str] = set()
    for path in (Path(__file__).parent.parent / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert "kafka" in imported and "ingest" not in imported


# --- the feed on a broker ---------------------------------------------------------------------------------------


def fresh_topic(bootstrap: str, partitions: int = 3) -> str:
    topic = f"violations-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, [topic], partitions=partitions)
    return topic


def quick(bootstrap: str, topic: str) -> ViolationFeedConfig:
    return ViolationFeedConfig(
        bootstrap=bootstrap,
        topic=topic,
        client_id="obligraph-api-test",
        poll_timeout_ms=200,
        connect_timeout_ms=1_000,
        request_timeout_ms=5_000,
        metadata_interval_s=0.5,
        backoff_initial_s=0.2,
        backoff_max_s=1.0,
    )


class Received:
    """A ``publish`` callback for the feed, as ``ChangeHub.publish`` is: called from the feed's thread."""

    def __init__(self) -> None:
        self.changes: queue.Queue[ViolationChange] = queue.Queue()
        self.batches = 0

    def __call__(self, changes: Sequence[ViolationChange]) -> None:
        self.batches += 1
        for change in changes:
            self.changes.put(change)

    def take(self, count: int, timeout_s: float = 20.0) -> list[ViolationChange]:
        deadline = time.monotonic() + timeout_s
        return [self.changes.get(timeout=max(0.01, deadline - time.monotonic())) for _ in range(count)]


@contextmanager
def running_feed(config: ViolationFeedConfig, received: Received) -> Iterator[ViolationFeed]:
    feed = ViolationFeed(config, received)
    feed.start()
    try:
        yield feed
    finally:
        started = time.monotonic()
        assert feed.stop(timeout_s=5.0), "the feed's thread did not end"
        assert time.monotonic() - started < 3.0
        assert not feed.status().running


def kafka_io_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name.startswith("kafka-io-obligraph-api-test"))


def test_a_malformed_record_is_skipped_and_the_next_good_one_still_arrives(kafka_bootstrap: str) -> None:
    topic = fresh_topic(kafka_bootstrap)
    received = Received()
    with running_feed(quick(kafka_bootstrap, topic), received) as feed:
        assert feed.wait_ready(15), feed.status()
        key = ORG.encode()  # one key: one partition, so the order below is the order read
        malformed = [b"\xff not json", b'{"specversion": "1.0", "type": "violation.opened"}', None]
        good = [as_bytes(OPENED), as_bytes(OPENED), as_bytes(RESOLVED)]
        placed = produce(kafka_bootstrap, topic, [(key, value) for value in (*malformed, *good)])

        assert received.take(2) == [OPENED, RESOLVED]  # the repeat of OPENED (at-least-once) is dropped
        status = feed.status()
        assert status.records == 6 and status.skipped == 3 and status.duplicates == 1 and status.changes == 2
        assert status.connected and status.ready and status.partitions == [0, 1, 2]
        assert status.last_error is None
        assert {partition for partition, _ in placed} == {placed[0][0]}
    assert received.changes.empty()


def test_a_broker_that_is_down_at_start_and_later_is_waited_for_and_nothing_leaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    received = Received()
    threads_before = kafka_io_threads()
    with running_feed(quick(bootstrap, "obligraph.violations"), received) as feed:
        _wait(lambda: feed.status().failures >= 2, "the feed never retried")
        status = feed.status()
        assert status.running and not status.ready and status.last_error is not None
        assert "retrying in" in caplog.text
        assert kafka_io_threads() <= threads_before + 1  # a failed attempt closes its client

        with tansu_on(port):
            create_topics(bootstrap, ["obligraph.violations"])
            assert feed.wait_ready(20), feed.status()
            send_to(bootstrap, "obligraph.violations", 0, as_bytes(OPENED))
            assert received.take(1) == [OPENED]

        # The broker goes away and comes back: the feed reconnects and resumes where it stood. (Tansu comes
        # back empty; partition 1, which the feed had read nothing of, is where it stands the same as before.
        # On partition 0 it stands past the new, empty log: Kafka would answer "out of range" and the feed
        # would start that partition over, but Tansu answers with nothing, so this test does not go there.)
        _wait(lambda: not feed.status().ready, "the feed did not notice the broker had gone", timeout_s=20)
        with tansu_on(port):
            create_topics(bootstrap, ["obligraph.violations"])
            assert feed.wait_ready(20), feed.status()
            send_to(bootstrap, "obligraph.violations", 1, as_bytes(RESOLVED))
            assert received.take(1) == [RESOLVED]
            assert feed.status().failures >= 3
    _wait(lambda: kafka_io_threads() <= threads_before, "the feed left a Kafka IO thread behind", timeout_s=5)


def test_a_topic_created_after_the_feed_started_is_read_from_its_beginning(kafka_bootstrap: str) -> None:
    topic = f"violations-{uuid.uuid4().hex[:8]}"
    received = Received()
    with running_feed(quick(kafka_bootstrap, topic), received) as feed:
        _wait(lambda: feed.status().connected, "the feed did not connect")
        assert not feed.status().ready  # no topic yet
        create_topics(kafka_bootstrap, [topic], partitions=2)
        produce(kafka_bootstrap, topic, [(ORG.encode(), as_bytes(OPENED))])  # before the feed saw the topic
        assert received.take(1) == [OPENED]
        assert feed.status().partitions == [0, 1]


# --- end to end: worker → topic → API → WebSocket ----------------------------------------------------------------


@pytest.fixture
def served(store: Store, kafka_bootstrap: str) -> Iterator[tuple[str, Starlette, str]]:
    """``build_app`` as ``obligraph serve`` calls it, with the kafka source and a fresh violations topic."""
    clear(store)
    topic = fresh_topic(kafka_bootstrap)
    settings = Settings(
        store="memory",
        subscription_source="kafka",
        kafka_bootstrap=kafka_bootstrap,
        violations_topic=topic,
        graphql_token=SecretStr(TOKEN),
        clock_interval_s=0,
    )
    app = build_app(settings, store, Pipeline.from_store(store))
    with live_server(app, ready_path="/health") as url:
        assert app.state.violation_feed.wait_ready(20), app.state.violation_feed.status()
        yield url, app, topic
    assert not app.state.violation_feed.status().running  # the lifespan stopped it


def of(org: str, event: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {**event, "id": f"{prefix}{event['id']}", "subject": org, "source": f"urn:org:{org}"}


async def _subscribe(url: str, app: Starlette, org: str, wanted: int, act: Callable[[], None]) -> list[dict[str, Any]]:
    """Subscribe to ``org``'s changes, then ``act`` (in a thread); the first ``wanted`` changes, and any extra."""
    received: list[dict[str, Any]] = []
    async with Client(transport=ws_transport(url, init_payload={"Authorization": f"Bearer {TOKEN}"})) as session:

        async def listen() -> None:
            async for result in session.subscribe(GraphQLRequest(SUBSCRIPTION, variable_values={"org": org})):
                received.append(result["violationChanged"])

        task = asyncio.create_task(listen())
        deadline = time.monotonic() + 10
        while app.state.change_hub.subscribers < 1:
            assert time.monotonic() < deadline, "the subscription never registered"
            await asyncio.sleep(0.02)
        await asyncio.to_thread(act)
        deadline = time.monotonic() + 60
        while len(received) < wanted and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # anything more (a repeat, another organisation's) would arrive by now
        task.cancel()
    return received


@pytest.mark.timeout(120)
def test_changes_the_worker_publishes_reach_the_subscriber_of_their_organisation(
    served: tuple[str, Starlette, str], store: Store, kafka_bootstrap: str
) -> None:
    url, app, violations_topic = served
    tag = uuid.uuid4().hex[:8]
    config = WorkerConfig(
        bootstrap=kafka_bootstrap,
        events_topic=f"events-{tag}",
        violations_topic=violations_topic,
        dead_letter_topic=f"dlq-{tag}",
        group=f"group-{tag}",
        session_timeout_ms=6000,
        max_wait_ms=50,
    )
    create_topics(kafka_bootstrap, [config.events_topic, config.dead_letter_topic])
    # The same history for two organisations, interleaved; each opens six violations.
    events = [of(org, event, "k") for event in (REGISTER, DEPLOY, LATE) for org in (ORG, OTHER)]
    worker = Worker(config, Pipeline.from_store(store, outbox=True))  # its own pipeline: no in-process listener
    runner = threading.Thread(target=worker.run, name="test-worker", daemon=True)

    def act() -> None:
        runner.start()
        produce(kafka_bootstrap, config.events_topic, [(e["subject"].encode(), json.dumps(e).encode()) for e in events])

    try:
        changes = asyncio.run(_subscribe(url, app, ORG, wanted=6, act=act))
    finally:
        worker.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()

    assert len(changes) == 6, changes
    _wait(lambda: httpx.get(f"{url}/health").json()["subscriptions"]["records"] == 12, "the feed missed some")
    assert {change["organisationId"] for change in changes} == {ORG}
    assert len({change["eventId"] for change in changes}) == 6
    alg09 = next(change for change in changes if change["obligationId"] == "ALG-09")
    assert alg09["kind"] == "OPENED" and alg09["episode"] == 1
    assert alg09["eventId"] == f"{alg09['violationId']}-1-opened"
    assert alg09["by"] == "clock"  # due 16 March: caught up, the day after, before khttp-3 (20 March)
    assert alg09["severity"] == "Violation" and alg09["focusNode"].endswith("/feed")
    assert "Art. 24" in alg09["message"] and "第二十四条" in alg09["zh"]
    assert alg09["at"].startswith("2026-03-17T00:00:00")
    assert alg09["violation"] == {"status": "OPEN", "history": [{"causedBy": "clock"}]}  # the shared store
    assert worker.stats.published == 12  # the other organisation's six were on the topic too
    status = httpx.get(f"{url}/health").json()["subscriptions"]
    assert status["source"] == "kafka" and status["topic"] == violations_topic
    assert status["records"] == 12 and status["changes"] == 12 and status["skipped"] == 0
    assert status["ready"] and status["lastError"] is None


@pytest.mark.timeout(60)
def test_with_the_kafka_source_the_apis_own_events_still_arrive_once(served: tuple[str, Starlette, str]) -> None:
    """``POST /events`` runs the API's pipeline, which has no outbox: its changes arrive in process, only so."""
    url, app, _ = served

    def post_all() -> None:
        for body in (REGISTER, DEPLOY, LATE):
            answer = httpx.post(f"{url}/events", content=json.dumps(body), headers=STRUCTURED)
            assert answer.status_code == 200, answer.text

    changes = asyncio.run(_subscribe(url, app, ORG, wanted=6, act=post_all))
    assert len(changes) == 6 and len({change["eventId"] for change in changes}) == 6
    assert {change["by"] for change in changes} <= {"http-2", "http-3", "clock"}  # deadlines caught up too
    assert httpx.get(f"{url}/health").json()["subscriptions"]["records"] == 0


# --- helpers ---------------------------------------------------------------------------------------------------


def send_to(bootstrap: str, topic: str, partition: int, value: bytes) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(topic, value=value, key=ORG.encode(), partition=partition).get(timeout=30)
    finally:
        producer.close(timeout=10)


def _wait(condition: Callable[[], bool], message: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


@contextmanager
def tansu_on(port: int, timeout_s: float = 15.0) -> Iterator[None]:
    """A Tansu broker (in memory) on a given port: ``running_tansu`` picks its own, and this test restarts one."""
    url = f"tcp://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the broker)
    command = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
    process = subprocess.Popen([*command, "--storage-engine", "memory://tansu/"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            assert process.poll() is None, "tansu exited while starting"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "tansu did not accept connections in time"
                time.sleep(0.05)
        yield
    finally:
        stop_process(process)
        log.close()

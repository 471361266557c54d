"""Feeding ``violationChanged`` from the violations topic, for an API process beside the Kafka worker.

The worker (``obligraph worker``, another process) publishes each violation it opens or resolves as a
``violation.opened`` / ``violation.resolved`` CloudEvent (``../shared/spec/events.md``,
``kg.violations.ViolationChange.to_cloudevent``). ``ViolationFeed`` reads that topic in a daemon thread and
hands each poll's changes to ``ChangeHub.publish``, so dashboards subscribed here see the worker's changes.

- **No consumer group.** Every API instance must see every change, and none has a position worth keeping
  across restarts: a subscription delivers changes from now on. So the feed assigns itself every partition
  of the topic and starts at its end. A partition that appears later (the topic created by the worker's
  first publish, or grown) is read from its beginning: all of it is new.
- **Failures.** A record that is not a violation change is logged (topic, partition, offset) and skipped. A
  broker that cannot be reached, at start or later, is retried with an exponential backoff; after a
  reconnection the feed resumes from the offsets it had reached, so an outage loses nothing the broker kept.
  None of this stops the thread or the API.
- **Repeats.** The worker publishes at least once (its outbox re-sends after a crash); a change whose
  CloudEvent id was delivered among the last ``dedupe_window`` is dropped here. Subscribers should still
  de-duplicate on ``eventId``, which the schema says.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from kg.violations import NotAViolationChangeError, ViolationChange, parse_violation_change

log = logging.getLogger("obligraph.api.violation_feed")

Publish = Callable[[Sequence[ViolationChange]], None]


@dataclass(frozen=True)
class ViolationFeedConfig:
    """Where the violations topic is and how patiently to read it; nothing here is specific to a broker."""

    bootstrap: str
    topic: str = "obligraph.violations"
    client_id: str = "obligraph-api"
    poll_timeout_ms: int = 500
    """The longest a poll waits; ``stop()`` takes about this long (plus closing the connection)."""
    fetch_max_wait_ms: int = 50
    """The longest a fetch waits at the broker when it has nothing new: a broker that holds a fetch for the whole
    wait even once a record arrives (the tests' Tansu does; Apache Kafka answers at once) would otherwise delay a
    change by up to kafka-python's 500 ms default."""
    connect_timeout_ms: int = 1_500
    """How long one connection attempt waits for the cluster's metadata before backing off."""
    request_timeout_ms: int = 10_000
    metadata_interval_s: float = 10.0
    """How often the feed asks the broker for the topic's partitions (new ones, and whether it still answers)."""
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    dedupe_window: int = 10_000

    def __post_init__(self) -> None:
        if not self.bootstrap_servers:
            raise ValueError("a bootstrap server (HOST:PORT) is required")
        if not self.topic.strip():
            raise ValueError("the violations topic is required")
        if min(self.poll_timeout_ms, self.fetch_max_wait_ms, self.connect_timeout_ms, self.dedupe_window) < 1:
            raise ValueError(
                "poll_timeout_ms, fetch_max_wait_ms, connect_timeout_ms and dedupe_window must be positive"
            )
        if self.request_timeout_ms <= self.poll_timeout_ms:
            raise ValueError("request_timeout_ms must exceed poll_timeout_ms")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("backoff: 0 < backoff_initial_s <= backoff_max_s")

    @property
    def bootstrap_servers(self) -> list[str]:
        return [server.strip() for server in self.bootstrap.split(",") if server.strip()]


@dataclass
class FeedStatus:
    """What the feed has done so far (a snapshot; ``/health`` shows it)."""

    topic: str
    running: bool = False
    connected: bool = False
    ready: bool = False
    """Positioned on every partition known so far: what is published from now on will be delivered."""
    partitions: list[int] = field(default_factory=list)
    records: int = 0
    changes: int = 0
    skipped: int = 0
    duplicates: int = 0
    failures: int = 0
    last_error: str | None = None
    last_error_at: float | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "source": "kafka",
            "topic": self.topic,
            "running": self.running,
            "connected": self.connected,
            "ready": self.ready,
            "partitions": list(self.partitions),
            "records": self.records,
            "changes": self.changes,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "failures": self.failures,
            "lastError": self.last_error,
            "lastErrorAt": (
                datetime.fromtimestamp(self.last_error_at, UTC).isoformat() if self.last_error_at is not None else None
            ),
        }


class _Stopped(Exception):  # noqa: N818 (control flow: stop() was called while waiting)
    pass


class ViolationFeed:
    """Reads the violations topic in a daemon thread and publishes what it carries (``start()`` / ``stop()``)."""

    def __init__(self, config: ViolationFeedConfig, publish: Publish) -> None:
        self.config = config
        self.publish = publish
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._status = FeedStatus(config.topic)
        self._thread: threading.Thread | None = None
        self._positions: dict[int, int] = {}  # partition → next offset to read, kept across reconnections
        self._at_start: set[int] | None = None  # the partitions the topic had when the feed first saw it
        self._seen: OrderedDict[str, None] = OrderedDict()

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the feed was started already")
        self._thread = threading.Thread(target=self._run, name="obligraph-violation-feed", daemon=True)
        self._set(running=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Ask the thread to end and wait for it; ``False`` if it was still busy after ``timeout_s``.

        It ends within about ``poll_timeout_ms`` (or ``connect_timeout_ms`` while connecting); a broker that
        neither answers nor refuses can hold it for up to ``request_timeout_ms``. The thread is a daemon, so
        even then it does not keep the process alive.
        """
        self._stopping.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("violation feed: still waiting on the broker after %.1f s; leaving the thread", timeout_s)
            return False
        return True

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the feed was positioned on the topic within ``timeout_s`` (tests and start-up checks)."""
        return self._ready.wait(timeout_s)

    def status(self) -> FeedStatus:
        with self._lock:
            snapshot = FeedStatus(**vars(self._status))
            snapshot.partitions = list(self._status.partitions)
            return snapshot

    def _set(self, **values: Any) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self._status, name, value)

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, increment in increments.items():
                setattr(self._status, name, getattr(self._status, name) + increment)

    # --- the thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.config.backoff_initial_s
        try:
            while not self._stopping.is_set():
                consumer = None
                try:
                    consumer = self._connect()
                    backoff = self.config.backoff_initial_s
                    self._follow(consumer)
                except _Stopped:
                    break
                except Exception as error:  # the broker, the network, anything: log, wait, reconnect
                    self._failed(error, backoff)
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, self.config.backoff_max_s)
                finally:
                    self._ready.clear()
                    self._set(connected=False, ready=False)
                    if consumer is not None:
                        _close(consumer)
        finally:
            self._set(running=False)

    def _failed(self, error: BaseException, backoff: float) -> None:
        message = f"{type(error).__name__}: {error}"
        with self._lock:
            self._status.last_error, self._status.last_error_at = message, time.time()
            self._status.failures += 1
        if isinstance(error, OSError) or type(error).__module__.startswith("kafka"):
            log.warning("violation feed: %s; retrying in %.1f s", message, backoff)
        else:
            log.exception("violation feed: unexpected failure; retrying in %.1f s", backoff)

    def _connect(self) -> Any:
        """A consumer with no group, connected (its cluster metadata fetched), or an exception."""
        clients: list[Any] = []
        default_client = KafkaConsumer.DEFAULT_CONFIG["kafka_client"]

        def client(**configs: Any) -> Any:
            # kafka-python starts an IO thread before it bootstraps and does not stop it when bootstrapping
            # times out: keep hold of the client so a failed attempt can close it, rather than leak a thread.
            made = default_client(**configs)
            clients.append(made)
            return made

        try:
            return KafkaConsumer(
                bootstrap_servers=self.config.bootstrap_servers,
                client_id=self.config.client_id,
                group_id=None,
                enable_auto_commit=False,
                # Only where a position falls outside the log (the topic was re-created, or retention deleted
                # what the feed had not read yet): everything from the start of what is kept is new to us.
                auto_offset_reset="earliest",
                bootstrap_timeout_ms=self.config.connect_timeout_ms,
                request_timeout_ms=self.config.request_timeout_ms,
                fetch_max_wait_ms=self.config.fetch_max_wait_ms,
                kafka_client=client,
            )
        except BaseException:
            for made in clients:
                _close(made)
            raise

    def _follow(self, consumer: Any) -> None:
        """Assign, position, then poll until stopped; raises on a failure that needs a new connection."""
        partitions = self._wait_for_partitions(consumer)
        self._assign(consumer, partitions)
        self._set(connected=True, ready=True)
        self._ready.set()
        log.info("violation feed: reading %s, partitions %s", self.config.topic, sorted(partitions))
        next_check = time.monotonic() + self.config.metadata_interval_s
        while not self._stopping.is_set():
            polled = consumer.poll(timeout_ms=self.config.poll_timeout_ms)
            if polled:
                self._deliver(polled)
            if time.monotonic() >= next_check:
                consumer.topics()  # fresh metadata; raises when the broker no longer answers
                grown = set(consumer.partitions_for_topic(self.config.topic) or ()) - partitions
                if grown:
                    partitions |= grown
                    self._assign(consumer, partitions)
                    log.info("violation feed: %s now has partitions %s", self.config.topic, sorted(partitions))
                next_check = time.monotonic() + self.config.metadata_interval_s
        raise _Stopped

    def _wait_for_partitions(self, consumer: Any) -> set[int]:
        while True:
            consumer.topics()
            partitions = set(consumer.partitions_for_topic(self.config.topic) or ())
            if self._at_start is None:
                self._at_start = set(partitions)
            if partitions:
                return partitions
            self._set(connected=True)
            if self._stopping.wait(min(self.config.metadata_interval_s, 1.0)):
                raise _Stopped

    def _assign(self, consumer: Any, partitions: set[int]) -> None:
        """Every partition, each where this feed stands: where it left off, the end, or the beginning."""
        assigned = [TopicPartition(self.config.topic, number) for number in sorted(partitions)]
        consumer.assign(assigned)
        at_start = self._at_start or set()
        for tp in assigned:
            if tp.partition in self._positions:
                consumer.seek(tp, self._positions[tp.partition])
            elif tp.partition in at_start:
                consumer.seek_to_end(tp)
            else:
                consumer.seek_to_beginning(tp)
        for tp in assigned:  # resolve now: a change published after ready() must not fall before the position
            position = consumer.position(tp, timeout_ms=self.config.request_timeout_ms)
            if position is None:
                raise TimeoutError(f"no position for {tp.topic}[{tp.partition}] within the request timeout")
            self._positions[tp.partition] = position
        self._set(partitions=sorted(partitions))

    def _deliver(self, polled: Mapping[Any, Sequence[Any]]) -> None:
        fresh: dict[str, ViolationChange] = {}  # by CloudEvent id, in the order read
        records = skipped = duplicates = 0
        positions: dict[int, int] = {}
        for tp, batch in polled.items():
            for record in batch:
                records += 1
                positions[tp.partition] = record.offset + 1
                try:
                    change = parse_violation_change(record.value)
                except NotAViolationChangeError as error:
                    skipped += 1
                    log.warning(
                        "violation feed: skipped %s[%d]@%d: %s", record.topic, record.partition, record.offset, error
                    )
                    continue
                event_id = f"{change.violation_id}-{change.episode}-{change.kind}"
                if event_id in self._seen or event_id in fresh:
                    duplicates += 1
                    continue
                fresh[event_id] = change
        if fresh:
            self.publish(list(fresh.values()))
        # Only once published: a failed publish is read again after the reconnection, not taken for a repeat.
        self._positions.update(positions)
        self._remember(fresh)
        self._count(records=records, changes=len(fresh), skipped=skipped, duplicates=duplicates)

    def _remember(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            self._seen[event_id] = None
        while len(self._seen) > self.config.dedupe_window:
            self._seen.popitem(last=False)


def _close(closable: Any) -> None:
    try:
        if isinstance(closable, KafkaConsumer):
            closable.close(autocommit=False, timeout_ms=1_000)
        else:
            closable.close()
    except Exception:  # closing after a failure: nothing more to do
        log.debug("violation feed: closing failed", exc_info=True)

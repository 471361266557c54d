"""The Kafka worker: a consumer group member that applies organisation events through the validation pipeline.

It reads the events topic (key = organisation id, value = a CloudEvent, ``shared/spec/events.md``) in
micro-batches and commits each batch in five numbered steps:

1. **Parse.** Each record is parsed (``kg.events.parse_event``). A record below the position the graph
   stores for its partition was applied before a crash or a rebalance and is skipped; a record that cannot
   be parsed, breaks the contract or is not keyed by its subject becomes a dead letter (the error policy may
   stop instead).
2. **Apply, store the positions and the dead letters.** ``pipeline.process(events, also=...)``: the graph
   change, the next offset of each partition it reflects and the batch's dead letters (``kg.outbox``)
   commit in ONE store transaction, so a replay is skipped in step 1 whatever Kafka redelivers, and no
   record is skipped without its dead letter. Events the graph rejects (unknown organisation, system or
   transfer) become dead letters in that same transaction: the applier hands its outcomes to ``also``. (A batch
   with several events of one organisation is applied in rounds, ``kg.pipeline``; ``also`` joins the last.)
3. **Dead letters.** The outbox's dead letters are sent to the dead-letter topic with their original bytes
   and the reason, source topic, partition and offset as headers (``ingest.dead_letters``) and, once
   acknowledged, deleted from it.
4. **Publish.** The transactional outbox (``kg.outbox``, written by the pipeline in the transaction that
   changed the violations) is sent to the violations topic and, once acknowledged, emptied.
5. **Commit the Kafka offsets** (``enable_auto_commit=False``): only now does the group's committed position
   move. Everything before is safe to repeat, so a crash anywhere costs a replay, never a loss.

Changes the pipeline makes between batches (the clock's, ``obligraph worker --clock``) are in the outbox too:
step 4 of the next batch publishes them, or ``publish_pending`` as soon as a poll finds no record.

The README's "Streaming with Kafka" section says what happens when each step fails. Nothing here depends on
a particular broker: the same code runs against Apache Kafka and the Tansu broker the tests start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from ingest.config import WorkerConfig
from ingest.dead_letters import DeadLetter
from ingest.publisher import publish_dead_letters, publish_outbox
from kg.events import Event, EventRejected, parse_event, received_by
from kg.organisations import Outcome
from kg.outbox import ConsumedRecord, dead_letter_operations
from kg.pipeline import Pipeline
from kg.positions import record_operations, stored_offsets
from kg.store import StoreError

log = logging.getLogger("obligraph.worker")

Decision = Literal["dead-letter", "stop"]
ErrorPolicy = Callable[[ConsumedRecord, BaseException], Decision]
Status = Literal["applied", "duplicate", "rejected", "failed"]


def default_error_policy(record: ConsumedRecord, error: BaseException) -> Decision:
    """Dead-letter what is wrong with the event; stop when the store itself fails (a restart resumes)."""
    if isinstance(error, StoreError | OSError | MemoryError):
        return "stop"
    return "dead-letter"


class WorkerStopped(RuntimeError):  # noqa: N818 (a decision, not an error of the worker)
    """The error policy chose to stop; the records of the failed batch stay uncommitted and are read again."""


@dataclass
class WorkerStats:
    batches: int = 0
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    skipped: int = 0
    dead_letters: int = 0
    published: int = 0


def make_consumer(config: WorkerConfig) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        group_id=config.group,
        client_id=config.client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=config.batch_size,
        session_timeout_ms=config.session_timeout_ms,
        heartbeat_interval_ms=config.heartbeat_interval_ms,
        fetch_max_wait_ms=config.fetch_max_wait_ms,
    )


def make_producer(config: WorkerConfig) -> KafkaProducer:
    """Idempotent, all-replica acknowledgement: a retried send is neither lost nor reordered within a key."""
    return KafkaProducer(
        bootstrap_servers=config.bootstrap_servers,
        client_id=config.client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )


class Worker:
    """One member of the consumer group. ``run()`` blocks until ``stop()`` (thread-safe; signal handlers call it)."""

    def __init__(
        self,
        config: WorkerConfig,
        pipeline: Pipeline,
        *,
        consumer: Any = None,
        producer: Any = None,
        on_error: ErrorPolicy = default_error_policy,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.store = pipeline.store
        self.on_error = on_error
        self.consumer = consumer if consumer is not None else make_consumer(config)
        self.producer = producer if producer is not None else make_producer(config)
        self.stats = WorkerStats()
        self._stopping = threading.Event()
        self._positions: dict[TopicPartition, int] = {}  # next offset to read, as the graph stores it
        self._uncommitted: dict[TopicPartition, int] = {}  # stored in the graph, not yet committed to Kafka
        self._in_flight: dict[TopicPartition, list[Any]] = {}  # the batch being gathered
        self._last_activity = time.monotonic()
        self._unpublished = threading.Event()  # the pipeline changed violations outside a batch (the clock)
        pipeline.listeners.append(lambda _changes: self._unpublished.set())

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # --- lifecycle ------------------------------------------------------------------------------------

    def run(self) -> None:
        """Recover, publish what an earlier run left in the outbox, then consume until stopped."""
        changes = self.pipeline.recover()
        if changes:
            log.info("recovered %d violation changes a crash had left unvalidated", len(changes))
        letters = publish_dead_letters(self.store, self.producer)
        if letters:
            log.info("sent %d dead letters an earlier run had stored but not sent", letters)
        self.stats.published += publish_outbox(self.store, self.producer, self.config.violations_topic)
        self.consumer.subscribe([self.config.events_topic], listener=_Rebalance(self))
        try:
            while not self._stopping.is_set():
                batch = self.poll_batch()
                if batch:
                    self.commit_batch(batch)
                elif self._unpublished.is_set():
                    self.publish_pending()
                elif self._idle_for_long():
                    log.info("no new records for %.1f s: stopping", self.config.idle_exit_s)
                    break
        finally:
            self.close()

    def publish_pending(self) -> None:
        """Publish what the outbox holds between batches: the changes of a clock pass (``obligraph worker
        --clock``), written to the outbox in the pass's own transactions."""
        self._unpublished.clear()
        published = publish_outbox(self.store, self.producer, self.config.violations_topic)
        self.stats.published += published
        if published:
            log.info("published %d violation changes made between batches (the clock)", published)

    def close(self) -> None:
        """Commit what the graph already holds, leave the group, flush the producer."""
        try:
            self._commit_kafka()
        finally:
            try:
                self.consumer.close(autocommit=False)
            finally:
                self.producer.close(timeout=10)

    def _idle_for_long(self) -> bool:
        limit = self.config.idle_exit_s
        if limit is None or not self._positions:
            return False
        return time.monotonic() - self._last_activity > limit

    # --- one batch ------------------------------------------------------------------------------------

    def poll_batch(self) -> list[Any]:
        """Up to ``batch_size`` records: waits at most ``max_wait_ms`` for the first, then takes what is buffered.

        Memory stays bounded under any backlog: a batch never holds more than ``batch_size`` records, and
        the client's fetch buffer is bounded by its ``fetch_max_bytes``.
        """
        self._in_flight = {}
        timeout = self.config.max_wait_ms
        while not self._stopping.is_set():
            room = self.config.batch_size - sum(len(records) for records in self._in_flight.values())
            if room <= 0:
                break
            polled = self.consumer.poll(timeout_ms=timeout, max_records=room)
            if not polled:
                break
            for partition, records in polled.items():
                self._in_flight.setdefault(partition, []).extend(records)
            timeout = 0
        batch = [record for records in self._in_flight.values() for record in records]
        self._in_flight = {}
        if batch:
            self._last_activity = time.monotonic()
        return batch

    def commit_batch(self, records: Sequence[Any]) -> None:
        """The five steps of the module docstring, in order; each is safe to repeat after a crash."""
        # Step 1. Parse each record; skip what the graph already reflects; bad records become dead letters.
        letters: list[DeadLetter] = []
        good: list[tuple[Any, Event]] = []
        next_offsets: dict[TopicPartition, int] = {}
        skipped = 0
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            if record.offset < self._positions.get(partition, 0):
                skipped += 1
                continue
            next_offsets[partition] = max(next_offsets.get(partition, 0), record.offset + 1)
            try:
                good.append((record, _parse(record)))
            except Exception as error:
                letters.append(self._dead_letter(record, error))

        # Step 2. Apply the events; store the positions they reflect and the dead letters, in one transaction.
        statuses: list[Status] = []
        if next_offsets:
            statuses, refused = self._apply(good, next_offsets, letters)
            letters += refused
            self._positions.update(next_offsets)
            self._uncommitted.update(next_offsets)
        for letter in letters:
            log.warning("dead letter %s: %s", letter.where(), letter.reason)
        applied, duplicates = statuses.count("applied"), statuses.count("duplicate")

        # Step 3. Send the outbox's dead letters and forget what the broker acknowledged.
        publish_dead_letters(self.store, self.producer)

        # Step 4. Publish the outbox (the violation changes of step 2) and forget what was acknowledged.
        self._unpublished.clear()
        published = publish_outbox(self.store, self.producer, self.config.violations_topic)

        # Step 5. Commit the Kafka offsets: the group's position moves only after everything above.
        self._commit_kafka()

        self.stats.batches += 1
        self.stats.records += len(records)
        self.stats.applied += applied
        self.stats.duplicates += duplicates
        self.stats.skipped += skipped
        self.stats.dead_letters += len(letters)
        self.stats.published += published
        log.info(
            "batch of %d records (%s): %d applied, %d repeats, %d skipped, %d dead letters, %d published",
            len(records),
            _ranges(records),
            applied,
            duplicates,
            skipped,
            len(letters),
            published,
        )

    def _apply(
        self,
        good: Sequence[tuple[Any, Event]],
        next_offsets: Mapping[TopicPartition, int],
        letters: Sequence[DeadLetter],
    ) -> tuple[list[Status], list[DeadLetter]]:
        """Step 2 as one transaction; if it raises, event by event, so one poison event cannot block the rest.

        ``letters`` (step 1's) are stored with the positions; returns each event's status and its dead letters.
        """
        try:
            return self._store_together(good, next_offsets, letters)
        except Exception as error:
            if not good or isinstance(error, StoreError):
                self._decide(good[0][0] if good else None, error)
            log.warning("the batch failed (%s); applying its events one by one", error)
        return self._apply_one_by_one(good, next_offsets, letters)

    def _store_together(
        self,
        good: Sequence[tuple[Any, Event]],
        offsets: Mapping[TopicPartition, int],
        letters: Sequence[DeadLetter],
    ) -> tuple[list[Status], list[DeadLetter]]:
        """The events the graph accepts, the positions and every dead letter (``letters`` and the rejected
        events') in one store transaction: the applier hands its outcomes to ``also`` before it commits."""
        refused: list[DeadLetter] = []

        def together(outcomes: Sequence[Outcome]) -> list[str]:
            refused.extend(
                DeadLetter.of(record, outcome.reason or "rejected by the pipeline")
                for (record, _), outcome in zip(good, outcomes, strict=True)
                if outcome.status == "rejected"
            )
            return [*self._position_operations(offsets), *self._letter_operations([*letters, *refused])]

        result = self.pipeline.process([event for _, event in good], also=together)
        return [outcome.status for outcome in result.outcomes], refused

    def _apply_one_by_one(
        self,
        good: Sequence[tuple[Any, Event]],
        next_offsets: Mapping[TopicPartition, int],
        letters: Sequence[DeadLetter],
    ) -> tuple[list[Status], list[DeadLetter]]:
        """Each event in its own transaction, with its position and the dead letters it moves past."""
        waiting = list(letters)
        statuses: list[Status] = []
        new: list[DeadLetter] = []
        for record, event in good:
            position = {TopicPartition(record.topic, record.partition): record.offset + 1}
            passed = [letter for letter in waiting if _before(letter, record)]
            waiting = [letter for letter in waiting if not _before(letter, record)]
            try:
                [status], refused = self._store_together([(record, event)], position, passed)
            except Exception as error:
                letter = self._dead_letter(record, error)
                self.pipeline.process(
                    [], also=[*self._position_operations(position), *self._letter_operations([*passed, letter])]
                )
                status, refused = "failed", [letter]
            statuses.append(status)
            new += refused
        self.pipeline.process([], also=[*self._position_operations(next_offsets), *self._letter_operations(waiting)])
        return statuses, new

    def _letter_operations(self, letters: Sequence[DeadLetter]) -> list[str]:
        return dead_letter_operations(self.config.group, self.config.dead_letter_topic, letters)

    def _position_operations(self, offsets: Mapping[TopicPartition, int]) -> list[str]:
        by_topic: dict[str, dict[int, int]] = {}
        for partition, offset in offsets.items():
            by_topic.setdefault(partition.topic, {})[partition.partition] = offset
        return [
            operation
            for topic, partitions in by_topic.items()
            for operation in record_operations(self.config.group, topic, partitions)
        ]

    def _dead_letter(self, record: Any, error: BaseException) -> DeadLetter:
        self._decide(record, error)
        reason = error.reason if isinstance(error, EventRejected) else f"could not be applied: {error}"
        if any(str(name).lower().startswith("ce_") for name, _ in getattr(record, "headers", None) or ()):
            reason += (
                "; the record has ce_* headers, but the worker reads only structured-mode CloudEvents (the whole "
                "event, specversion to data, as the record's value), not binary mode"
            )
        return DeadLetter.of(record, reason)

    def _decide(self, record: Any, error: BaseException) -> None:
        """Ask the error policy; "stop" raises ``WorkerStopped`` before anything of the batch is committed."""
        if record is None or self.on_error(record, error) == "stop":
            where = f" at {record.topic}[{record.partition}]@{record.offset}" if record is not None else ""
            raise WorkerStopped(f"stopping{where}: {error}") from error

    def _commit_kafka(self, only: Sequence[TopicPartition] | None = None, *, wait: bool = True) -> None:
        partitions = [tp for tp in self._uncommitted if only is None or tp in only]
        offsets = {tp: OffsetAndMetadata(self._uncommitted[tp], "", -1) for tp in partitions}
        if not offsets:
            return
        try:
            if wait:
                self.consumer.commit(offsets)
            else:
                self.consumer.commit_async(offsets)
        except KafkaError as error:
            # The graph holds the positions: whoever reads these partitions next skips what was applied.
            log.warning("could not commit offsets %s: %s", _describe(offsets), error)
            return
        for tp in partitions:
            if self._uncommitted.get(tp) == offsets[tp].offset:
                del self._uncommitted[tp]

    # --- rebalancing ----------------------------------------------------------------------------------
    # kafka-python calls these on its network thread, inside ``poll``: they must not block on the broker,
    # so the revoke hook commits asynchronously (the graph holds the positions anyway) and the assign hook
    # reads the positions from the graph and seeks, which is local state.

    def partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        """Commit what is done before the partitions go; drop their records still being gathered."""
        self._commit_kafka(only=list(revoked), wait=False)
        for partition in revoked:
            self._positions.pop(partition, None)
            self._uncommitted.pop(partition, None)
            self._in_flight.pop(partition, None)
        if revoked:
            log.info("partitions revoked: %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in revoked))

    def partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        """Resume each partition where the graph says it stands; without a stored position, Kafka's decides.

        Kafka's committed offset never passes the graph's (step 5 follows step 2), so seeking to the stored
        position is seeking to max(stored, committed); if the graph is behind (a restored backup), its
        events are read again, which is what the graph needs.
        """
        stored: dict[str, dict[int, int]] = {}
        for partition in assigned:
            if partition.topic not in stored:
                stored[partition.topic] = stored_offsets(self.store, self.config.group, partition.topic)
            in_graph = stored[partition.topic].get(partition.partition)
            self._positions[partition] = in_graph or 0
            if in_graph:
                self.consumer.seek(partition, in_graph)
            log.info(
                "assigned %s[%d]: resuming at %s",
                partition.topic,
                partition.partition,
                f"offset {in_graph} (stored in the graph)" if in_graph else "the committed offset (none in the graph)",
            )
        self._last_activity = time.monotonic()


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.worker.partitions_revoked(list(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.worker.partitions_assigned(list(assigned))


def _parse(record: ConsumedRecord) -> Event:
    """The record's event; its key must be the event's subject: the partition follows the key, so one
    organisation's events keep their order only if they all carry its id (a worker per partition would otherwise
    apply them out of order, or two at once)."""
    if record.value is None:
        raise EventRejected("the record has no value (a tombstone); expected a CloudEvent")
    event = parse_event(record.value, not_after=received_by(_sent(record)))
    if record.key != event.subject.encode():
        given = "no key" if record.key is None else f"the key {record.key.decode(errors='replace')!r}"
        raise EventRejected(
            f"the record has {given}, but its subject is {event.subject!r}: the key must be the organisation id, "
            "so that one organisation's events stay in order on one partition"
        )
    return event


def _sent(record: ConsumedRecord) -> datetime | None:
    """When the record was produced (its timestamp, in ms), if it says."""
    stamp = getattr(record, "timestamp", None)
    return datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int) and stamp > 0 else None


def _before(letter: DeadLetter, record: ConsumedRecord) -> bool:
    return (letter.topic, letter.partition) == (record.topic, record.partition) and letter.offset < record.offset


def _ranges(records: Sequence[ConsumedRecord]) -> str:
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for record in records:
        key = (record.topic, record.partition)
        low, high = spans.get(key, (record.offset, record.offset))
        spans[key] = (min(low, record.offset), max(high, record.offset))
    return ", ".join(f"{topic}[{partition}]@{low}-{high}" for (topic, partition), (low, high) in sorted(spans.items()))


def _describe(offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]={meta.offset}" for tp, meta in offsets.items())

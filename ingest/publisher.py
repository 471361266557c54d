"""Publishing the transactional outbox (``kg.outbox``): dead letters to their topic, violation changes to theirs.

Entries are deleted only after the broker has acknowledged them, so a crash re-sends them at the next start
(at-least-once). Violation CloudEvent ids are deterministic, so consumers de-duplicate on ``id``; dead letters
carry their source topic, partition and offset, on which consumers of the dead-letter topic de-duplicate.
"""

from __future__ import annotations

from typing import Final

from ingest.dead_letters import SEND_TIMEOUT_S, DeadLetter, Producer, send_dead_letters
from kg.outbox import acknowledge, pending, pending_dead_letters
from kg.store import Store

ROUND: Final = 1_000


def publish_dead_letters(store: Store, producer: Producer, *, round_size: int = ROUND) -> int:
    """Send the dead letters the outbox holds (original key and value; reason and source as headers)."""
    sent = 0
    while True:
        entries = pending_dead_letters(store, limit=round_size)
        if not entries:
            return sent
        by_topic: dict[str, list[DeadLetter]] = {}
        for entry in entries:
            by_topic.setdefault(entry.target_topic, []).append(DeadLetter.of_entry(entry))
        for topic, letters in by_topic.items():
            send_dead_letters(producer, topic, letters)
        acknowledge(store, entries)
        sent += len(entries)
        if len(entries) < round_size:
            return sent


def publish_outbox(store: Store, producer: Producer, topic: str, *, round_size: int = ROUND) -> int:
    """Send the violation changes the outbox holds (key = organisation id, value = the CloudEvent JSON)."""
    sent = 0
    while True:
        entries = pending(store, limit=round_size)
        if not entries:
            return sent
        futures = [producer.send(topic, value=entry.payload, key=entry.key.encode("utf-8")) for entry in entries]
        producer.flush(timeout=SEND_TIMEOUT_S)
        for future in futures:
            future.get(timeout=SEND_TIMEOUT_S)
        acknowledge(store, entries)
        sent += len(entries)
        if len(entries) < round_size:
            return sent

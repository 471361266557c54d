"""Publishing the transactional outbox (``kg.outbox``) to the violations topic.

Entries are deleted only after the broker has acknowledged them, so a crash re-sends them at the next start
(at-least-once); their CloudEvent ids are deterministic, so consumers de-duplicate on ``id``.
"""

from __future__ import annotations

from typing import Final

from ingest.dead_letters import SEND_TIMEOUT_S, Producer
from kg.outbox import acknowledge, pending
from kg.store import Store

ROUND: Final = 1_000


def publish_outbox(store: Store, producer: Producer, topic: str, *, round_size: int = ROUND) -> int:
    """Send what the outbox holds (key = organisation id, value = the CloudEvent JSON); return how many."""
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

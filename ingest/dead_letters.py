"""Dead letters: records the worker will not apply, sent on with their original bytes and the reason.

The dead-letter record keeps the original key and value byte for byte, so a fixed producer (or an operator)
can replay it as it was; what went wrong and where the record came from travel as headers:

========================  ===========================================================
``reason``                the rejection, in words (``EventRejected.reason`` verbatim)
``source-topic``          the topic the record was read from
``source-partition``      its partition (decimal)
``source-offset``         its offset (decimal)
========================  ===========================================================

(source-topic, source-partition, source-offset) identifies a dead letter. The worker does not send one
directly: it stores it in the outbox (``kg.outbox``) with the positions that move past its record, and the
publisher (``ingest.publisher``) sends it from there. A crash while sending may send one again: consumers of
the dead-letter topic de-duplicate on those three headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from kg.outbox import ConsumedRecord, DeadLetterEntry

MAX_REASON_BYTES: Final = 4096
SEND_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str

    @classmethod
    def of(cls, record: ConsumedRecord, reason: str) -> DeadLetter:
        return cls(record.topic, record.partition, record.offset, record.key, record.value, reason)

    @classmethod
    def of_entry(cls, entry: DeadLetterEntry) -> DeadLetter:
        return cls(entry.topic, entry.partition, entry.offset, entry.key, entry.value, entry.reason)

    def headers(self) -> list[tuple[str, bytes]]:
        reason = self.reason.encode("utf-8", "backslashreplace")
        if len(reason) > MAX_REASON_BYTES:
            reason = reason[: MAX_REASON_BYTES - 3].decode("utf-8", "ignore").encode("utf-8") + b"..."
        return [
            ("reason", reason),
            ("source-topic", self.topic.encode("utf-8")),
            ("source-partition", str(self.partition).encode("ascii")),
            ("source-offset", str(self.offset).encode("ascii")),
        ]

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class Producer(Protocol):
    def send(self, topic: str, value: Any = ..., key: Any = ..., headers: Any = ...) -> Any: ...
    def flush(self, timeout: float | None = ...) -> None: ...


def send_dead_letters(producer: Producer, topic: str, letters: Sequence[DeadLetter]) -> None:
    """Send and wait for the broker's acknowledgement of every one; raises if any was not acknowledged."""
    if not letters:
        return
    futures = [producer.send(topic, value=letter.value, key=letter.key, headers=letter.headers()) for letter in letters]
    producer.flush(timeout=SEND_TIMEOUT_S)
    for future in futures:
        future.get(timeout=SEND_TIMEOUT_S)

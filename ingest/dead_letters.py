"""Dead letters: records the worker will not apply, sent on with their original bytes and the reason.

The dead-letter record keeps the original key, value and headers byte for byte, so a fixed producer (or an
operator) can replay it as it was; what went wrong and where the record came from travel as headers after the
original ones:

========================  ===========================================================
``reason``                the rejection, in words (``EventRejected.reason`` verbatim)
``source-topic``          the topic the record was read from
``source-partition``      its partition (decimal)
``source-offset``         its offset (decimal)
========================  ===========================================================

An original header with one of these names (or ``value-cut-from``) is sent as ``original-<name>``, so each name
above means what the table says.

A record too large to be sent on with those headers (the producer's ``max_request_size``, or the broker's limit) is
sent with the first ``CUT_VALUE_BYTES`` of its value and a header ``value-cut-from`` giving its length in bytes,
and without its original headers if they hold more than ``CUT_VALUE_BYTES``; the reason says so. Refused whole,
it would stay in the outbox and stop the worker at every start.

(source-topic, source-partition, source-offset) identifies a dead letter. The worker does not send one
directly: it stores it in the outbox (``kg.outbox``) with the positions that move past its record, and the
publisher (``ingest.publisher``) sends it from there. A crash while sending may send one again: consumers of
the dead-letter topic de-duplicate on those three headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

from kafka.errors import MessageSizeTooLargeError

from kg.outbox import DeadLetterEntry, HeadedRecord, Headers

MAX_REASON_BYTES: Final = 4096
SEND_TIMEOUT_S: Final = 60.0
CUT_VALUE_BYTES: Final = 64 * 1024
OWN_HEADERS: Final = frozenset({"reason", "source-topic", "source-partition", "source-offset", "value-cut-from"})


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str
    cut_from: int | None = None
    """The value's length, when only its first ``CUT_VALUE_BYTES`` are sent."""
    original_headers: Headers = ()
    """The record's own headers, in their order."""

    @classmethod
    def of(cls, record: HeadedRecord, reason: str) -> DeadLetter:
        headers = tuple((str(name), bytes(value or b"")) for name, value in record.headers or ())
        return cls(record.topic, record.partition, record.offset, record.key, record.value, reason, None, headers)

    @classmethod
    def of_entry(cls, entry: DeadLetterEntry) -> DeadLetter:
        return cls(
            entry.topic, entry.partition, entry.offset, entry.key, entry.value, entry.reason, None, entry.headers
        )

    def headers(self) -> list[tuple[str, bytes]]:
        reason = self.reason.encode("utf-8", "backslashreplace")
        if len(reason) > MAX_REASON_BYTES:
            reason = reason[: MAX_REASON_BYTES - 3].decode("utf-8", "ignore").encode("utf-8") + b"..."
        headers = [
            (f"original-{name}" if name.lower() in OWN_HEADERS else name, value)
            for name, value in self.original_headers
        ]
        headers += [
            ("reason", reason),
            ("source-topic", self.topic.encode("utf-8")),
            ("source-partition", str(self.partition).encode("ascii")),
            ("source-offset", str(self.offset).encode("ascii")),
        ]
        if self.cut_from is not None:
            headers.append(("value-cut-from", str(self.cut_from).encode("ascii")))
        return headers

    def cut(self) -> DeadLetter:
        """This letter with the first ``CUT_VALUE_BYTES`` of its value, for a topic that would refuse it whole."""
        size = len(self.value or b"")
        note = f"value cut to its first {CUT_VALUE_BYTES:,} of {size:,} bytes, too large to send on"
        headers = self.original_headers
        if sum(len(name.encode()) + len(value) for name, value in headers) > CUT_VALUE_BYTES:
            note, headers = f"{note}; its {len(headers):,} original headers left out", ()
        # first, so that bounding the header (MAX_REASON_BYTES) cuts the rejection's words, not the note
        value = (self.value or b"")[:CUT_VALUE_BYTES]
        return replace(self, value=value, reason=f"{note}; {self.reason}", cut_from=size, original_headers=headers)

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class Producer(Protocol):
    def send(self, topic: str, value: Any = ..., key: Any = ..., headers: Any = ...) -> Any: ...
    def flush(self, timeout: float | None = ...) -> None: ...


def send_dead_letters(producer: Producer, topic: str, letters: Sequence[DeadLetter]) -> None:
    """Send and wait for the broker's acknowledgement of every one; raises if any was not acknowledged. One too
    large for the producer or the broker is sent again cut (``DeadLetter.cut``)."""
    if not letters:
        return
    sent = [_send(producer, topic, letter) for letter in letters]
    producer.flush(timeout=SEND_TIMEOUT_S)
    again = []
    for letter, future in sent:
        try:
            future.get(timeout=SEND_TIMEOUT_S)
        except MessageSizeTooLargeError:  # the broker's limit
            if letter.cut_from is not None:
                raise
            again.append(_send(producer, topic, letter.cut()))
    if again:
        producer.flush(timeout=SEND_TIMEOUT_S)
        for _, future in again:
            future.get(timeout=SEND_TIMEOUT_S)


def _send(producer: Producer, topic: str, letter: DeadLetter) -> tuple[DeadLetter, Any]:
    try:
        return letter, producer.send(topic, value=letter.value, key=letter.key, headers=letter.headers())
    except MessageSizeTooLargeError:  # the producer's own max_request_size, checked before sending
        if letter.cut_from is not None:
            raise
        cut = letter.cut()
        return cut, producer.send(topic, value=cut.value, key=cut.key, headers=cut.headers())

"""A transactional outbox: what must be published, written in the transaction that made it true.

Two kinds of entry, sent by ``ingest.publisher`` and deleted only once the broker has acknowledged them, so a
crash anywhere leaves them in place to be sent again at the next start (at-least-once):

- **violation changes.** When a publisher is attached (the Kafka worker), the pipeline writes each change's
  CloudEvent in the transaction that records the change. CloudEvent ids are deterministic (violation, episode,
  kind), so consumers de-duplicate.
- **dead letters.** A stream consumer writes each record it will not apply (original key and value bytes, the
  reason, the source topic/partition/offset and the dead-letter topic) in the transaction that stores the
  positions moving past it (``kg.positions``), so a crash cannot skip a record without its dead letter. The
  entry's IRI is minted from (group, source topic, partition, offset), and writing one that is already
  waiting changes nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeAlias

import pyoxigraph as ox
from rdflib import Literal as Lit
from rdflib import URIRef

from kg import iris
from kg.iris import BASE, Graphs
from kg.store import Row, Store
from kg.violations import ViolationChange
from ontology.namespaces import XSD

OUTBOX = f"<{Graphs.OUTBOX}>"
PAYLOAD = URIRef(f"{BASE}meta#payload")
KEY = URIRef(f"{BASE}meta#key")
CREATED = URIRef(f"{BASE}meta#createdAt")
SEQUENCE = URIRef(f"{BASE}meta#sequence")
DEAD_LETTER = URIRef(f"{BASE}meta#DeadLetter")
TARGET_TOPIC = URIRef(f"{BASE}meta#targetTopic")
SOURCE_TOPIC = URIRef(f"{BASE}meta#sourceTopic")
SOURCE_PARTITION = URIRef(f"{BASE}meta#sourcePartition")
SOURCE_OFFSET = URIRef(f"{BASE}meta#sourceOffset")
KEY_BYTES = URIRef(f"{BASE}meta#keyBytes")
VALUE_BYTES = URIRef(f"{BASE}meta#valueBytes")
REASON = URIRef(f"{BASE}meta#reason")
HEADERS = URIRef(f"{BASE}meta#headers")

Headers: TypeAlias = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class OutboxEntry:
    node: str
    key: str
    payload: bytes


class ConsumedRecord(Protocol):
    """What is read of a consumed Kafka record (kafka-python's ``ConsumerRecord`` has it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class HeadedRecord(ConsumedRecord, Protocol):
    """A consumed record with its headers (kafka-python's ``ConsumerRecord.headers``: name and bytes pairs)."""

    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]] | None: ...


class RejectedRecord(ConsumedRecord, Protocol):
    """What the outbox keeps of a consumed record that will not be applied (``ingest.dead_letters.DeadLetter``)."""

    @property
    def reason(self) -> str: ...
    @property
    def original_headers(self) -> Headers: ...


@dataclass(frozen=True)
class DeadLetterEntry:
    """A dead letter waiting in the outbox: the record as it was read, why, and where it is to be sent."""

    node: str
    target_topic: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str
    headers: Headers = ()


def entry_node(cloudevent_id: str) -> URIRef:
    return URIRef(f"{BASE}outbox/{cloudevent_id}")


def outbox_operations(changes: Sequence[ViolationChange]) -> list[str]:
    """Update operations that put the changes' CloudEvents into the outbox (same transaction as the changes)."""
    if not changes:
        return []
    now = Lit(datetime.now(UTC).isoformat(), datatype=XSD.dateTime).n3()
    triples = []
    for number, change in enumerate(changes):
        event = change.to_cloudevent()
        node = entry_node(event["id"]).n3()
        payload = Lit(json.dumps(event, ensure_ascii=False, sort_keys=True)).n3()
        triples.append(
            f"{node} {PAYLOAD.n3()} {payload} ; {KEY.n3()} {Lit(change.organisation).n3()} ; "
            f"{CREATED.n3()} {now} ; {SEQUENCE.n3()} {number} ."
        )
    return [f"INSERT DATA {{ GRAPH {OUTBOX} {{ {' '.join(triples)} }} }}"]


def pending(store: Store, limit: int = 10_000) -> list[OutboxEntry]:
    """What is still to be published, oldest first."""
    rows = store.select(
        f"SELECT ?node ?key ?payload WHERE {{ GRAPH {OUTBOX} {{ ?node {PAYLOAD.n3()} ?payload ; {KEY.n3()} ?key ; "
        f"{CREATED.n3()} ?created ; {SEQUENCE.n3()} ?sequence }} }} ORDER BY ?created ?sequence LIMIT {int(limit)}"
    )
    entries = []
    for row in rows:
        node, key, payload = row["node"], row["key"], row["payload"]
        assert isinstance(node, ox.NamedNode) and isinstance(key, ox.Literal) and isinstance(payload, ox.Literal)
        entries.append(OutboxEntry(node.value, key.value, payload.value.encode()))
    return entries


def dead_letter_operations(group: str, target_topic: str, letters: Sequence[RejectedRecord]) -> list[str]:
    """Update operations that put dead letters into the outbox (same transaction as the positions past them).

    Bytes are kept as ``xsd:base64Binary``; an absent key or value is an absent triple; the original headers are
    one JSON literal (name and base64 value pairs), absent when there are none. A letter already waiting is left
    as it is, so writing the same batch twice queues each letter once.
    """
    if not letters:
        return []
    now = Lit(datetime.now(UTC).isoformat(), datatype=XSD.dateTime).n3()
    rows = " ".join(
        f"({iris.outbox_dead_letter(group, letter.topic, letter.partition, letter.offset).n3()} "
        f"{Lit(letter.topic).n3()} {int(letter.partition)} {int(letter.offset)} {_bytes(letter.key)} "
        f"{_bytes(letter.value)} {Lit(_utf8(letter.reason)).n3()} {_headers(letter.original_headers)} {number})"
        for number, letter in enumerate(letters)
    )
    return [
        f"INSERT {{ GRAPH {OUTBOX} {{ ?node a {DEAD_LETTER.n3()} ; {TARGET_TOPIC.n3()} {Lit(target_topic).n3()} ; "
        f"{SOURCE_TOPIC.n3()} ?topic ; {SOURCE_PARTITION.n3()} ?partition ; {SOURCE_OFFSET.n3()} ?offset ; "
        f"{KEY_BYTES.n3()} ?key ; {VALUE_BYTES.n3()} ?value ; {REASON.n3()} ?reason ; {HEADERS.n3()} ?headers ; "
        f"{CREATED.n3()} {now} ; {SEQUENCE.n3()} ?sequence }} }} "
        f"WHERE {{ VALUES (?node ?topic ?partition ?offset ?key ?value ?reason ?headers ?sequence) {{ {rows} }} "
        f"FILTER NOT EXISTS {{ GRAPH {OUTBOX} {{ ?node a {DEAD_LETTER.n3()} }} }} }}"
    ]


def pending_dead_letters(store: Store, limit: int = 10_000) -> list[DeadLetterEntry]:
    """Dead letters still to be sent, oldest first."""
    rows = store.select(
        f"SELECT ?node ?target ?topic ?partition ?offset ?key ?value ?reason ?headers WHERE {{ GRAPH {OUTBOX} {{ "
        f"?node a {DEAD_LETTER.n3()} ; {TARGET_TOPIC.n3()} ?target ; {SOURCE_TOPIC.n3()} ?topic ; "
        f"{SOURCE_PARTITION.n3()} ?partition ; {SOURCE_OFFSET.n3()} ?offset ; {REASON.n3()} ?reason ; "
        f"{CREATED.n3()} ?created ; {SEQUENCE.n3()} ?sequence "
        f"OPTIONAL {{ ?node {KEY_BYTES.n3()} ?key }} OPTIONAL {{ ?node {VALUE_BYTES.n3()} ?value }} "
        f"OPTIONAL {{ ?node {HEADERS.n3()} ?headers }} }} }} "
        f"ORDER BY ?created ?sequence LIMIT {int(limit)}"
    )
    entries = []
    for row in rows:
        node = row["node"]
        assert isinstance(node, ox.NamedNode)
        entries.append(
            DeadLetterEntry(
                node=node.value,
                target_topic=_text(row, "target"),
                topic=_text(row, "topic"),
                partition=int(_text(row, "partition")),
                offset=int(_text(row, "offset")),
                key=_unbytes(row, "key"),
                value=_unbytes(row, "value"),
                reason=_text(row, "reason"),
                headers=_unheaders(row),
            )
        )
    return entries


def _text(row: Row, name: str) -> str:
    term = row[name]
    assert isinstance(term, ox.Literal)
    return term.value


def _bytes(raw: bytes | None) -> str:
    if raw is None:
        return "UNDEF"
    return Lit(base64.b64encode(raw).decode("ascii"), datatype=XSD.base64Binary).n3()


def _unbytes(row: Row, name: str) -> bytes | None:
    return base64.b64decode(_text(row, name)) if name in row else None


def _headers(headers: Headers) -> str:
    if not headers:
        return "UNDEF"
    pairs = [[name, base64.b64encode(value).decode("ascii")] for name, value in headers]
    return Lit(json.dumps(pairs)).n3()


def _unheaders(row: Row) -> Headers:
    if "headers" not in row:
        return ()
    return tuple((name, base64.b64decode(value)) for name, value in json.loads(_text(row, "headers")))


def _utf8(text: str) -> str:
    """Text a SPARQL update can carry: a lone surrogate (JSON allows ``\\ud800``) becomes its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def acknowledge(store: Store, entries: Sequence[OutboxEntry | DeadLetterEntry]) -> None:
    """Forget entries the broker has acknowledged."""
    if not entries:
        return
    values = " ".join(f"<{entry.node}>" for entry in entries)
    store.update(
        f"DELETE {{ GRAPH {OUTBOX} {{ ?n ?p ?o }} }} WHERE {{ VALUES ?n {{ {values} }} GRAPH {OUTBOX} {{ ?n ?p ?o }} }}"
    )

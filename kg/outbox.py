"""A transactional outbox for violation change events.

When a publisher is attached (the Kafka worker), the pipeline writes each change's CloudEvent into the outbox
graph in the same transaction that records the violation change. The publisher sends what the outbox holds,
waits for the broker's acknowledgement, and only then deletes it. A crash anywhere leaves the entries in
place to be sent again at the next start: publishing is at-least-once, and the CloudEvent ids are
deterministic (violation, episode, kind), so consumers de-duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox
from rdflib import Literal as Lit
from rdflib import URIRef

from kg.iris import BASE, Graphs
from kg.store import Store
from kg.violations import ViolationChange
from ontology.namespaces import XSD

OUTBOX = f"<{Graphs.OUTBOX}>"
PAYLOAD = URIRef(f"{BASE}meta#payload")
KEY = URIRef(f"{BASE}meta#key")
CREATED = URIRef(f"{BASE}meta#createdAt")
SEQUENCE = URIRef(f"{BASE}meta#sequence")


@dataclass(frozen=True)
class OutboxEntry:
    node: str
    key: str
    payload: bytes


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


def acknowledge(store: Store, entries: Sequence[OutboxEntry]) -> None:
    """Forget entries the broker has acknowledged."""
    if not entries:
        return
    values = " ".join(f"<{entry.node}>" for entry in entries)
    store.update(
        f"DELETE {{ GRAPH {OUTBOX} {{ ?n ?p ?o }} }} WHERE {{ VALUES ?n {{ {values} }} GRAPH {OUTBOX} {{ ?n ?p ?o }} }}"
    )

"""The later rounds of a batch, kept in the store until they are applied, so a crash cannot leave a batch half in.

A batch holding several events of one organisation is applied in rounds (``kg.pipeline.event_rounds``), one
transaction each, so that each event is judged on its organisation as the event before it left it. A process killed
between two rounds used to leave the first ones applied and the rest nowhere: an HTTP client without an answer, or
a file half ingested. Now the first round's transaction also writes every later event of the batch into the meta
graph (one entry per place in the batch, under an id of the batch, with the event's JSON), and each round's
transaction takes its own entries out. What a crash leaves there is applied by ``Pipeline.recover`` at the next
start, in its order, as a batch of its own whose first round takes the old entries out (and puts its own later
rounds in), so the batch ends whole: sent again, each of its events is a repeat.

Only with the embedded on-disk store, which one process owns (``kg.store``): what it finds at start was left by a
process that is gone. On a remote store several processes write, and one starting would apply another's rounds in
flight; there a worker's batch is whole again by Kafka (its positions are stored with the last round, so the rest
is read again), and an HTTP client without an answer sends again. In memory a crash loses everything anyway.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

import pyoxigraph as ox
from rdflib import Literal, URIRef

from kg.events import Event, EventRejected, parse_event
from kg.iris import BASE, Graphs
from kg.store import OxigraphStore, Store
from ontology.namespaces import XSD

log = logging.getLogger("obligraph.queued_rounds")

META: Final = f"<{Graphs.META}>"
EVENT_JSON: Final = URIRef(f"{BASE}meta#waitingEvent")
"""An event of a batch whose earlier rounds are applied: its JSON."""
PLACE: Final = URIRef(f"{BASE}meta#placeInBatch")
QUEUED_AT: Final = URIRef(f"{BASE}meta#queuedAt")


def kept_in(store: Store) -> bool:
    """Whether a batch's later rounds are kept in this store: only one process's own, on disk."""
    return isinstance(store, OxigraphStore) and store.path is not None


def new_batch() -> str:
    """An id for one batch's entries (two batches may hold the same event: a repeat)."""
    return uuid.uuid4().hex


def entry(batch: str, place: int) -> URIRef:
    return URIRef(f"{BASE}queue/{batch}/{int(place)}")


def queue_operations(batch: str, events: Sequence[tuple[int, Event]]) -> list[str]:
    """The update that keeps ``(place in the batch, event)`` waiting (with the first round's changes)."""
    if not events:
        return []
    now = Literal(datetime.now(UTC).isoformat(), datatype=XSD.dateTime).n3()
    triples = " ".join(
        f"{entry(batch, place).n3()} {EVENT_JSON.n3()} {Literal(_json(event)).n3()} ; {PLACE.n3()} {int(place)} ; "
        f"{QUEUED_AT.n3()} {now} ."
        for place, event in events
    )
    return [f"INSERT DATA {{ GRAPH {META} {{ {triples} }} }}"]


def dequeue_operations(entries: Iterable[URIRef]) -> list[str]:
    """The update that takes entries out (with the round that applies or refuses their events)."""
    values = " ".join(node.n3() for node in entries)
    if not values:
        return []
    return [
        f"DELETE {{ GRAPH {META} {{ ?entry ?p ?o }} }} WHERE {{ VALUES ?entry {{ {values} }} "
        f"GRAPH {META} {{ ?entry ?p ?o }} }}"
    ]


def waiting(store: Store) -> list[tuple[URIRef, Event | None]]:
    """What a crash left in the queue, each entry with its event, in the order of their batches; None for one whose
    JSON no longer reads as an event (logged: it can only be dropped)."""
    rows = store.select(
        f"SELECT ?entry ?json WHERE {{ GRAPH {META} {{ ?entry {EVENT_JSON.n3()} ?json ; {PLACE.n3()} ?place ; "
        f"{QUEUED_AT.n3()} ?at }} }} ORDER BY ?at ?place STR(?entry)"
    )
    found: list[tuple[URIRef, Event | None]] = []
    for row in rows:
        node, text = row["entry"], row["json"]
        assert isinstance(node, ox.NamedNode) and isinstance(text, ox.Literal)
        try:  # decoded first: the size limit is for what a sender sends, not for what was accepted and escaped
            event: Event | None = parse_event(json.loads(text.value))
        except (ValueError, EventRejected) as error:
            log.error("a queued event no longer reads as one, and is dropped (%s): %.500s", error, text.value)
            event = None
        found.append((URIRef(node.value), event))
    return found


def _json(event: Event) -> str:
    return json.dumps(event.model_dump(mode="json"), ensure_ascii=True, separators=(",", ":"))

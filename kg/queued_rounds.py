"""The later rounds of a batch, kept in the store until they are applied, so a crash cannot leave a batch half in.

A batch holding several events of one organisation is applied in rounds (``kg.pipeline.event_rounds``), one
transaction each, so that each event is judged on its organisation as the event before it left it. A process killed
between two rounds used to leave the first ones applied and the rest nowhere: an HTTP client without an answer, or
a file half ingested. Now the first round's transaction also writes every later event of the batch into the meta
graph (the event's JSON, its place in the batch), and each round's transaction takes its own events out. What a
crash leaves there is applied by ``Pipeline.recover`` at the next start, in its order, so the batch ends up whole:
sent again, each of its events is a repeat.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

import pyoxigraph as ox
from rdflib import Literal, URIRef

from kg.events import Event, parse_event
from kg.iris import BASE, Graphs
from kg.organisations import event_iri
from kg.store import Store
from ontology.namespaces import XSD

META: Final = f"<{Graphs.META}>"
WAITING: Final = URIRef(f"{BASE}meta#waitsToBeApplied")
"""An event of a batch whose earlier rounds are applied: its JSON."""
PLACE: Final = URIRef(f"{BASE}meta#placeInBatch")
QUEUED_AT: Final = URIRef(f"{BASE}meta#queuedAt")


def queue_operations(events: Sequence[tuple[int, Event]]) -> list[str]:
    """The update that keeps ``(place in the batch, event)`` waiting (with the first round's changes); one already
    waiting (a batch taken up again after a crash) keeps its place."""
    if not events:
        return []
    now = Literal(datetime.now(UTC).isoformat(), datatype=XSD.dateTime).n3()
    rows = " ".join(f"({event_iri(event).n3()} {Literal(_json(event)).n3()} {int(place)})" for place, event in events)
    return [
        f"INSERT {{ GRAPH {META} {{ ?event {WAITING.n3()} ?json ; {PLACE.n3()} ?place ; {QUEUED_AT.n3()} {now} }} }} "
        f"WHERE {{ VALUES (?event ?json ?place) {{ {rows} }} "
        f"FILTER NOT EXISTS {{ GRAPH {META} {{ ?event {WAITING.n3()} ?waiting }} }} }}"
    ]


def dequeue_operations(events: Iterable[Event]) -> list[str]:
    """The update that takes events out of the queue (with the round that applies or refuses them)."""
    values = " ".join(event_iri(event).n3() for event in events)
    if not values:
        return []
    return [
        f"DELETE {{ GRAPH {META} {{ ?event ?p ?o }} }} WHERE {{ VALUES ?event {{ {values} }} "
        f"GRAPH {META} {{ ?event {WAITING.n3()} ?json ; ?p ?o }} }}"
    ]


def queued_events(store: Store) -> list[Event]:
    """The events a crash left waiting, in the order of their batches."""
    rows = store.select(
        f"SELECT ?json WHERE {{ GRAPH {META} {{ ?event {WAITING.n3()} ?json ; {PLACE.n3()} ?place ; "
        f"{QUEUED_AT.n3()} ?at }} }} ORDER BY ?at ?place"
    )
    events = []
    for row in rows:
        text = row["json"]
        assert isinstance(text, ox.Literal)
        events.append(parse_event(text.value))
    return events


def _json(event: Event) -> str:
    return json.dumps(event.model_dump(mode="json"), ensure_ascii=True, separators=(",", ":"))

"""Many organisations in the graph in seconds: one history applied by the product, cloned by text substitution.

``EventApplier`` (the product's own event handling) applies one template organisation's history to a scratch
store; its organisation graph is then copied once per organisation with the id replaced, and bulk-loaded.
Every IRI the applier mints for an organisation lies under ``…/org/{id}/``, so the copies share nothing. The
copies are applied but not yet validated: ``baseline`` runs the clock over them when the caller wants the stream
to meet a steady state. Events about the clones are built here too (the benchmark does not import ``tests/``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Final

import pyoxigraph as ox

from kg.build import ensure_built
from kg.events import parse_event
from kg.iris import Graphs
from kg.organisations import EventApplier
from kg.store import Store, open_store

TEMPLATE: Final = "TEMPLATEORG0000000"
SYSTEM: Final = "chat"
STREAM_DAY: Final = date(2026, 1, 5)
"""Throughput events happen on this day; latency flips on the days after ``FLIP_FROM``."""
FLIP_FROM: Final = date(2026, 2, 1)
JsonObject = dict[str, Any]


def organisation_id(index: int) -> str:
    return f"BENCH{index:013d}"  # 18 characters, like a unified social credit code


def cloudevent(org: str, event_id: str, kind: str, day: date, data: JsonObject, hour: int = 9) -> JsonObject:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"urn:bench:{org}",
        "type": kind,
        "time": f"{day.isoformat()}T{hour:02d}:00:00+08:00",
        "subject": org,
        "data": data,
    }


def template_history(org: str) -> list[JsonObject]:
    """A generative AI service, filed, labelled: the explicit-content label is what the latency flips toggle."""
    registered = date(2025, 3, 3)
    return [
        cloudevent(org, "0", "organisation.registered", registered,
                   {"name": org, "jurisdiction": "CN-BJ", "personalInformationSubjects": 5000}),
        cloudevent(org, "1", "aisystem.deployed", registered + timedelta(days=1),
                   {"systemId": SYSTEM, "name": "Chat", "capabilities": ["text-generation"],
                    "launchedOn": (registered + timedelta(days=1)).isoformat()}),
        cloudevent(org, "2", "filing.completed", registered + timedelta(days=2),
                   {"systemId": SYSTEM, "kind": "generative-ai-service", "filingNumber": "Beijing-2025-1",
                    "authority": "CAC", "filedOn": (registered + timedelta(days=2)).isoformat()}),
        cloudevent(org, "3", "control.implemented", registered + timedelta(days=3),
                   {"systemId": SYSTEM, "kind": "explicit-content-label",
                    "since": (registered + timedelta(days=3)).isoformat()}),
    ]  # fmt: skip


def template_graph() -> str:
    scratch = open_store("memory")
    ensure_built(scratch)
    EventApplier(scratch).apply([parse_event(event) for event in template_history(TEMPLATE)])
    return scratch.export_graph(Graphs.ORGANISATIONS, ox.RdfFormat.N_TRIPLES).decode()


def load(store: Store, count: int, chunk: int = 5_000) -> Iterator[int]:
    """Bulk-load ``count`` clones into the organisation graph; yields how many are loaded after each chunk."""
    template = template_graph()
    for first in range(0, count, chunk):
        last = min(count, first + chunk)
        text = "".join(template.replace(TEMPLATE, organisation_id(index)) for index in range(first, last))
        store.add_to_graph(Graphs.ORGANISATIONS, text.encode(), ox.RdfFormat.N_TRIPLES)
        yield last


def throughput_event(org: str, rng: random.Random, event_id: str) -> JsonObject:
    """A valid event about a clone that never touches the explicit-content label (the latency flips own it)."""
    day = STREAM_DAY
    choices: list[tuple[str, JsonObject]] = [
        ("organisation.updated", {"personalInformationSubjects": rng.choice((5_000, 1_500_000, 12_000_000))}),
        ("control.implemented", {"systemId": SYSTEM, "kind": "complaint-channel", "since": day.isoformat()}),
        ("control.withdrawn", {"systemId": SYSTEM, "kind": "complaint-channel", "since": day.isoformat()}),
        ("disclosure.published", {"systemId": SYSTEM, "kind": "transparency-report",
                                  "publishedOn": day.isoformat()}),
        ("aisystem.updated", {"systemId": SYSTEM, "publicOpinionAttributes": rng.random() < 0.5}),
        ("assessment.completed", {"kind": "risk", "completedOn": day.isoformat(), "outcome": "passed"}),
    ]  # fmt: skip
    kind, data = rng.choice(choices)
    return cloudevent(org, event_id, kind, day, data, hour=rng.randrange(8, 20))


def flip_event(org: str, round_number: int, event_id: str) -> JsonObject:
    """Withdraw the explicit-content label (even rounds) or implement it again (odd): each opens or resolves."""
    day = FLIP_FROM + timedelta(days=round_number)
    kind = "control.withdrawn" if round_number % 2 == 0 else "control.implemented"
    return cloudevent(org, event_id, kind, day, {"systemId": SYSTEM, "kind": "explicit-content-label",
                                                 "since": day.isoformat()})  # fmt: skip


def encoded(event: JsonObject) -> tuple[bytes, bytes]:
    """(key, value) as a producer sends it: key = organisation id, value = the CloudEvent JSON."""
    return event["subject"].encode(), json.dumps(event, separators=(",", ":")).encode()

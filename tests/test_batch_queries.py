"""The queries the pipeline sends for every batch hold no constant object inside a UNION branch.

Oxigraph starts such a branch from the constant and scans every match in the store for every organisation: the
catch-up's query (``kg.catch_up.turning_days``) held ``?control a og:Control`` in one, and 1,000 generated
organisations loaded at 4 a second, an event one at a time took 51 ms at the median instead of 11
(``bench/bench_validation.py --orgs 1000``, 2026-12-05). The test records every query a batch of each event type
sends, with late and early events among them, and reads each with rdflib's algebra.
"""

from __future__ import annotations

from typing import Any

from kg.events import parse_event
from kg.pipeline import Pipeline
from kg.store import Store
from tests.support.cloudevents import cloudevent
from tests.support.shape_cases import clear
from tests.support.union_branches import constant_objects_in_unions

CHAT = {"systemId": "chat", "name": "Chat", "capabilities": ["image-generation"], "launchedOn": "2026-02-02"}
LABEL = {"kind": "explicit-content-label", "systemId": "chat"}
HISTORY: list[tuple[str, str, dict[str, Any]]] = [
    ("organisation.registered", "2026-01-05", {"name": "A", "jurisdiction": "CN", "personalInformationSubjects": 9}),
    ("aisystem.deployed", "2026-02-02", CHAT),
    ("control.implemented", "2026-02-10", {**LABEL, "since": "2026-02-10"}),
    ("control.withdrawn", "2026-03-02", {"kind": "explicit-content-label", "since": "2026-03-02"}),
    ("transfer.started", "2026-03-03", {"transferId": "x", "destination": "SG", "startedOn": "2026-03-03"}),
    ("organisation.updated", "2026-04-01", {"personalInformationSubjects": 1_500_000}),
    ("filing.completed", "2026-04-02", {"systemId": "chat", "kind": "algorithm", "filingNumber": "1",
                                         "authority": "CAC", "filedOn": "2026-04-02"}),
    ("organisation.updated", "2026-03-20", {"name": "A (late)"}),
    ("transfer.ended", "2026-05-04", {"transferId": "x", "endedOn": "2026-05-04"}),
    ("aisystem.retired", "2026-05-06", {"systemId": "chat", "retiredOn": "2026-05-06"}),
]  # fmt: skip


def test_no_query_a_batch_sends_holds_a_constant_object_in_a_union_branch(store: Store) -> None:
    clear(store)
    pipeline = Pipeline.from_store(store, by_changes=False)
    sent: list[str] = []
    for method in ("select", "select_fields", "query"):
        original = getattr(store, method)

        def recording(text: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            sent.append(text)
            return _original(text, *args, **kwargs)

        setattr(store, method, recording)
    try:
        for number, (kind, day, data) in enumerate(HISTORY):
            event = parse_event(cloudevent(f"q-{number}", kind, f"{day}T10:00:00+08:00", data, "A"))
            assert not pipeline.process([event]).rejected
    finally:
        for method in ("select", "select_fields", "query"):
            delattr(store, method)
    assert any("dueOn" in text and "UNION" in text for text in sent), "the catch-up's query was not seen"
    found = {(constant, text[:200]) for text in set(sent) for constant in constant_objects_in_unions(text)}
    assert not found, f"match a variable and FILTER it instead: {sorted(found)}"

"""The dashboard's batched violation reads (``kg.violations``) against the store read one violation at a time.

``violation_episodes`` takes each violation's latest episode from its record and reads only earlier ones; these
tests hold it to each violation's history as stored (``violation_history``, the CLI's read), over generated
organisations whose violations open, resolve and re-open."""

from __future__ import annotations

from datetime import datetime

from kg.pipeline import Pipeline
from kg.store import Store
from kg.violations import (
    Episode,
    list_violations,
    violation_episodes,
    violation_history,
    violation_iri,
    violation_records,
)
from tests.support import generated_data


def test_histories_from_records_equal_the_stored_episodes(store: Store, pipeline: Pipeline) -> None:
    pipeline.process(generated_data.as_events(generated_data.generate(60, seed=11)))
    listed = list_violations(store, status="all")
    records = violation_records(store, [violation_iri(entry["id"]) for entry in listed])
    assert len(records) == len(listed) > 0
    histories = violation_episodes(store, records)
    assert set(histories) == set(records)
    reopened = 0
    for iri, record in records.items():
        stored = [
            Episode(
                entry["episode"],
                datetime.fromisoformat(entry["openedAt"]),
                datetime.fromisoformat(entry["resolvedAt"]) if entry["resolvedAt"] else None,
                entry["causedBy"],
                entry["resolvedBy"],
            )
            for entry in violation_history(store, record.id)
        ]
        given = histories[iri]
        assert given == stored, record.id
        assert len(given) == record.episodes
        reopened += record.episodes > 1
    assert reopened > 0, "the data re-opens no violation, so earlier episodes went unread"

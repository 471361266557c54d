"""The read sets a server or worker keeps in its data directory: read back equal to what the parse gives, parsed again
for what the file lacks or does not match, and never a reason to fail."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kg import deltas, read_set_file, read_sets
from kg.build import ensure_built
from kg.deltas import DeltaPlanner
from kg.pipeline import Pipeline
from kg.read_sets import Key
from kg.store import open_store


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    store = open_store("memory")
    ensure_built(store)
    yield Pipeline.from_store(store)
    store.close()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The queries rdflib parses from now on (the process's own memo is emptied first)."""
    parsed: list[str] = []
    original: Callable[[str], frozenset[Key]] = read_sets.read_set

    def counted(query: str) -> frozenset[Key]:
        parsed.append(query)
        return original(query)

    deltas._read_set.cache_clear()
    monkeypatch.setattr(read_sets, "read_set", counted)
    yield parsed
    deltas._read_set.cache_clear()


def fresh(pipeline: Pipeline) -> DeltaPlanner:
    planner = pipeline.planner
    return DeltaPlanner(planner.checks, planner.rules, pipeline.workspace.regulations)


def indexes(planner: DeltaPlanner) -> list[tuple[object, dict[str, list[tuple[object, Key]]]]]:
    """What the planner's indexes hold, in a stable order (a set's order is not its content)."""
    return [
        (set(index._anything), {p: sorted(entries, key=str) for p, entries in index._by_predicate.items()})
        for index in planner._read_sets()
    ]


def test_the_file_gives_what_the_parse_gives(pipeline: Pipeline, parses: list[str], tmp_path: Path) -> None:
    saved = tmp_path / "data" / read_set_file.FILE_NAME
    first = fresh(pipeline)
    first.prepare(saved)
    queries = len(first.checks) + len(first.rules)
    assert len(parses) == queries > 40  # every check and rule, once
    assert saved.exists()

    parses.clear()
    deltas._read_set.cache_clear()
    second = fresh(pipeline)
    second.prepare(saved)
    assert parses == [], "nothing parsed: all read from the file"
    assert indexes(second) == indexes(first)
    assert indexes(first) == indexes(fresh(pipeline)), "and equal to a parse without a file"


def test_what_the_file_lacks_or_cannot_match_is_parsed_again(
    pipeline: Pipeline, parses: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    saved = tmp_path / read_set_file.FILE_NAME
    fresh(pipeline).prepare(saved)
    queries = len(parses)

    document = json.loads(saved.read_text(encoding="utf-8"))
    dropped = sorted(document["readSets"])[0]
    del document["readSets"][dropped]  # as after a shape changed: its query is new
    saved.write_text(json.dumps(document), encoding="utf-8")
    parses.clear()
    deltas._read_set.cache_clear()
    fresh(pipeline).prepare(saved)
    assert len(parses) == 1 and read_set_file.entry_key(parses[0]) == dropped
    assert dropped in json.loads(saved.read_text(encoding="utf-8"))["readSets"], "written back"

    document["reading"] = "an older kg/read_sets.py"
    saved.write_text(json.dumps(document), encoding="utf-8")
    parses.clear()
    deltas._read_set.cache_clear()
    fresh(pipeline).prepare(saved)
    assert len(parses) == queries, "another reading of queries: every entry is parsed again"

    saved.write_text('{"reading": "', encoding="utf-8")
    parses.clear()
    deltas._read_set.cache_clear()
    with caplog.at_level(logging.WARNING, logger="kg.read_set_file"):
        planner = fresh(pipeline)
        planner.prepare(saved)
    assert len(parses) == queries and "ignoring the read-set file" in caplog.text
    assert indexes(planner) == indexes(fresh(pipeline))
    assert json.loads(saved.read_text(encoding="utf-8"))["reading"] == read_set_file.reading(), "written again"


def test_a_file_that_cannot_be_written_costs_only_the_parse(
    pipeline: Pipeline, parses: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kg.read_set_file"):
        planner = fresh(pipeline)
        planner.prepare(blocked / read_set_file.FILE_NAME)
    assert "could not write the read-set file" in caplog.text
    assert indexes(planner) == indexes(fresh(pipeline))
    assert list(tmp_path.iterdir()) == [blocked], "no temporary file left behind"

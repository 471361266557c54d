"""The README's queries run against the built graph and answer what the README says they answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.build import ensure_built
from kg.store import Row, Store, open_store

README = Path(__file__).resolve().parents[1] / "README.md"
QUERIES = re.findall(r"```sparql\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.fixture(scope="module")
def store() -> Store:
    built = open_store("memory")
    ensure_built(built)
    return built


def values(rows: list[Row], name: str) -> list[str]:
    return [str(getattr(row[name], "value", "")) for row in rows if name in row]


def test_the_readme_shows_five_queries() -> None:
    assert len(QUERIES) == 5


def test_cac_obligations_with_articles(store: Store) -> None:
    rows = store.select(QUERIES[0])
    ids = values(rows, "id")
    assert {"GAI-12", "ALG-09", "PIPL-04"} <= set(ids)
    assert len(ids) == len(set(ids)), "one row an obligation (its English title)"
    articles = {str(getattr(row["id"], "value", "")): str(getattr(row.get("articles"), "value", "")) for row in rows}
    assert "Generative AI Interim Measures Art. 17" in articles["GAI-12"]


def test_generative_ai_provider_obligations_in_force(store: Store) -> None:
    ids = values(store.select(QUERIES[1]), "id")
    assert "GAI-01" in ids
    assert "GAI-12" not in ids, "GAI-12 also requires the public-opinion provider role"
    assert not any(obligation.startswith("AGC-") for obligation in ids)  # the unverified code is not in force


def test_penalties_by_instrument(store: Store) -> None:
    rows = store.select(QUERIES[2])
    assert len(rows) == 77


def test_working_day_deadlines(store: Store) -> None:
    rows = store.select(QUERIES[3])
    found = set(zip(values(rows, "id"), values(rows, "days"), values(rows, "from"), strict=True))
    assert ("ALG-09", "10", "service-launch") in found
    assert ("PIPL-06", "30", "threshold-reached") in found


def test_unsettled_instruments(store: Store) -> None:
    rows = store.select(QUERIES[4])
    statuses = dict(zip(values(rows, "instrument"), values(rows, "status"), strict=True))
    assert "draft" in statuses.values()
    assert "unverified" in statuses.values()
    assert "in-force" not in statuses.values()

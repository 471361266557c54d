"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.build import ensure_built
from kg.pipeline import Pipeline
from kg.store import Store, open_store
from tests.support.oxigraph_server import running_oxigraph


@pytest.fixture(scope="module")
def store() -> Store:
    """An in-memory store holding the built ontology, regulation and shapes graphs (one per test module)."""
    built = open_store("memory")
    ensure_built(built)
    return built


@pytest.fixture(scope="module")
def pipeline(store: Store) -> Pipeline:
    return Pipeline.from_store(store)


@pytest.fixture(scope="session")
def oxigraph_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Oxigraph server for the whole test session (tests use their own graph IRIs or clean up)."""
    location: Path = tmp_path_factory.mktemp("oxigraph-server")
    with running_oxigraph(location) as url:
        yield url


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """One real Kafka-protocol broker (Tansu, in memory) for the session; tests use their own topics and groups."""
    from tests.support.tansu import running_tansu

    with running_tansu() as bootstrap:
        yield bootstrap

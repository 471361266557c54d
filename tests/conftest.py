"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.oxigraph_server import running_oxigraph


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

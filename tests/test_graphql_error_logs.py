"""What the server logs of a failed GraphQL request, through HTTP: a fault with its traceback; a client's mistake
(syntax, validation, a variable's value, a limit) not at error level, however long the query that made it."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

import httpx
import pytest

from api.app import create_app
from api.config import SparqlEndpointConfig
from kg.store import OxigraphStore, QueryResult
from tests.support.live_server import live_server


class BrokenDisk(OxigraphStore):
    """A store whose reads fail once ``broken`` is set (the app starts on a working one)."""

    broken = False

    def query(self, sparql: str, *, prefixes: Mapping[str, str] | None = None) -> QueryResult:
        if self.broken:
            raise RuntimeError("the disk is on fire")
        return super().query(sparql, prefixes=prefixes)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, BrokenDisk]]:
    store = BrokenDisk(None)
    with live_server(create_app(store, SparqlEndpointConfig(update_token=None)), ready_path="/health") as url:
        yield url, store


def _post(url: str, query: str, **variables: object) -> httpx.Response:
    return httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)


MISTAKES = [
    ("{ obligations(first: 5) { ... on ObligationConnection { nodes { id } } }", {}),  # a syntax error
    ("{ " + "__typename " * 5_000 + "}", {}),  # too many tokens, and a long echo
    ("{ nosuchfield }", {}),
    ("query($id: ID!) { organisation(id: $id) { __typename } }", {"id": {"not": "an id"}}),
    ("{ " + " ".join(f"a{n}: __typename" for n in range(100)) + " }", {}),  # too many aliases
    ("subscription { violationChanged { eventId } }", {}),  # a subscription over HTTP
    ("query A { sectors { notation } } query B { authorities { code } }", {}),  # which operation?
]


@pytest.mark.parametrize(("query", "variables"), MISTAKES)
def test_a_clients_mistake_is_answered_and_not_logged_as_an_error(
    served: tuple[str, BrokenDisk], caplog: pytest.LogCaptureFixture, query: str, variables: dict[str, object]
) -> None:
    url, _ = served
    with caplog.at_level(logging.DEBUG):
        answer = _post(url, query, **variables)
    assert answer.json()["errors"], answer.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any(record.name == "obligraph.api.graphql" for record in caplog.records)  # kept, at debug level


def test_a_fault_is_logged_with_its_traceback(served: tuple[str, BrokenDisk], caplog: pytest.LogCaptureFixture) -> None:
    url, store = served
    store.broken = True
    try:
        with caplog.at_level(logging.INFO):
            answer = _post(url, "{ violations(first: 5) { ... on ViolationConnection { nodes { id } } } }")
    finally:
        store.broken = False
    assert "the disk is on fire" in answer.json()["errors"][0]["message"]
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info is not None
    assert "the disk is on fire" in str(errors[0].exc_info[1])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"query": "subscription { violationChanged { eventId } }"}, "runs over a WebSocket"),
        ({"query": "query A { sectors { notation } } query B { authorities { code } }"}, "operations (A, B)"),
    ],
)
def test_what_http_cannot_run_is_a_400_that_says_why(served: tuple[str, BrokenDisk], body: dict, words: str) -> None:
    """A subscription sent over HTTP, or two operations and no operationName: 400 with the reason, not a null field
    (and a traceback in the log) or the first operation run silently."""
    url, _ = served
    answer = httpx.post(f"{url}/graphql", json=body, timeout=30)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["errors"][0]["message"]
    named = httpx.post(f"{url}/graphql", json={**body, "operationName": "B"}, timeout=30)
    if "operations" in words:
        assert named.status_code == 200 and "authorities" in named.json()["data"]

"""Who may use ``/graphql``: local clients when no token is configured; the bearer token when one is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from gql.transport.exceptions import TransportServerError

from api.app import create_app
from api.config import GraphQLAccess, SparqlEndpointConfig
from kg.store import Store
from obligraph.settings import Settings
from tests.support.graphql_client import run
from tests.support.live_server import live_server

TOKEN = "graphql-test-token-0123456789abcdef"
QUERY = "{ sectors { notation } }"


@pytest.fixture(scope="module")
def guarded(store: Store) -> Iterator[str]:
    app = create_app(store, SparqlEndpointConfig(update_token=None), graphql=GraphQLAccess(TOKEN))
    with live_server(app, ready_path="/health") as url:
        yield url


@pytest.fixture(scope="module")
def open_locally(store: Store) -> Iterator[str]:
    with live_server(create_app(store, SparqlEndpointConfig(update_token=None)), ready_path="/health") as url:
        yield url


def test_without_a_token_configured_local_clients_are_served(open_locally: str) -> None:
    assert run(open_locally, QUERY)["sectors"]


def test_without_a_token_configured_remote_clients_are_refused(store: Store) -> None:
    """A client's address cannot be faked over loopback, so this one goes through the ASGI transport."""
    app = create_app(store, SparqlEndpointConfig(update_token=None))

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://obligraph") as client:
            return await client.post("/graphql", json={"query": QUERY})

    answer = asyncio.run(ask())
    assert answer.status_code == 403
    assert "OBLIGRAPH_GRAPHQL_TOKEN" in answer.text


def test_with_a_token_configured_it_is_required(guarded: str) -> None:
    with pytest.raises(TransportServerError) as refused:
        run(guarded, QUERY)
    assert refused.value.code == 401
    with pytest.raises(TransportServerError):
        run(guarded, QUERY, token="wrong")
    assert run(guarded, QUERY, token=TOKEN)["sectors"]


def test_with_a_token_configured_graphiql_opens_but_its_queries_need_the_token(guarded: str) -> None:
    """A browser cannot add a header to the page it opens; the page holds no data."""
    page = httpx.get(f"{guarded}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    by_url = httpx.get(f"{guarded}/graphql", params={"query": QUERY}, headers={"Accept": "text/html"})
    assert by_url.status_code == 401, "a query in the URL is a query, page or not"
    assert httpx.get(f"{guarded}/graphql", params={"query": QUERY}).status_code == 401


def test_a_short_token_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="OBLIGRAPH_GRAPHQL_TOKEN"):
        Settings(environment="production", graphql_token="short")  # type: ignore[arg-type]
    assert Settings(environment="production", graphql_token=TOKEN).graphql_token is not None  # type: ignore[arg-type]


def test_the_token_is_not_shown(store: Store) -> None:
    assert TOKEN not in repr(GraphQLAccess(TOKEN))

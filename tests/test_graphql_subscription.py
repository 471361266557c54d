"""``violationChanged`` over a real WebSocket (graphql-transport-ws, gql's client): a ``POST /events`` that opens
violations reaches the subscriber of that organisation, in process, from the pipeline's worker thread."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError, TransportQueryError
from starlette.applications import Starlette

from api.app import create_app
from api.config import GraphQLAccess, SparqlEndpointConfig
from kg.pipeline import Pipeline
from kg.store import Store
from tests.support.cloudevents import ORG
from tests.support.graphql_client import ws_transport
from tests.support.live_server import live_server
from tests.support.shape_cases import clear
from tests.test_events_api import DEPLOY, LATE, REGISTER, STRUCTURED

TOKEN = "subscription-test-token-0123456789"
SUBSCRIPTION = """subscription($org: ID) { violationChanged(organisation: $org) { eventId kind obligationId
  organisationId by message zh: message(lang: ZH)
  violation { status history { causedBy } trace { obligation { id } } } } }"""


@pytest.fixture(scope="module")
def served(store: Store) -> Iterator[tuple[str, Starlette]]:
    app = create_app(
        store, SparqlEndpointConfig(update_token=None), Pipeline.from_store(store), graphql=GraphQLAccess(TOKEN)
    )
    with live_server(app, ready_path="/health") as url:
        yield url, app


@pytest.fixture(autouse=True)
def fresh(store: Store) -> None:
    clear(store)


def post(url: str, body: dict[str, Any]) -> None:
    answer = httpx.post(f"{url}/events", content=json.dumps(body), headers=STRUCTURED)
    assert answer.status_code == 200, answer.text


async def _until_subscribed(app: Starlette, count: int) -> None:
    deadline = time.monotonic() + 10
    while app.state.change_hub.subscribers < count:
        assert time.monotonic() < deadline, "the subscription never registered"
        await asyncio.sleep(0.02)


async def _receive(url: str, app: Starlette, org: str, wanted: int) -> list[dict[str, Any]]:
    transport = ws_transport(url, init_payload={"Authorization": f"Bearer {TOKEN}"})
    received: list[dict[str, Any]] = []
    async with Client(transport=transport) as session:

        async def listen() -> None:
            request = GraphQLRequest(SUBSCRIPTION, variable_values={"org": org})
            async for result in session.subscribe(request):
                received.append(result["violationChanged"])
                if len(received) == wanted:
                    return

        task = asyncio.create_task(listen())
        await _until_subscribed(app, 1)
        for body in (REGISTER, DEPLOY, LATE):
            await asyncio.to_thread(post, url, body)
        await asyncio.wait_for(task, timeout=30)
    return received


def test_a_posted_event_reaches_the_subscriber_of_its_organisation(served: tuple[str, Starlette]) -> None:
    url, app = served
    changes = asyncio.run(_receive(url, app, ORG, wanted=6))
    alg09 = next(change for change in changes if change["obligationId"] == "ALG-09")
    assert alg09["kind"] == "OPENED"
    assert alg09["organisationId"] == ORG
    assert alg09["by"] == "clock"  # due on 16 March: caught up, the day after, before http-3 (20 March)
    assert "Art. 24" in alg09["message"] and "第二十四条" in alg09["zh"]
    assert alg09["violation"]["status"] == "OPEN"
    assert alg09["violation"]["history"] == [{"causedBy": "clock"}]
    assert alg09["violation"]["trace"]["obligation"] == {"id": "ALG-09"}
    assert len({change["eventId"] for change in changes}) == 6
    deadline = time.monotonic() + 5
    while app.state.change_hub.subscribers and time.monotonic() < deadline:
        time.sleep(0.02)
    assert app.state.change_hub.subscribers == 0  # the hub forgets a closed subscription


def test_another_organisations_changes_are_not_sent(served: tuple[str, Starlette]) -> None:
    url, app = served

    async def scenario() -> list[dict[str, Any]]:
        transport = ws_transport(url, init_payload={"Authorization": f"Bearer {TOKEN}"})
        async with Client(transport=transport) as session:
            received: list[dict[str, Any]] = []

            async def listen() -> None:
                request = GraphQLRequest(SUBSCRIPTION, variable_values={"org": "SOMEONE-ELSE"})
                async for result in session.subscribe(request):
                    received.append(result)

            task = asyncio.create_task(listen())
            await _until_subscribed(app, 1)
            for body in (REGISTER, DEPLOY, LATE):
                await asyncio.to_thread(post, url, body)
            await asyncio.sleep(0.5)
            task.cancel()
            return received

    assert asyncio.run(scenario()) == []


def test_a_websocket_without_the_token_is_refused(served: tuple[str, Starlette]) -> None:
    url, _ = served

    async def scenario(payload: dict[str, str] | None) -> None:
        async with Client(transport=ws_transport(url, init_payload=payload)) as session:
            async for _ in session.subscribe(GraphQLRequest(SUBSCRIPTION)):
                break

    for payload in (None, {"Authorization": "Bearer wrong"}):
        with pytest.raises(TransportError) as refused:  # a server that waits instead times out: not a TransportError
            asyncio.run(asyncio.wait_for(scenario(payload), timeout=10))
        closed = refused.value.__cause__ or refused.value.__context__
        received = getattr(closed, "rcvd", None)
        assert received is not None and received.code == 4403, repr(closed)  # graphql-transport-ws: Forbidden


def test_an_id_no_organisation_can_have_is_an_error_not_silence(served: tuple[str, Starlette]) -> None:
    """A dashboard subscribed with a mangled id would otherwise wait for changes that can never come."""
    url, _ = served

    async def scenario() -> None:
        transport = ws_transport(url, init_payload={"Authorization": f"Bearer {TOKEN}"})
        async with Client(transport=transport) as session:
            request = GraphQLRequest(SUBSCRIPTION, variable_values={"org": "no such id!"})
            async for _ in session.subscribe(request):
                break

    with pytest.raises(TransportQueryError, match="cannot be an organisation id"):
        asyncio.run(asyncio.wait_for(scenario(), timeout=10))

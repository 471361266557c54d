"""Who may query ``/sparql`` and post ``/events``: clients on this machine when no token is configured, the bearer
token (or, from a browser, the token as a Basic password) when one is; ``/health`` and ``/metrics`` stay open.
Before, both answered anyone, whatever tokens were set."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

import httpx
import pytest

from api.app import create_app
from api.config import SparqlEndpointConfig, events_access, sparql_access
from kg.pipeline import Pipeline
from kg.store import Store
from obligraph.settings import Settings
from tests.support.cloudevents import cloudevent
from tests.support.live_server import live_server
from tests.support.shape_cases import clear

SPARQL_TOKEN = "sparql-read-token-0123456789abcdef"
EVENTS_TOKEN = "events-write-token-0123456789abcdef"
UPDATE_TOKEN = "sparql-update-token-0123456789abcdef"
ASK = {"query": "ASK { ?s ?p ?o }"}
EVENT = cloudevent(
    "access-1", "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "A", "jurisdiction": "CN"}
)
STRUCTURED = {"Content-Type": "application/cloudevents+json"}


@pytest.fixture
def pipeline(store: Store) -> Pipeline:
    clear(store)
    return Pipeline.from_store(store)


@pytest.fixture
def guarded(store: Store, pipeline: Pipeline) -> Iterator[str]:
    config = SparqlEndpointConfig(update_token=UPDATE_TOKEN, queries=sparql_access(SPARQL_TOKEN))
    app = create_app(store, config, pipeline, events=events_access(EVENTS_TOKEN))
    with live_server(app, ready_path="/health") as url:
        yield url


def test_without_tokens_clients_elsewhere_are_refused_and_local_ones_served(store: Store, pipeline: Pipeline) -> None:
    """A client's address cannot be faked over loopback, so the remote one goes through the ASGI transport."""
    app = create_app(store, SparqlEndpointConfig(update_token=None), pipeline)

    async def ask(client_host: str) -> dict[str, httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://obligraph") as client:
            return {
                "query": await client.get("/sparql", params=ASK),
                "posted query": await client.post("/sparql", data=ASK),
                "page": await client.get("/sparql", headers={"Accept": "text/html"}),
                "events": await client.post("/events", json=EVENT, headers=STRUCTURED),
                "health": await client.get("/health"),
                "metrics": await client.get("/metrics"),
            }

    remote = asyncio.run(ask("203.0.113.7"))
    for name in ("query", "posted query", "page", "events"):
        assert remote[name].status_code == 403, (name, remote[name].text)
    assert "OBLIGRAPH_SPARQL_TOKEN" in remote["query"].text and "OBLIGRAPH_EVENTS_TOKEN" in remote["events"].text
    assert remote["health"].status_code == 200 and remote["metrics"].status_code == 200
    local = asyncio.run(ask("127.0.0.1"))
    assert {name: answer.status_code for name, answer in local.items()} == dict.fromkeys(local, 200)


def test_with_a_sparql_token_every_query_needs_it(guarded: str) -> None:
    refused = httpx.get(f"{guarded}/sparql", params=ASK)
    assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"], refused.text
    assert httpx.post(f"{guarded}/sparql", data=ASK).status_code == 401
    page = httpx.get(f"{guarded}/sparql", headers={"Accept": "text/html"})
    assert page.status_code == 401, "the page shows answers: it needs the token too"
    wrong = httpx.get(f"{guarded}/sparql", params=ASK, headers={"Authorization": f"Bearer {EVENTS_TOKEN}"})
    assert wrong.status_code == 401
    bearer = httpx.get(f"{guarded}/sparql", params=ASK, headers={"Authorization": f"Bearer {SPARQL_TOKEN}"})
    assert bearer.status_code == 200, bearer.text
    as_password = base64.b64encode(f"legal:{SPARQL_TOKEN}".encode()).decode()
    browser = httpx.get(f"{guarded}/sparql", headers={"Accept": "text/html", "Authorization": f"Basic {as_password}"})
    assert browser.status_code == 200 and "<form" in browser.text


def test_an_update_needs_the_update_token_only(guarded: str) -> None:
    update = {"update": "INSERT DATA { GRAPH <urn:access-test> { <urn:a> <urn:b> <urn:c> } }"}
    headers = {"Authorization": f"Bearer {UPDATE_TOKEN}"}
    assert httpx.post(f"{guarded}/sparql", data=update, headers=headers).status_code == 204
    reader = {"Authorization": f"Bearer {SPARQL_TOKEN}"}
    assert httpx.post(f"{guarded}/sparql", data=update, headers=reader).status_code == 401
    cleared = {"update": "DROP SILENT GRAPH <urn:access-test>"}
    assert httpx.post(f"{guarded}/sparql", data=cleared, headers=headers).status_code == 204


def test_with_an_events_token_posting_needs_it(guarded: str) -> None:
    refused = httpx.post(f"{guarded}/events", json=EVENT, headers=STRUCTURED)
    assert refused.status_code == 401 and "OBLIGRAPH_EVENTS_TOKEN" in refused.json()["error"], refused.text
    other = httpx.post(
        f"{guarded}/events", json=EVENT, headers={**STRUCTURED, "Authorization": f"Bearer {SPARQL_TOKEN}"}
    )
    assert other.status_code == 401
    sent = httpx.post(
        f"{guarded}/events", json=EVENT, headers={**STRUCTURED, "Authorization": f"Bearer {EVENTS_TOKEN}"}
    )
    assert sent.status_code == 200 and sent.json()["results"][0]["status"] == "applied", sent.text


@pytest.mark.parametrize("name", ["sparql_token", "events_token", "graphql_token", "sparql_update_token"])
def test_tokens_are_refused_short_in_production_and_with_a_line_break_anywhere(name: str) -> None:
    with pytest.raises(ValueError, match=f"OBLIGRAPH_{name.upper()} must be at least 24 characters"):
        Settings(environment="production", **{name: "short"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"OBLIGRAPH_{name.upper()} must be ASCII without spaces or line breaks"):
        Settings(**{name: SPARQL_TOKEN + "\n"})  # type: ignore[arg-type]
    for unusable in (SPARQL_TOKEN[:10] + "\n" + SPARQL_TOKEN[10:], SPARQL_TOKEN + "\t", "令牌" + SPARQL_TOKEN, ""):
        with pytest.raises(ValueError, match=f"OBLIGRAPH_{name.upper()} must be ASCII without spaces"):
            Settings(**{name: unusable})  # type: ignore[arg-type]
    assert Settings(environment="production", **{name: SPARQL_TOKEN}) is not None  # type: ignore[arg-type]


def test_the_tokens_are_not_shown() -> None:
    shown = repr(SparqlEndpointConfig(update_token=UPDATE_TOKEN, queries=sparql_access(SPARQL_TOKEN)))
    shown += repr(events_access(EVENTS_TOKEN))
    assert SPARQL_TOKEN not in shown and UPDATE_TOKEN not in shown and EVENTS_TOKEN not in shown

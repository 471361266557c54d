"""A remote store that fails under the API: a clear answer, and never its credentials."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.app import create_app
from api.config import SparqlEndpointConfig
from kg.build import ensure_built
from kg.pipeline import Pipeline
from kg.store import RemoteEndpoints, RemoteStore
from tests.support.cloudevents import ORG, cloudevent
from tests.support.live_server import live_server
from tests.support.oxigraph_server import running_oxigraph

REGISTER = cloudevent(
    "fail-1", "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "A", "jurisdiction": "CN"}
)


def test_events_and_queries_answer_502_without_the_stores_password_when_it_is_gone(tmp_path: Path) -> None:
    """The store's URL carries a user and password (``http://admin:s3cret@host``): when the store stops answering,
    ``POST /events`` answers 502 with the reason (before: a bare 500) and neither it nor ``/sparql`` shows the
    password to an anonymous client."""
    with running_oxigraph(tmp_path / "oxigraph") as url:
        store = RemoteStore(RemoteEndpoints.for_base_url(url.replace("http://", "http://admin:s3cret@")), timeout_s=5)
        ensure_built(store)
        app = create_app(store, SparqlEndpointConfig(update_token=None), Pipeline.from_store(store))
        with live_server(app, ready_path="/health") as base_url:
            first = httpx.post(
                f"{base_url}/events", json=REGISTER, headers={"Content-Type": "application/cloudevents+json"}
            )
            assert first.status_code == 200, first.text
    # the Oxigraph server has stopped
    with live_server(app, ready_path="/health") as base_url:
        again = cloudevent("fail-2", "organisation.updated", "2026-03-03T09:00:00+08:00", {"name": "B"}, ORG)
        answer = httpx.post(f"{base_url}/events", json=again, headers={"Content-Type": "application/cloudevents+json"})
        assert answer.status_code == 502, answer.text
        assert "the store failed" in answer.json()["error"] and "send" in answer.json()["error"]
        query = httpx.get(f"{base_url}/sparql", params={"query": "ASK {}"})
        assert query.status_code == 502, query.text
        for text in (answer.text, query.text):
            assert "s3cret" not in text and "***@127.0.0.1" in text, text

"""The app factory: one place that assembles the HTTP API around a store (later: GraphQL, /events)."""

from __future__ import annotations

from fastapi import FastAPI

from api import events, sparql
from api.config import SparqlEndpointConfig, StoreDep
from kg.pipeline import Pipeline
from kg.store import Store


def create_app(store: Store, config: SparqlEndpointConfig, pipeline: Pipeline | None = None) -> FastAPI:
    """Build the app; the caller owns the store's lifetime (opens it before, closes it after).

    With a pipeline, ``POST /events`` applies organisation events and validates what they touch.
    """
    app = FastAPI(
        title="obligraph",
        summary="A knowledge graph of Chinese AI regulatory obligations",
        description="SPARQL 1.1 Protocol endpoint at `/sparql` (the default graph of a query is the union of "
        "all named graphs); organisation events (CloudEvents HTTP binding) at `/events`.",
    )
    app.state.store = store
    app.state.config = config
    app.include_router(sparql.router)
    if pipeline is not None:
        app.state.pipeline = pipeline
        app.include_router(events.router)
    app.add_api_route("/health", health, methods=["GET"], tags=["health"])
    return app


def health(store: StoreDep) -> dict[str, str]:
    """Liveness: the process answers and knows which store backend it runs on."""
    return {"status": "ok", "store": store.backend}

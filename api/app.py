"""The app factory: one place that assembles the HTTP API around a store (later: GraphQL, /events)."""

from __future__ import annotations

from fastapi import FastAPI

from api import sparql
from api.config import SparqlEndpointConfig, StoreDep
from kg.store import Store


def create_app(store: Store, config: SparqlEndpointConfig) -> FastAPI:
    """Build the app; the caller owns the store's lifetime (opens it before, closes it after)."""
    app = FastAPI(
        title="obligraph",
        summary="A knowledge graph of Chinese AI regulatory obligations",
        description="SPARQL 1.1 Protocol endpoint at `/sparql`; "
        "the default graph of a query is the union of all named graphs.",
    )
    app.state.store = store
    app.state.config = config
    app.include_router(sparql.router)
    app.add_api_route("/health", health, methods=["GET"], tags=["health"])
    return app


def health(store: StoreDep) -> dict[str, str]:
    """Liveness: the process answers and knows which store backend it runs on."""
    return {"status": "ok", "store": store.backend}

"""The app factory: one place that assembles the HTTP API around a store (SPARQL, /events, GraphQL)."""

from __future__ import annotations

from fastapi import FastAPI

from api import events, sparql
from api.config import GraphQLAccess, SparqlEndpointConfig, StoreDep
from api.graphql.router import graphql_router
from api.graphql.subscription import ChangeHub
from kg.pipeline import Pipeline
from kg.store import Store


def create_app(
    store: Store,
    config: SparqlEndpointConfig,
    pipeline: Pipeline | None = None,
    *,
    graphql: GraphQLAccess | None = None,
) -> FastAPI:
    """Build the app; the caller owns the store's lifetime (opens it before, closes it after).

    With a pipeline, ``POST /events`` applies organisation events and validates what they touch, and the
    violation changes it makes reach GraphQL subscriptions. ``graphql`` says who may use ``/graphql``
    (default: local clients only, no token).
    """
    app = FastAPI(
        title="obligraph",
        summary="A knowledge graph of Chinese AI regulatory obligations",
        description="SPARQL 1.1 Protocol endpoint at `/sparql` (the default graph of a query is the union of "
        "all named graphs); organisation events (CloudEvents HTTP binding) at `/events`; GraphQL for "
        "compliance dashboards (with GraphiQL) at `/graphql`.",
    )
    app.state.store = store
    app.state.config = config
    app.include_router(sparql.router)
    hub = ChangeHub()
    app.state.change_hub = hub
    if pipeline is not None:
        app.state.pipeline = pipeline
        app.include_router(events.router)
        pipeline.listeners.append(hub.publish)
    app.include_router(graphql_router(store, hub, graphql or GraphQLAccess()), prefix="/graphql", tags=["graphql"])
    app.add_api_route("/health", health, methods=["GET"], tags=["health"])
    return app


def health(store: StoreDep) -> dict[str, str]:
    """Liveness: the process answers and knows which store backend it runs on."""
    return {"status": "ok", "store": store.backend}

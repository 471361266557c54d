"""The app factory: one place that assembles the HTTP API around a store (SPARQL, /events, GraphQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request

from api import events as events_routes
from api import method_not_allowed, metrics, sparql
from api.access import RouteAccess
from api.config import GraphQLAccess, SparqlEndpointConfig, StoreDep, events_access
from api.graphql.router import graphql_router
from api.graphql.subscription import ChangeHub
from kg.group_commit import GroupCommit
from kg.metrics import registry_for
from kg.pipeline import Pipeline
from kg.store import Store

if TYPE_CHECKING:
    from api.graphql.kafka_feed import ViolationFeed, ViolationFeedConfig


def create_app(
    store: Store,
    config: SparqlEndpointConfig,
    pipeline: Pipeline | None = None,
    *,
    graphql: GraphQLAccess | None = None,
    events: RouteAccess | None = None,
    violation_feed: ViolationFeedConfig | None = None,
) -> FastAPI:
    """Build the app; the caller owns the store's lifetime (opens it before, closes it after).

    With a pipeline, ``POST /events`` applies organisation events and validates what they touch, and the
    violation changes it makes reach GraphQL subscriptions. ``graphql`` says who may use ``/graphql``, ``events``
    who may post events, ``config.queries`` who may query ``/sparql`` (by default each: local clients only, no
    token; ``api.access``).

    With ``violation_feed``, subscriptions also receive the changes on the violations topic (what the Kafka
    worker validates): the feed's thread runs while the app is served (its lifespan). The pipeline's own
    changes still reach them in process: that pipeline has no outbox, so they are never on the topic.
    """
    hub = ChangeHub()
    feed: ViolationFeed | None = None
    if violation_feed is not None:
        from api.graphql.kafka_feed import ViolationFeed  # kafka-python only where it is used

        feed = ViolationFeed(violation_feed, hub.publish)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if feed is None:
            yield
            return
        feed.start()
        try:
            yield
        finally:
            await asyncio.to_thread(feed.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="obligraph",
        summary="A knowledge graph of Chinese AI regulatory obligations",
        description="SPARQL 1.1 Protocol endpoint at `/sparql` (the default graph of a query is the union of "
        "all named graphs); organisation events (CloudEvents HTTP binding) at `/events`; GraphQL for "
        "compliance dashboards (with GraphiQL) at `/graphql`.",
    )
    app.state.store = store
    app.state.config = config
    app.include_router(sparql.router)
    method_not_allowed.install(app)
    app.state.change_hub = hub
    app.state.violation_feed = feed
    if pipeline is not None:
        app.state.pipeline = pipeline
        group_commit = app.state.group_commit = GroupCommit(pipeline)
        app.state.metrics = registry_for(
            pipeline.stats,
            counters=lambda: {"http_event_groups": ("POST /events batches (grouped requests)", group_commit.groups)},
            gauges=lambda: {
                "http_event_requests_waiting": ("POST /events requests waiting for a batch", group_commit.waiting)
            },
        )
        app.state.events_access = events or events_access(None)
        app.include_router(events_routes.router)
        app.include_router(metrics.router)
        pipeline.listeners.append(hub.publish)
    app.include_router(graphql_router(store, hub, graphql or GraphQLAccess()), prefix="/graphql", tags=["graphql"])
    app.add_api_route("/health", health, methods=["GET"], tags=["health"])
    app.add_api_route("/", index, methods=["GET"], tags=["health"])
    return app


def index(request: Request) -> dict[str, Any]:
    """What this server offers, for whoever opens its address first (the README sends them here)."""
    offered = {
        "sparql": (
            "/sparql",
            "SPARQL 1.1 Protocol: GET ?query=… or POST; the service description without a query; a query page in a "
            "browser",
        ),
        "graphql": ("/graphql", "GraphQL for compliance dashboards; GraphiQL in a browser"),
    }
    if getattr(request.app.state, "pipeline", None) is not None:  # create_app adds these routes with a pipeline
        offered["events"] = ("/events", "POST organisation events (CloudEvents HTTP binding, one or a batch)")
        offered["metrics"] = ("/metrics", "Prometheus metrics")
    offered["health"] = ("/health", "liveness")
    offered["docs"] = ("/docs", "OpenAPI description of the HTTP routes")
    return {
        "service": "obligraph",
        "summary": request.app.summary,
        "endpoints": {name: {"path": path, "what": what} for name, (path, what) in offered.items()},
    }


async def health(store: StoreDep, request: Request) -> dict[str, Any]:
    """Liveness: the process answers and knows which store backend it runs on. On the event loop (it reads nothing
    that blocks), so it answers while every thread waits behind a long batch of events.

    With the Kafka feed, also how it fares: a broker that is down degrades subscriptions, not the API, so the
    status stays ``ok``.
    """
    answer: dict[str, Any] = {"status": "ok", "store": store.backend}
    feed: ViolationFeed | None = request.app.state.violation_feed
    if feed is not None:
        answer["subscriptions"] = feed.status().as_json()
    return answer

"""The composition root: settings → store → graph build → app. Nothing else wires the system."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from kg.organisations import CHINA
from kg.store import RemoteEndpoints, Store, StoreError, open_store
from obligraph.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.graphql.kafka_feed import ViolationFeedConfig
    from kg.pipeline import Pipeline

log = logging.getLogger("obligraph")


def remote_endpoints(settings: Settings) -> RemoteEndpoints | None:
    if settings.store != "remote":
        return None
    if settings.remote_url:
        base = RemoteEndpoints.for_base_url(settings.remote_url)
    elif settings.remote_query_url and settings.remote_update_url and settings.remote_graph_store_url:
        base = RemoteEndpoints(settings.remote_query_url, settings.remote_update_url, settings.remote_graph_store_url)
    else:
        raise StoreError(
            "the remote store needs OBLIGRAPH_REMOTE_URL (or all of OBLIGRAPH_REMOTE_QUERY_URL, "
            "OBLIGRAPH_REMOTE_UPDATE_URL and OBLIGRAPH_REMOTE_GRAPH_STORE_URL)"
        )
    return RemoteEndpoints(
        query_url=settings.remote_query_url or base.query_url,
        update_url=settings.remote_update_url or base.update_url,
        graph_store_url=settings.remote_graph_store_url or base.graph_store_url,
    )


def open_configured_store(settings: Settings) -> Store:
    return open_store(
        settings.store,
        data_dir=settings.data_dir,
        remote=remote_endpoints(settings),
        remote_timeout_s=settings.remote_timeout_s,
    )


def build_app(settings: Settings, store: Store, pipeline: Pipeline | None = None) -> FastAPI:
    from api.app import create_app
    from api.config import GraphQLAccess, SparqlEndpointConfig

    token = settings.sparql_update_token.get_secret_value() if settings.sparql_update_token else None
    graphql_token = settings.graphql_token.get_secret_value() if settings.graphql_token else None
    return create_app(
        store,
        SparqlEndpointConfig(
            update_token=token,
            query_timeout_s=settings.sparql_timeout_s,
            result_cap=settings.sparql_result_cap,
        ),
        pipeline,
        graphql=GraphQLAccess(token=graphql_token),
        violation_feed=violation_feed_config(settings),
    )


def violation_feed_config(settings: Settings) -> ViolationFeedConfig | None:
    """With ``subscription_source=kafka``, where the API reads the worker's violation changes from."""
    if settings.subscription_source != "kafka":
        return None
    from api.graphql.kafka_feed import ViolationFeedConfig

    return ViolationFeedConfig(bootstrap=settings.kafka_bootstrap, topic=settings.violations_topic)


def build_pipeline(store: Store) -> Pipeline:
    """The validation pipeline, after finishing any validation a crash interrupted."""
    from kg.pipeline import Pipeline

    pipeline = Pipeline.from_store(store)
    pipeline.recover()
    return pipeline


def start_clock(pipeline: Pipeline, interval_s: float) -> threading.Event:
    """Re-validate everyone as of today every ``interval_s`` seconds: deadlines fall due with no event.

    Returns the event that stops the clock. The first tick is one interval after start.
    """
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(interval_s):
            try:
                changes = pipeline.revalidate(datetime.now(CHINA).date())
                log.info("clock: %d violation changes", len(changes))
            except Exception:  # keep ticking; the next tick retries
                log.exception("clock: revalidation failed")

    threading.Thread(target=tick, name="obligraph-clock", daemon=True).start()
    return stop

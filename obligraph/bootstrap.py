"""The composition root: settings → store → graph build → app. Nothing else wires the system."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kg.store import RemoteEndpoints, Store, StoreError, open_store
from obligraph.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from pydantic import SecretStr

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
    from api.config import GraphQLAccess, SparqlEndpointConfig, events_access, sparql_access

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return create_app(
        store,
        SparqlEndpointConfig(
            update_token=secret(settings.sparql_update_token),
            query_timeout_s=settings.sparql_timeout_s,
            result_cap=settings.sparql_result_cap,
            allow_service=settings.sparql_allow_service,
            queries=sparql_access(secret(settings.sparql_token)),
        ),
        pipeline,
        graphql=GraphQLAccess(token=secret(settings.graphql_token), operation_timeout_s=settings.graphql_timeout_s),
        events=events_access(secret(settings.events_token)),
        violation_feed=violation_feed_config(settings),
    )


def violation_feed_config(settings: Settings) -> ViolationFeedConfig | None:
    """With ``subscription_source=kafka``, where the API reads the worker's violation changes from."""
    if settings.subscription_source != "kafka":
        return None
    from api.graphql.kafka_feed import ViolationFeedConfig

    return ViolationFeedConfig(bootstrap=settings.kafka_bootstrap, topic=settings.violations_topic)


def build_pipeline(settings: Settings, store: Store) -> Pipeline:
    """The validation pipeline, after finishing any validation a crash interrupted."""
    from kg.pipeline import Pipeline

    pipeline = Pipeline.from_store(store)
    pipeline.planner.prepare_in_background(read_set_path(settings))
    pipeline.recover()
    return pipeline


def read_set_path(settings: Settings) -> Path:
    """Where a long-running process keeps its read sets between runs (``kg.read_set_file``)."""
    from kg.read_set_file import FILE_NAME

    return settings.data_dir / FILE_NAME


def start_clock(
    pipeline: Pipeline, interval_s: float, *, progress_every_s: float = 60.0, compact_daily: bool = True
) -> threading.Event:
    """Re-validate everyone as of today every ``interval_s`` seconds: deadlines fall due with no event.

    Returns the event that stops the clock. At start it catches up at once when no pass has been judged as of
    today yet (the server was down when the day began, or this is its first start; ``kg.clock_passes``);
    otherwise the first pass is one interval after start. Each pass is logged as it starts and ends, and every
    ``progress_every_s`` seconds in between (100,000 organisations take about 20 minutes). With
    ``compact_daily``, the first complete pass of each day is followed by a compaction of the embedded store
    (``Store.compact``): a day of writes leaves overlapping files that slow every read. ``stop_clock`` stops it
    before the store closes.
    """
    from kg.clock_passes import last_pass
    from kg.compliance import today as today_in_china

    stop = threading.Event()
    compacted_on: list[date] = []  # the day of this process's last compaction

    def compact_once_a_day(today: date) -> None:
        if not compact_daily or today in compacted_on:
            return
        compacted_on[:] = [today]
        started = time.perf_counter()
        try:
            if pipeline.store.compact():
                log.info("clock: compacted the store in %.1f s", time.perf_counter() - started)
        except Exception:  # the store stays as it was; tomorrow's pass tries again
            log.exception("clock: compacting the store failed")

    def run_pass() -> None:
        today = today_in_china()
        started = last_report = time.perf_counter()
        validated = 0

        def progress(chunk: int) -> None:
            nonlocal validated, last_report
            validated += chunk
            if time.perf_counter() - last_report >= progress_every_s:
                last_report = time.perf_counter()
                plural = "" if validated == 1 else "s"
                log.info(
                    "clock: validated %s organisation%s so far, %.0f s in",
                    f"{validated:,}",
                    plural,
                    last_report - started,
                )

        try:
            log.info("clock: validating every organisation as of %s", today)
            changes = pipeline.revalidate(today, progress=progress, stop=stop)
            if stop.is_set():
                log.info("clock: stopped after %s organisations; the next start catches up", f"{validated:,}")
                return
            opened = sum(change.kind == "opened" for change in changes)
            log.info(
                "clock: done in %.1f s: %d violations opened, %d resolved",
                time.perf_counter() - started,
                opened,
                len(changes) - opened,
            )
        except Exception:  # keep ticking; the next tick retries
            log.exception("clock: revalidation failed")
            return
        compact_once_a_day(today)

    def tick() -> None:
        today = today_in_china()
        try:
            last = last_pass(pipeline.store)
        except Exception:
            log.exception("clock: could not read the day of the last pass; catching up")
            last = None
        if last is None or last < today:
            run_pass()
        else:
            pipeline.stats.saw_clock_pass(last)
            log.info("clock: the last pass was as of %s; the next in %g s", last, interval_s)
        while not stop.wait(interval_s):
            run_pass()

    threading.Thread(target=tick, name="obligraph-clock", daemon=True).start()
    return stop


def stop_clock(pipeline: Pipeline, stop: threading.Event) -> None:
    """Stop a clock ``start_clock`` started so that the store may close: a pass under way starts no further chunk
    once ``stop`` is set, and holding the pipeline's lock waits for the chunk it is in."""
    stop.set()
    with pipeline.lock:
        pass

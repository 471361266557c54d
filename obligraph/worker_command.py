"""``obligraph worker``: the Kafka consumer-group worker (``ingest.worker``), wired from the settings."""

from __future__ import annotations

import logging
import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from obligraph.settings import Settings

if TYPE_CHECKING:
    from ingest.worker import Worker


def worker(
    ctx: typer.Context,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            "--bootstrap", help="Kafka bootstrap servers HOST:PORT, comma-separated (env OBLIGRAPH_KAFKA_BOOTSTRAP)"
        ),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Events topic (env OBLIGRAPH_EVENTS_TOPIC; obligraph.events)")
    ] = None,
    violations_topic: Annotated[
        str | None,
        typer.Option("--violations-topic", help="Where violation changes go (env OBLIGRAPH_VIOLATIONS_TOPIC)"),
    ] = None,
    dead_letter_topic: Annotated[
        str | None,
        typer.Option("--dead-letter-topic", help="Where rejected records go (env OBLIGRAPH_DEAD_LETTER_TOPIC)"),
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Consumer group (env OBLIGRAPH_CONSUMER_GROUP; obligraph)")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Records per batch (env OBLIGRAPH_WORKER_BATCH_SIZE; 500)")
    ] = None,
    max_wait_ms: Annotated[
        int | None,
        typer.Option(
            "--max-wait-ms", help="Longest wait for a batch's first record (env OBLIGRAPH_WORKER_MAX_WAIT_MS)"
        ),
    ] = None,
    session_timeout_ms: Annotated[
        int | None,
        typer.Option("--session-timeout-ms", help="Consumer session timeout (env OBLIGRAPH_KAFKA_SESSION_TIMEOUT_MS)"),
    ] = None,
    stop_when_idle: Annotated[
        float | None,
        typer.Option("--stop-when-idle", help="Stop after this many seconds without new records (backfills)"),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            help="Serve Prometheus metrics at http://HOST:PORT/metrics (env OBLIGRAPH_WORKER_METRICS_PORT)",
        ),
    ] = None,
    clock: Annotated[
        bool | None,
        typer.Option(
            "--clock/--no-clock",
            help="Re-validate everyone as of today on the clock, as serve does, and publish the changes "
            "(env OBLIGRAPH_WORKER_CLOCK; off)",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every batch")] = False,
) -> None:
    """Consume organisation events from Kafka, validate them, publish violation changes (stop: Ctrl-C/SIGTERM)."""
    from ingest.config import WorkerConfig
    from ingest.worker import Worker, WorkerStopped
    from kg.pipeline import Pipeline
    from obligraph.bootstrap import read_set_path, start_clock, stop_clock
    from obligraph.cli import console, fail, opened_store, settings_problems
    from obligraph.heap import settle_heap

    overrides = {
        "kafka_bootstrap": bootstrap,
        "events_topic": topic,
        "violations_topic": violations_topic,
        "dead_letter_topic": dead_letter_topic,
        "consumer_group": group,
        "worker_batch_size": batch_size,
        "worker_max_wait_ms": max_wait_ms,
        "kafka_session_timeout_ms": session_timeout_ms,
        "worker_metrics_port": metrics_port,
        "worker_clock": clock,
    }
    base: Settings = ctx.obj
    try:
        settings = Settings(
            **{**base.model_dump(), **{key: value for key, value in overrides.items() if value is not None}}
        )
        config = WorkerConfig(
            bootstrap=settings.kafka_bootstrap,
            events_topic=settings.events_topic,
            violations_topic=settings.violations_topic,
            dead_letter_topic=settings.dead_letter_topic,
            group=settings.consumer_group,
            batch_size=settings.worker_batch_size,
            max_wait_ms=settings.worker_max_wait_ms,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            idle_exit_s=stop_when_idle,
        )
    except ValidationError as error:
        raise fail(f"invalid worker settings: {settings_problems(error)}") from None
    except ValueError as error:
        raise fail(f"invalid worker settings: {error}") from None

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a remote store's every request, at INFO
    logging.getLogger("obligraph.worker").setLevel(logging.INFO if verbose else logging.WARNING)
    with opened_store(settings) as store:
        from kafka.errors import KafkaError

        pipeline = Pipeline.from_store(store, outbox=True)
        pipeline.planner.prepare_in_background(read_set_path(settings))
        console.print(f"connecting to Kafka at {config.bootstrap}")
        # kafka-python logs each failed attempt of its bootstrap at ERROR and WARNING (four lines an attempt, a
        # dozen attempts); until it is connected, the one line that matters is ours.
        kafka_log = logging.getLogger("kafka")
        level = kafka_log.level  # restored once connected (set to WARNING above)
        kafka_log.setLevel(logging.CRITICAL)
        try:
            running = Worker(config, pipeline)
        except KafkaError as error:
            raise fail(f"cannot reach Kafka at {config.bootstrap}: {error}") from None
        finally:
            kafka_log.setLevel(level)
        settle_heap()
        if settings.worker_metrics_port is not None:
            serve_worker_metrics(running, settings.host, settings.worker_metrics_port)

        def stop(signum: int, _frame: object) -> None:
            console.print(f"{signal.Signals(signum).name}: finishing the batch, then stopping")
            running.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        console.print(
            f"obligraph worker: {config.events_topic} → {config.violations_topic} "
            f"(dead letters: {config.dead_letter_topic}), group {config.group}, Kafka {config.bootstrap}"
        )
        clock_stop = (
            start_clock(pipeline, settings.clock_interval_s, compact_daily=settings.compact_daily)
            if settings.worker_clock and settings.clock_interval_s > 0
            else None
        )
        try:
            running.run()
        except WorkerStopped as error:
            raise fail(str(error)) from None
        except KafkaError as error:
            raise fail(f"Kafka failed: {error}") from None
        finally:
            if clock_stop is not None:
                stop_clock(pipeline, clock_stop)
        stats = running.stats
        console.print(
            f"stopped: {stats.records:,} records in {stats.batches:,} batches, {stats.applied:,} applied, "
            f"{stats.dead_letters:,} dead letters, {stats.published:,} violation changes published"
        )


def serve_worker_metrics(running: Worker, host: str, port: int) -> None:
    """The pipeline's metrics and the worker's own counters at ``http://host:port/metrics`` (a daemon thread)."""
    from prometheus_client import start_http_server

    from kg.metrics import registry_for

    stats = running.stats

    def counters() -> dict[str, tuple[str, float]]:
        return {
            "worker_records": ("Kafka records the worker consumed", stats.records),
            "worker_dead_letters": ("Records sent to the dead-letter topic", stats.dead_letters),
            "worker_published": ("Violation changes published on the violations topic", stats.published),
        }

    try:
        start_http_server(port, addr=host, registry=registry_for(running.pipeline.stats, counters))
    except OSError as error:
        from obligraph.cli import fail

        raise fail(f"cannot serve metrics on {host}:{port}: {error.strerror}") from None

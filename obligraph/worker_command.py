"""``obligraph worker``: the Kafka consumer-group worker (``ingest.worker``), wired from the settings."""

from __future__ import annotations

import logging
import signal
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from obligraph.settings import Settings


def worker(
    ctx: typer.Context,
    bootstrap: Annotated[
        str | None,
        typer.Option("--bootstrap", help="Kafka bootstrap servers HOST:PORT[,…] [env OBLIGRAPH_KAFKA_BOOTSTRAP]"),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Events topic [env OBLIGRAPH_EVENTS_TOPIC; obligraph.events]")
    ] = None,
    violations_topic: Annotated[
        str | None,
        typer.Option("--violations-topic", help="Where violation changes go [env OBLIGRAPH_VIOLATIONS_TOPIC]"),
    ] = None,
    dead_letter_topic: Annotated[
        str | None,
        typer.Option("--dead-letter-topic", help="Where rejected records go [env OBLIGRAPH_DEAD_LETTER_TOPIC]"),
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Consumer group [env OBLIGRAPH_CONSUMER_GROUP; obligraph]")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Records per batch [env OBLIGRAPH_WORKER_BATCH_SIZE; 500]")
    ] = None,
    max_wait_ms: Annotated[
        int | None,
        typer.Option(
            "--max-wait-ms", help="Longest wait for a batch's first record [env OBLIGRAPH_WORKER_MAX_WAIT_MS]"
        ),
    ] = None,
    session_timeout_ms: Annotated[
        int | None,
        typer.Option("--session-timeout-ms", help="Consumer session timeout [env OBLIGRAPH_KAFKA_SESSION_TIMEOUT_MS]"),
    ] = None,
    stop_when_idle: Annotated[
        float | None,
        typer.Option("--stop-when-idle", help="Stop after this many seconds without new records (backfills)"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every batch")] = False,
) -> None:
    """Consume organisation events from Kafka, validate them, publish violation changes (stop: Ctrl-C/SIGTERM)."""
    from ingest.config import WorkerConfig
    from ingest.worker import Worker, WorkerStopped
    from kg.pipeline import Pipeline
    from obligraph.cli import console, fail, opened_store
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
    except (ValidationError, ValueError) as error:
        raise fail(f"invalid worker settings: {error}") from None

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("obligraph.worker").setLevel(logging.INFO if verbose else logging.WARNING)
    with opened_store(settings) as store:
        from kafka.errors import KafkaError

        try:
            pipeline = Pipeline.from_store(store, outbox=True)
            running = Worker(config, pipeline)
        except KafkaError as error:
            raise fail(f"cannot reach Kafka at {config.bootstrap}: {error}") from None
        settle_heap()

        def stop(signum: int, _frame: object) -> None:
            console.print(f"{signal.Signals(signum).name}: finishing the batch, then stopping")
            running.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        console.print(
            f"obligraph worker: {config.events_topic} → {config.violations_topic} "
            f"(dead letters: {config.dead_letter_topic}), group {config.group}, Kafka {config.bootstrap}"
        )
        try:
            running.run()
        except WorkerStopped as error:
            raise fail(str(error)) from None
        except KafkaError as error:
            raise fail(f"Kafka failed: {error}") from None
        stats = running.stats
        console.print(
            f"stopped: {stats.records:,} records in {stats.batches:,} batches, {stats.applied:,} applied, "
            f"{stats.dead_letters:,} dead letters, {stats.published:,} violation changes published"
        )

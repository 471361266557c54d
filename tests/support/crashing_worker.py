"""A worker process that kills itself (SIGKILL) the moment it would send its first dead letter.

That is between step 2 (graph, positions and dead letters committed) and step 3 (dead letters sent) of
``ingest.worker``: exactly where a crash used to lose the batch's dead letters. Usage:
``python -m tests.support.crashing_worker DATA_DIR BOOTSTRAP EVENTS VIOLATIONS DLQ GROUP BATCH_SIZE``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from ingest.config import WorkerConfig
from ingest.worker import Worker, make_producer
from kg.pipeline import Pipeline
from kg.store import open_store


class KillBeforeDeadLetters:
    """A real producer, except that a send to the dead-letter topic kills the process first."""

    def __init__(self, producer: Any, dead_letter_topic: str) -> None:
        self.producer = producer
        self.dead_letter_topic = dead_letter_topic

    def send(self, topic: str, value: Any = None, key: Any = None, headers: Any = None) -> Any:
        if topic == self.dead_letter_topic:
            os.kill(os.getpid(), signal.SIGKILL)
        return self.producer.send(topic, value=value, key=key, headers=headers)

    def flush(self, timeout: float | None = None) -> None:
        self.producer.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        self.producer.close(timeout=timeout)


def main(argv: list[str]) -> None:
    data_dir, bootstrap, events, violations, dlq, group, batch_size = argv
    config = WorkerConfig(
        bootstrap=bootstrap,
        events_topic=events,
        violations_topic=violations,
        dead_letter_topic=dlq,
        group=group,
        batch_size=int(batch_size),
        session_timeout_ms=6000,
        idle_exit_s=10.0,
    )
    store = open_store("oxigraph", data_dir=Path(data_dir))
    pipeline = Pipeline.from_store(store, outbox=True)
    Worker(config, pipeline, producer=KillBeforeDeadLetters(make_producer(config), dlq)).run()
    raise SystemExit("the worker stopped without sending a dead letter")


if __name__ == "__main__":
    main(sys.argv[1:])

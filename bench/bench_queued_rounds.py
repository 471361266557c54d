"""Benchmark: what keeping a batch's later rounds in the store costs (``kg/queued_rounds.py``).

A batch holding several events of one organisation is applied in rounds; the first round also writes the later
rounds' events into the meta graph and each round takes its own out, so that a crash between rounds cannot leave
the batch half applied. Here batches of ``--orgs`` organisations with ``--per-org`` events each (so ``--per-org``
rounds: most events in a later one, the costliest case) are applied on an on-disk store with those operations and
without them (replaced by none), alternating which goes first, in one process. Prints one table; it is not a test.

Run: ``.venv/bin/python bench/bench_queued_rounds.py [--orgs 5] [--per-org 100] [--pairs 8]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from report import console, say
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project's packages, when run as a script

import kg.pipeline as pipeline_module
from kg.build import ensure_built
from kg.events import Event, parse_event
from kg.store import open_store

WITH, WITHOUT = "with the queue", "without"


def batch(tag: str, orgs: int, per_org: int) -> list[Event]:
    """``orgs`` organisations registered, then ``per_org - 1`` updates of each, interleaved."""
    raw: list[dict[str, Any]] = []
    for number in range(orgs):
        org = f"Q{tag}-{number}"
        data = {"name": "Q", "jurisdiction": "CN"}
        raw.append(_event(f"{org}-r", "organisation.registered", "2026-03-02T09:00:00+08:00", org, data))
    for step in range(per_org - 1):
        moment = f"2026-03-{3 + step // 24:02d}T{step % 24:02d}:00:00+08:00"
        raw += [
            _event(f"Q{tag}-{n}-{step}", "organisation.updated", moment, f"Q{tag}-{n}", {"name": f"n{step}"})
            for n in range(orgs)
        ]
    return [parse_event(item) for item in raw]


def _event(event_id: str, kind: str, moment: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": "urn:bench", "type": kind, "time": moment} | {
        "subject": subject,
        "data": data,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=5, help="organisations a batch (default 5)")
    parser.add_argument("--per-org", type=int, default=100, help="events of each, so rounds a batch (default 100)")
    parser.add_argument("--pairs", type=int, default=8, help="batches each way (default 8)")
    args = parser.parse_args()
    queue, dequeue = pipeline_module.queue_operations, pipeline_module.dequeue_operations
    times: dict[str, list[float]] = {WITH: [], WITHOUT: []}
    with tempfile.TemporaryDirectory() as scratch:
        store = open_store("oxigraph", data_dir=Path(scratch))
        ensure_built(store)
        pipeline = pipeline_module.Pipeline.from_store(store)
        for pair in range(args.pairs):
            for mode in (WITH, WITHOUT) if pair % 2 == 0 else (WITHOUT, WITH):
                queued = mode == WITH
                pipeline_module.queue_operations = queue if queued else (lambda *_: [])
                pipeline_module.dequeue_operations = dequeue if queued else (lambda *_: [])
                events = batch(f"{pair}{'q' if queued else 'n'}", args.orgs, args.per_org)
                started = time.perf_counter()
                pipeline.process(events)
                times[mode].append((time.perf_counter() - started) / len(events))
            say(f"pair {pair + 1}/{args.pairs}")
        pipeline_module.queue_operations, pipeline_module.dequeue_operations = queue, dequeue
        store.close()
    table = Table(title=f"batches of {args.orgs} organisations × {args.per_org} events ({args.per_org} rounds)")
    for column in ("", "median ms an event", "min", "max", "batches"):
        table.add_column(column, justify="right" if column else "left")
    for mode, samples in times.items():
        table.add_row(
            mode,
            f"{statistics.median(samples) * 1000:.2f}",
            f"{min(samples) * 1000:.2f}",
            f"{max(samples) * 1000:.2f}",
            str(len(samples)),
        )
    console.print(table)


if __name__ == "__main__":
    main()

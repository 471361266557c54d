"""Benchmark: small batches judged by their changes (``kg.deltas``) beside the same batches judged in full.

The machine's speed drifts by up to 2× between runs, so the two are measured side by side: two pipelines on copies
of one on-disk store of ``--orgs`` generated organisations (ingested as in ``bench_validation.py``, then judged by
the clock as of the stream day), taking the same stream of batches (one event each by default) in turn (which goes
first alternates). ``--batch`` and ``--up-to`` (the pipeline's ``delta_up_to``) show where judging by changes stops
paying: a round of more organisations than ``--up-to`` is judged in full by both. Prints progress and one table; it
is not a test.

Run: ``.venv/bin/python bench/bench_by_changes.py [--orgs 1000] [--events 1000] [--batch 1] [--up-to 16]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_validation import SEED, STREAM_DAY, Population, by_step, load
from report import console, ms, percentile, say
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project's packages, when run as a script

from kg.build import ensure_built
from kg.deltas import DELTA_UP_TO
from kg.pipeline import Pipeline
from kg.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=1_000, help="organisations to load (default 1,000)")
    parser.add_argument("--events", type=int, default=1_000, help="measured events (default 1,000)")
    parser.add_argument("--warm", type=int, default=300, help="events before measuring (default 300)")
    parser.add_argument("--batch", type=int, default=1, help="events a batch (default 1)")
    parser.add_argument(
        "--up-to", type=int, default=DELTA_UP_TO, help=f"largest round judged by changes (default {DELTA_UP_TO})"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    args.warm = -(-args.warm // args.batch) * args.batch  # whole batches
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="obligraph-bench-") as scratch:
        first = Path(scratch) / "by-changes"
        store = open_store("oxigraph", data_dir=first)
        ensure_built(store)
        population = Population()
        say(f"loading {args.orgs:,} organisations as events")
        load(Pipeline.from_store(store), population, args.orgs, args.seed)
        store.close()
        shutil.copytree(first, Path(scratch) / "in-full")
        pipelines = {
            mode: Pipeline.from_store(
                open_store("oxigraph", data_dir=Path(scratch) / name), by_changes=mode, delta_up_to=args.up_to
            )
            for mode, name in ((True, "by-changes"), (False, "in-full"))
        }
        for pipeline in pipelines.values():
            pipeline.planner.prepare()
            pipeline.revalidate(STREAM_DAY)
        say(f"{args.warm:,} events to warm up, then {args.events:,} measured, each judged both ways in turn")
        latencies: dict[bool, list[float]] = {True: [], False: []}
        before: dict[bool, Counts] = {}
        stream = list(population.stream(args.warm + args.events, rng, "turns"))
        for number, start in enumerate(range(0, len(stream), args.batch)):
            if start == args.warm:
                before = {mode: Counts.of(pipeline) for mode, pipeline in pipelines.items()}
            for mode in (True, False) if number % 2 else (False, True):
                started = time.perf_counter()
                result = pipelines[mode].process(stream[start : start + args.batch])
                if start >= args.warm:
                    latencies[mode].append(time.perf_counter() - started)
                if result.rejected:
                    raise RuntimeError(f"stream event rejected: {result.rejected[0].reason}")
        events = len(stream) - args.warm
        columns = {
            mode: _column(latencies[mode], events, Counts.of(pipelines[mode]), before[mode]) for mode in pipelines
        }
        for pipeline in pipelines.values():
            pipeline.store.close()

    table = Table(
        "measure",
        "by changes",
        "in full",
        title=f"obligraph: batches of {args.batch:,}, {args.orgs:,} organisations, rounds of ≤ {args.up_to} by changes",
    )
    labels = ("mean time an event", "batch p50 / p95 / p99", "per event by step, ms", "check queries an event",
              "judged by their changes")  # fmt: skip
    for number, label in enumerate(labels):
        table.add_row(label, columns[True][number], columns[False][number])
    console.print(table)


@dataclass(frozen=True)
class Counts:
    """A pipeline's running totals at one moment."""

    steps: dict[str, float]
    queries: int
    by_changes: int
    validated: int

    @classmethod
    def of(cls, pipeline: Pipeline) -> Counts:
        stats = pipeline.stats
        return cls(
            dict(stats.step_seconds),
            pipeline.validator.queries_run,
            stats.organisations_validated_by_changes,
            stats.organisations_validated,
        )


def _column(samples: list[float], events: int, now: Counts, then: Counts) -> list[str]:
    """``samples``: each batch's time, event→verdict for each of its events."""
    steps = {f"step:{step}": (now.steps[step] - then.steps[step]) / events for step in now.steps}
    return [
        ms(sum(samples) / events),
        " / ".join(ms(percentile(samples, q)) for q in (50, 95, 99)),
        by_step(steps),
        f"{(now.queries - then.queries) / events:.1f}",
        f"{now.by_changes - then.by_changes:,} of {now.validated - then.validated:,} validations",
    ]


if __name__ == "__main__":
    main()

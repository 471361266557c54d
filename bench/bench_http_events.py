"""Benchmark: ``POST /events`` from concurrent clients, one event a request, as organisations send them over HTTP.

Each request is applied and validated before it is answered. Requests that arrive while a batch runs go together in
the next one (``kg.group_commit``), so throughput grows with the number of clients while one client alone sees the
one-event latency.

Run: ``.venv/bin/python bench/bench_http_events.py [--orgs 1000] [--events 600] [--clients 1,4,16]``. The
organisations come from ``tests/support/generated_data.py`` (seeded), ingested into an on-disk store in a temporary
directory and validated by the clock; the server is uvicorn on 127.0.0.1; the clients run in a process of their own
(threads with one keep-alive ``httpx.Client`` each) and post events about random organisations. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_validation import SEED, STREAM_DAY, Population, load
from report import console, ms, percentile, say
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, when run as a script

from api.app import create_app
from api.config import SparqlEndpointConfig
from kg.build import ensure_built
from kg.pipeline import Pipeline
from kg.store import open_store
from obligraph.heap import settle_heap
from tests.support.live_server import live_server

STRUCTURED = {"Content-Type": "application/cloudevents+json"}


def clients(url: str, bodies: list[str], count: int) -> dict[str, object]:
    """``count`` threads post ``bodies`` (dealt round robin); the seconds it took and each request's latency."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def post_all(mine: list[str]) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            for body in mine:
                began = time.perf_counter()
                response = client.post("/events", content=body, headers=STRUCTURED)
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=post_all, args=(bodies[index::count],)) for index in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - started, "latencies": latencies, "failures": failures}


def run_clients(url: str, bodies: list[str], count: int) -> dict[str, object]:
    """``clients`` in a process of its own, so the clients do not share the server's interpreter."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as file:
        file.write("\n".join(bodies))
        file.flush()
        done = subprocess.run(
            [sys.executable, __file__, "--client", url, file.name, str(count)],
            capture_output=True,
            text=True,
            check=True,
        )
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=1_000, help="organisations in the graph")
    parser.add_argument("--events", type=int, default=600, help="events posted per number of clients")
    parser.add_argument("--clients", default="1,4,16", help="numbers of concurrent clients")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--client", nargs=3, help=argparse.SUPPRESS)  # url, events file, clients: the child
    args = parser.parse_args()
    if args.client:
        url, path, count = args.client
        print(json.dumps(clients(url, Path(path).read_text().splitlines(), int(count))))
        return
    counts = [int(count) for count in args.clients.split(",")]
    if args.orgs < 1 or args.events < 1 or min(counts) < 1:
        parser.error("--orgs, --events and every --clients must be at least 1")
    rng = random.Random(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="obligraph-bench-http-") as scratch:
        store = open_store("oxigraph", data_dir=Path(scratch))
        ensure_built(store)
        pipeline = Pipeline.from_store(store)
        population = Population()
        say(f"loading {args.orgs:,} organisations as events into an on-disk store")
        load(pipeline, population, args.orgs, args.seed)
        pipeline.revalidate(STREAM_DAY)
        settle_heap()
        app = create_app(store, SparqlEndpointConfig(update_token=None), pipeline)
        with live_server(app, ready_path="/health") as url:
            for count in counts:
                events = population.stream(args.events, rng, f"http-{count}")
                bodies = [event.model_dump_json(by_alias=True, exclude_none=True) for event in events]
                say(f"{count} client(s): {len(bodies):,} events, one a request")
                answer = run_clients(url, bodies, count)
                failures = answer["failures"]
                assert isinstance(failures, list)
                if failures:
                    raise RuntimeError(f"{len(failures)} requests failed, the first: {failures[0]}")
                latencies = answer["latencies"]
                seconds = answer["seconds"]
                assert isinstance(latencies, list) and isinstance(seconds, float)
                rows.append(
                    (
                        str(count),
                        f"{len(bodies) / seconds:,.0f}",
                        f"{ms(percentile(latencies, 50))} / {ms(percentile(latencies, 95))} / "
                        f"{ms(percentile(latencies, 99))}",
                    )
                )
        store.close()
    table = Table(title=f"POST /events, one event a request, {args.orgs:,} organisations (on disk)")
    for column in ("clients", "events/s", "request latency p50 / p95 / p99"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()

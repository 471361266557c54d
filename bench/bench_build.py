"""Benchmark: graph build time and warm start-up time (goal: warm start-up ≤ 2 s).

Run: ``make bench`` (or ``.venv/bin/python bench/bench_build.py [--runs N]``).
Prints a table; it is not a test.
Warm start-up is measured as a user sees it: from launching ``obligraph serve`` on a data directory that
already holds the graph until ``/health`` answers 200.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from report import console
from rich.table import Table

from kg.build import ensure_built
from kg.store import open_store

OBLIGRAPH = str(Path(sys.executable).parent / "obligraph")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cold_build_seconds(backend: str, data_dir: Path) -> tuple[float, int]:
    store = open_store(backend, data_dir=data_dir)  # type: ignore[arg-type]
    started = time.perf_counter()
    report = ensure_built(store)
    seconds = time.perf_counter() - started
    triples = sum(report.triples.values())
    store.close()
    return seconds, triples


def warm_start_seconds(data_dir: Path) -> float:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    env["OBLIGRAPH_DATA_DIR"] = str(data_dir)
    started = time.perf_counter()
    process = subprocess.Popen(
        [OBLIGRAPH, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.perf_counter() - started > 60:
                raise RuntimeError("obligraph serve did not start")
            time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(timeout=20)


def command_seconds(data_dir: Path, *args: str) -> float:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    started = time.perf_counter()
    subprocess.run([OBLIGRAPH, "--data-dir", str(data_dir), *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    table = Table("measure", "median", "min", "max", "runs", "note", title="obligraph: build and start-up")

    def row(name: str, samples: list[float], note: str = "") -> None:
        table.add_row(
            name,
            f"{statistics.median(samples):.3f} s",
            f"{min(samples):.3f} s",
            f"{max(samples):.3f} s",
            str(len(samples)),
            note,
        )

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        disk, triples = [], 0
        for run in range(runs):
            seconds, triples = cold_build_seconds("oxigraph", root / f"cold-{run}")
            disk.append(seconds)
        row("cold build, on-disk store (in process)", disk, f"{triples:,} triples")
        memory = [cold_build_seconds("memory", root)[0] for _ in range(runs)]
        row("cold build, in-memory store (in process)", memory)
        built = root / "cold-0"
        row(
            "warm start-up: `obligraph serve` → /health 200",
            [warm_start_seconds(built) for _ in range(runs)],
            "goal ≤ 2 s",
        )
        row(
            "warm `obligraph sparql` count (whole command)",
            [command_seconds(built, "sparql", "ASK { ?s ?p ?o }", "-f", "json") for _ in range(runs)],
        )
    console.print(table)


if __name__ == "__main__":
    main()

"""Benchmark: incremental validation at scale, beside pyshacl on the same work.

Goals (the issue): ≥ 3,000 events/s embedded with 100,000 organisations; p99 event→verdict ≤ 25 ms; the per-event
cost at 100,000 organisations at most 1.3 × the cost at 1,000.

Run: ``.venv/bin/python bench/bench_validation.py [--orgs 100000] [--events 20000]`` (``--orgs 1000`` for a quick
run). Prints progress and one table; it is not a test. ``--distinct`` organisations (default 1,000) come from
``tests/support/generated_data.py`` (seeded) and are ingested through the pipeline into an on-disk store in a
temporary directory; the rest of ``--orgs`` are copies of their organisation graphs under new ids (text
substitution, bulk-loaded), then all are validated by the clock, so the stream meets a graph in a steady state
without hours of loading. The measured stream is further events about random existing organisations. After the streams
the bench measures the design's floor on the same store (``floor``): what parsing and planning a batch's queries and
copying an organisation into the workspace cost by themselves. ``--in-full`` judges every organisation in full rather
than by its changes (``kg.deltas``), to compare the two. pyshacl runs in child processes with a time limit
(``--pyshacl-limit``), since on large graphs it may not finish.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from report import console, ms, percentile, say, validation_progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, when run as a script

from kg.build import ensure_built
from kg.events import Event
from kg.iris import Graphs
from kg.organisations import EventApplier
from kg.pipeline import Pipeline
from kg.store import OxigraphStore, Store, open_store
from obligraph.heap import settle_heap
from tests.support import generated_data

SEED = 20_260_301
LOAD_BATCH = 500
CHUNK = 1_000
"""Organisations generated at a time while loading (keeps memory flat)."""
STREAM_DAY = generated_data.LAST_DAY


# --- what the stream may name -------------------------------------------------------------------------


class Population:
    """The organisations loaded so far and their live systems, so stream events are always valid."""

    def __init__(self) -> None:
        self.systems: dict[str, list[str]] = {}

    def learn(self, events: list[generated_data.JsonObject]) -> None:
        for event in events:
            org, data = event["subject"], event["data"]
            live = self.systems.setdefault(org, [])
            if event["type"] == "aisystem.deployed" and data["systemId"] not in live:
                live.append(data["systemId"])
            elif event["type"] == "aisystem.retired" and data["systemId"] in live:
                live.remove(data["systemId"])

    def add_copies(self, prefix: str, copy_prefix: str) -> None:
        """Clones of the organisations whose ids start with ``prefix`` have the same systems."""
        for org, systems in list(self.systems.items()):
            if org.startswith(prefix):
                self.systems[copy_prefix + org.removeprefix(prefix)] = list(systems)

    def stream(self, count: int, rng: random.Random, tag: str) -> list[Event]:
        """``count`` events about random known organisations, dated the last day of the window."""
        organisations = sorted(self.systems)
        raw = []
        for number in range(count):
            org = rng.choice(organisations)
            raw.append(_stream_event(org, self.systems[org], rng, f"{tag}-{number}"))
        return generated_data.as_events(raw)


def _stream_event(org: str, systems: list[str], rng: random.Random, event_id: str) -> generated_data.JsonObject:
    day = STREAM_DAY.isoformat()
    choices: list[tuple[str, dict[str, Any]]] = [
        ("organisation.updated", {"personalInformationSubjects": rng.choice(generated_data.SUBJECT_COUNTS)}),
        ("control.implemented", {"kind": rng.choice(("pi-protection-officer", "ethics-committee")), "since": day}),
        ("assessment.completed", {"kind": "risk", "completedOn": day, "outcome": "passed"}),
    ]
    if systems:
        system = rng.choice(systems)
        choices += [
            ("control.implemented", {"systemId": system, "kind": "explicit-content-label", "since": day}),
            ("control.withdrawn", {"systemId": system, "kind": "complaint-channel", "since": day}),
            ("filing.completed", {"systemId": system, "kind": "algorithm", "filingNumber": "网信算备1号",
                                  "authority": "CAC", "filedOn": day}),
            ("disclosure.published", {"systemId": system, "kind": "transparency-report", "publishedOn": day}),
            ("aisystem.updated", {"systemId": system, "publicOpinionAttributes": rng.random() < 0.5}),
        ]  # fmt: skip
    kind, data = rng.choice(choices)
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"urn:bench:{org}",
        "type": kind,
        "time": f"{day}T{rng.randrange(8, 20):02d}:{rng.randrange(60):02d}:00+08:00",
        "subject": org,
        "data": data,
    }


# --- the engine ----------------------------------------------------------------------------------------


def generated_chunks(total: int, seed: int) -> Iterator[list[generated_data.JsonObject]]:
    for first in range(0, total, CHUNK):
        yield generated_data.generate(min(CHUNK, total - first), seed, first=first)


def load(
    pipeline: Pipeline, population: Population, total: int, seed: int, at: Callable[[int], None] | None = None
) -> float:
    """Ingest ``total`` organisations through the pipeline; ``at(n)`` is called after each chunk."""
    started = time.perf_counter()
    loaded = 0
    for events in generated_chunks(total, seed):
        parsed = generated_data.as_events(events)
        for start in range(0, len(parsed), LOAD_BATCH):
            pipeline.process(parsed[start : start + LOAD_BATCH])
        population.learn(events)
        loaded += len({event["subject"] for event in events})
        elapsed = time.perf_counter() - started
        say(f"loaded {loaded:,}/{total:,} organisations ({loaded / elapsed:,.0f}/s)")
        if at:
            at(loaded)
    return time.perf_counter() - started


def clone(pipeline: Pipeline, population: Population, total: int, seed: int, distinct: int) -> float:
    """Copy the loaded organisations' graphs under new ids up to ``total``, then validate all as of the stream day."""
    started = time.perf_counter()
    prefix = generated_data.organisation_id(seed, 0).rsplit("-", 1)[0] + "-"
    template = pipeline.store.export_graph(Graphs.ORGANISATIONS, ox.RdfFormat.N_TRIPLES).decode()
    copies = -(-(total - distinct) // distinct)
    for number in range(1, copies + 1):
        copy_prefix = f"C{number:05d}-"
        text = template.replace(f"/org/{prefix}", f"/org/{copy_prefix}").replace(f'"{prefix}', f'"{copy_prefix}')
        pipeline.store.add_to_graph(Graphs.ORGANISATIONS, text.encode(), ox.RdfFormat.N_TRIPLES)
        population.add_copies(prefix, copy_prefix)
        if number % 10 == 0 or number == copies:
            say(f"copied {distinct * (number + 1):,} organisations")
    pipeline.revalidate(STREAM_DAY, progress=validation_progress(len(pipeline.organisations())))
    return time.perf_counter() - started


def measure_stream(pipeline: Pipeline, events: list[Event], batch: int) -> dict[str, float]:
    """Events/s end to end, and latency: per event for batch size 1, per batch (and per event) otherwise; and the
    time per event in each step of the pipeline (``step:<name>``, from its stats)."""
    latencies = []
    steps_before = dict(pipeline.stats.step_seconds)
    validated_before = pipeline.stats.organisations_validated
    by_changes_before = pipeline.stats.organisations_validated_by_changes
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        began = time.perf_counter()
        result = pipeline.process(events[start : start + batch])
        latencies.append(time.perf_counter() - began)
        if result.rejected:
            raise RuntimeError(f"stream event rejected: {result.rejected[0].reason}")
    seconds = time.perf_counter() - started
    spent = pipeline.stats.step_seconds
    steps = {f"step:{step}": (spent[step] - steps_before[step]) / len(events) for step in spent}
    validated = pipeline.stats.organisations_validated - validated_before
    return {
        **steps,
        "validated": validated,
        "by_changes": pipeline.stats.organisations_validated_by_changes - by_changes_before,
        "events": len(events),
        "rate": len(events) / seconds,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "per_event": seconds / len(events),
    }


# --- pyshacl, in child processes with a time limit -----------------------------------------------------


def _organisation_graph(n_orgs: int, seed: int) -> bytes:
    """The organisation graph of ``n_orgs`` generated organisations (events applied, nothing validated)."""
    store = open_store("memory")
    ensure_built(store)
    applier = EventApplier(store)
    for events in generated_chunks(n_orgs, seed):
        parsed = generated_data.as_events(events)
        for start in range(0, len(parsed), 2_000):
            applier.apply(parsed[start : start + 2_000])
    return store.export_graph(Graphs.ORGANISATIONS, ox.RdfFormat.N_TRIPLES)


def _pyshacl_child(kind: str, n_orgs: int, seed: int, sample: int, queue: Any) -> None:
    from pyshacl import validate
    from rdflib import Graph, Literal, URIRef

    import shapes
    from kg import iris
    from kg.regulations import build_regulation_graph
    from ontology.namespaces import OG, XSD

    shapes_graph = shapes.load_obligation_shapes()
    regulations = build_regulation_graph()
    organisations = _organisation_graph(n_orgs, seed).decode()

    def data_graph(lines: str) -> Graph:
        graph = Graph()
        graph += regulations
        graph.parse(data=lines, format="nt")
        graph.add((OG.validationContext, OG.asOf, Literal(generated_data.AS_OF.isoformat(), datatype=XSD.date)))
        return graph

    def run(graph: Graph, focus: list[str | URIRef] | None = None) -> float:
        began = time.perf_counter()
        validate(graph, shacl_graph=shapes_graph, advanced=True, inference="none", allow_warnings=True,
                 focus_nodes=focus)  # fmt: skip
        return time.perf_counter() - began

    ids = [generated_data.organisation_id(seed, index) for index in random.Random(seed).sample(range(n_orgs), sample)]
    if kind == "whole":
        queue.put([run(data_graph(organisations))])
    elif kind == "focus":
        whole = data_graph(organisations)
        for org in ids:
            queue.put([run(whole, [iris.organisation(org)])])
    else:  # one organisation's own subgraph: every node it owns is minted under its IRI
        for org in ids:
            own = str(iris.organisation(org))
            lines = "\n".join(line for line in organisations.splitlines() if line.startswith((f"<{own}>", f"<{own}/")))
            queue.put([run(data_graph(lines))])
    queue.put(None)


def pyshacl_seconds(kind: str, n_orgs: int, seed: int, sample: int, limit: float) -> tuple[list[float], bool]:
    """Timings from a child process, and whether it finished within ``limit`` seconds."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_pyshacl_child, args=(kind, n_orgs, seed, sample, queue))
    child.start()
    samples: list[float] = []
    deadline = time.perf_counter() + limit
    finished = False
    while time.perf_counter() < deadline:
        try:
            item = queue.get(timeout=min(5.0, max(0.1, deadline - time.perf_counter())))
        except Exception:  # queue.Empty: keep waiting until the deadline
            if not child.is_alive():
                break
            continue
        if item is None:
            finished = True
            break
        samples += item
    if child.is_alive():
        child.terminate()
    child.join()
    return samples, finished


# --- the table -----------------------------------------------------------------------------------------


def floor(pipeline: Pipeline, sample: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """What this design costs whatever the code around it does, measured on this run's store: every batch parses
    and plans each role rule and obligation check (timed for one organisation on an empty store, so nothing is
    evaluated), and copies its organisations out of the store into the workspace (timed for ``sample`` random ones;
    on disk each quad's terms are decoded)."""
    empty = OxigraphStore(None)
    loaded = pipeline.organisations()
    focus = [(loaded[0], STREAM_DAY)]
    queries = [rule.query_for(focus) for rule in pipeline.roles.rules]
    queries += [check.query_for(focus) for check in pipeline.validator.checks]
    planned = min(_seconds(lambda: _run_all(empty, queries)) for _ in range(5))
    organisations = rng.sample(loaded, min(sample, len(loaded)))
    copied = min(_seconds(lambda: pipeline.workspace.load(organisations)) for _ in range(3))
    quads = pipeline.workspace.store.count_triples(Graphs.ORGANISATIONS)
    return [
        (f"floor: {len(queries)} queries parsed and planned (rules and checks, one organisation, empty store)",
         f"{ms(planned)} ({planned / len(queries) * 1000:.2f} ms a query)", "paid by every batch"),
        (f"floor: {len(organisations):,} organisations copied into the workspace",
         f"{ms(copied / len(organisations))} an organisation ({quads / len(organisations):,.0f} quads, "
         f"{copied / quads * 1e6:.1f} µs a quad)", "paid by every event"),
    ]  # fmt: skip


def _run_all(store: Store, queries: list[str]) -> None:
    for query in queries:
        result = store.query(query)
        if not isinstance(result, ox.QueryBoolean):
            list(result)


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def by_step(result: dict[str, float]) -> str:
    """A stream's time per event in each pipeline step, as "apply 0.61 · read 1.52 · …" (ms)."""
    return " · ".join(f"{key[5:]} {value * 1000:.2f}" for key, value in result.items() if key.startswith("step:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=100_000, help="organisations to load (default 100,000)")
    parser.add_argument("--distinct", type=int, default=1_000, help="organisations ingested as events; the rest copies")
    parser.add_argument("--store", choices=("oxigraph", "memory"), default="oxigraph", help="on disk (default) or not")
    parser.add_argument("--events", type=int, default=20_000, help="measured stream events per batch size")
    parser.add_argument("--batch-sizes", default="1,50,500")
    parser.add_argument(
        "--flat-events",
        type=int,
        default=500,
        help="batch-size-1 events measured at 1,000 orgs (0: skip, and no size ratio)",
    )
    parser.add_argument("--pyshacl-sizes", default="1000,2000", help="organisations for whole-graph pyshacl")
    parser.add_argument("--pyshacl-sample", type=int, default=20)
    parser.add_argument("--pyshacl-limit", type=float, default=300.0, help="seconds per pyshacl measurement")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--in-full",
        action="store_true",
        help="judge every organisation in full, never by its changes (kg.deltas), to compare the two",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]
    rows: list[tuple[str, str, str]] = []

    with tempfile.TemporaryDirectory(prefix="obligraph-bench-") as scratch:
        store: Store = open_store(args.store, data_dir=Path(scratch))
        ensure_built(store)
        pipeline = Pipeline.from_store(store, by_changes=not args.in_full)
        pipeline.planner.prepare()  # as serve and worker do at start, so no measured event waits for it
        population = Population()
        flat: dict[str, float] = {}

        def at(loaded: int) -> None:
            if loaded == min(1_000, args.orgs) and not flat and args.flat_events > 0:
                say(f"per-event cost at {loaded:,} organisations ({args.flat_events} events, batch size 1)")
                pipeline.revalidate(STREAM_DAY)  # the same steady state the large graph is measured in
                settle_heap()
                flat.update(measure_stream(pipeline, population.stream(args.flat_events, rng, "flat"), 1))

        distinct = min(args.distinct, args.orgs)
        say(f"loading {distinct:,} organisations as events into a {args.store} store")
        seconds = load(pipeline, population, distinct, args.seed, at)
        rows.append((f"load {distinct:,} organisations as events (batches of {LOAD_BATCH})",
                     f"{distinct / seconds:,.0f} organisations/s ({seconds:,.0f} s)", ""))  # fmt: skip
        if args.orgs > distinct:
            say(f"copying them up to {args.orgs:,} organisations, then validating all")
            seconds = clone(pipeline, population, args.orgs, args.seed, distinct)
            rows.append((f"copy up to {args.orgs:,} organisations and validate all (clock)",
                         f"{seconds:,.0f} s", ""))  # fmt: skip
        else:  # the clock's pass, as `serve` runs it: the stream meets no deadline passed since the load
            say(f"validating the {distinct:,} organisations as of {STREAM_DAY} (clock)")
            started = time.perf_counter()
            pipeline.revalidate(STREAM_DAY)
            rows.append((f"validate {distinct:,} organisations (clock)", f"{time.perf_counter() - started:,.1f} s", ""))
        started = time.perf_counter()
        if store.compact():  # as `serve` does after the day's first clock pass
            say(f"compacted the store in {time.perf_counter() - started:.1f} s")
        stream_results = {}
        settle_heap()
        for batch in batch_sizes:
            say(f"stream: {args.events:,} events in batches of {batch}")
            stream_results[batch] = result = measure_stream(
                pipeline, population.stream(args.events, rng, f"stream-{batch}"), batch
            )
            goal = "≥ 3,000 events/s" if batch == batch_sizes[-1] else ""
            rows.append((f"events/s, batches of {batch}", f"{result['rate']:,.0f} events/s", goal))
            if batch == 1:
                rows.append(
                    ("event→verdict latency (batch 1) p50 / p95 / p99",
                     f"{ms(result['p50'])} / {ms(result['p95'])} / {ms(result['p99'])}", "p99 ≤ 25 ms")
                )  # fmt: skip
            else:
                rows.append(
                    (f"batch latency (batch {batch}) p50 / p95 / p99; per event",
                     f"{ms(result['p50'])} / {ms(result['p95'])} / {ms(result['p99'])}; {ms(result['per_event'])}",
                     "")
                )  # fmt: skip
            rows.append((f"per event by step (batch {batch}), ms", by_step(result), "kg.pipeline.STEPS"))
            rows.append((f"organisations judged by their changes (batch {batch})",
                         f"{result['by_changes']:,} of {result['validated']:,} validations", "kg.deltas"))  # fmt: skip
        if flat and 1 in stream_results:
            ratio = stream_results[1]["per_event"] / flat["per_event"]
            rows.append((f"per-event cost: {args.orgs:,} vs 1,000 organisations",
                         f"{ms(stream_results[1]['per_event'])} vs {ms(flat['per_event'])} = {ratio:.2f}×",
                         "≤ 1.3×"))  # fmt: skip
        say("floor: parsing and planning the batch's queries, copying organisations out of the store")
        rows += floor(pipeline, 500, rng)
        store.close()

    for size in (int(size) for size in args.pyshacl_sizes.split(",") if size):
        say(f"pyshacl, whole graph of {size:,} organisations (limit {args.pyshacl_limit:.0f} s)")
        samples, finished = pyshacl_seconds("whole", size, args.seed, 1, args.pyshacl_limit)
        figure = f"{samples[0]:,.1f} s" if finished and samples else f"> {args.pyshacl_limit:,.0f} s (stopped)"
        rows.append((f"pyshacl: whole graph, {size:,} organisations", figure, ""))
    size = int(args.pyshacl_sizes.split(",")[0] or 1_000)
    for kind, label in (
        ("focus", f"focus_nodes, one organisation in {size:,}"),
        ("own", "one organisation's subgraph"),
    ):
        say(f"pyshacl: {label} (sample {args.pyshacl_sample}, limit {args.pyshacl_limit:.0f} s)")
        samples, finished = pyshacl_seconds(kind, size, args.seed, args.pyshacl_sample, args.pyshacl_limit)
        note = "" if finished else f"stopped after {len(samples)} (limit)"
        figure = f"median {statistics.median(samples):,.2f} s over {len(samples)}" if samples else "none finished"
        rows.append((f"pyshacl: {label}", figure, note))

    table = Table("measure", "figure", "goal / note", title=f"obligraph: validation, {args.orgs:,} organisations")
    for row in rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()

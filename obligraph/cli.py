"""The ``obligraph`` command line: build the graph, serve the API, query it locally."""

from __future__ import annotations

import logging
import re
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final

import pyoxigraph as ox
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.status import Status
from rich.table import Table
from rich.text import Text

from kg.build import BuildReport, ensure_built
from kg.iris import Graphs
from kg.store import QuerySyntaxError, Store, StoreError
from obligraph.bootstrap import open_configured_store
from obligraph.settings import Settings
from obligraph.worker_command import worker

app = typer.Typer(
    help="obligraph: an event-driven knowledge graph of Chinese AI regulatory obligations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class StoreChoice(StrEnum):
    oxigraph = "oxigraph"
    memory = "memory"
    remote = "remote"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    xml = "xml"
    csv = "csv"
    tsv = "tsv"
    turtle = "turtle"
    ntriples = "ntriples"


_MEDIA_TYPES = {
    OutputFormat.json: "application/sparql-results+json",
    OutputFormat.xml: "application/sparql-results+xml",
    OutputFormat.csv: "text/csv",
    OutputFormat.tsv: "text/tab-separated-values",
    OutputFormat.turtle: "text/turtle",
    OutputFormat.ntriples: "application/n-triples",
}


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


@app.callback()
def configure(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data directory of the embedded store (env OBLIGRAPH_DATA_DIR)"),
    ] = None,
    store: Annotated[
        StoreChoice | None,
        typer.Option("--store", help="Store backend (env OBLIGRAPH_STORE; default oxigraph)"),
    ] = None,
    remote_url: Annotated[
        str | None,
        typer.Option("--remote-url", help="Base URL of a remote SPARQL server (env OBLIGRAPH_REMOTE_URL)"),
    ] = None,
) -> None:
    overrides = {"data_dir": data_dir, "store": store.value if store else None, "remote_url": remote_url}
    try:
        ctx.obj = Settings(**{key: value for key, value in overrides.items() if value is not None})  # type: ignore[arg-type]
    except ValidationError as error:
        raise fail(f"invalid settings: {settings_problems(error)}") from None
    if remote_url is not None and ctx.obj.store != "remote":
        raise fail(
            "--remote-url needs --store remote (or OBLIGRAPH_STORE=remote); without it the embedded store is used"
        )


def settings_problems(error: ValidationError) -> str:
    """Each problem under the name an operator set it by: ``OBLIGRAPH_PORT (--port)``, not the field ``port``."""

    def named(location: tuple[int | str, ...]) -> str:
        field = ".".join(map(str, location))
        return f"OBLIGRAPH_{field.upper()}" if field else "settings"

    return "; ".join(f"{named(e['loc'])}: {e['msg']}" for e in error.errors())


@contextmanager
def opened_store(settings: Settings, *, build: bool = True) -> Iterator[Store]:
    """Open the configured store (building the graph on first use) and turn store failures into messages."""
    try:
        store = open_configured_store(settings)
    except StoreError as error:
        raise fail(str(error)) from None
    try:
        if build:
            report = _built(store)
            if report.rebuilt:
                counts = ", ".join(f"{graph.rsplit('/', 1)[-1]} {n:,}" for graph, n in report.triples.items())
                console.print(f"built the knowledge graph in {report.seconds:.1f} s ({counts} triples)")
        yield store
    except StoreError as error:
        raise fail(str(error)) from None
    finally:
        store.close()


def _built(store: Store, *, force: bool = False) -> BuildReport:
    """``ensure_built``, with a spinner from its first step: a store that holds this build shows none."""
    status: Status | None = None

    def progress(message: str) -> None:
        nonlocal status
        if status is None:
            status = console.status("building the knowledge graph…")
            status.start()
        status.update(f"building the knowledge graph: {message}…")

    try:
        return ensure_built(store, force=force, progress=progress)
    finally:
        if status is not None:
            status.stop()


@app.command()
def build(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the store holds this build")] = False,
) -> None:
    """Build the ontology and regulation graphs into the store (done automatically on first use)."""
    with opened_store(ctx.obj, build=False) as store:
        report = _built(store, force=force)
        if not report.rebuilt:
            console.print("the store already holds this build (use --force to rebuild)")
            return
        for graph, count in report.triples.items():
            console.print(f"{graph}: {count:,} triples")
        console.print(f"built in {report.seconds:.2f} s")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to bind (env OBLIGRAPH_HOST; 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (env OBLIGRAPH_PORT; 8000)")] = None,
) -> None:
    """Serve the API (SPARQL 1.1 at /sparql, GraphQL at /graphql, events at /events)."""
    import uvicorn

    from api.graphql.catalog_types import read_the_law
    from obligraph.bootstrap import build_app, build_pipeline, start_clock, stop_clock
    from obligraph.heap import settle_heap
    from obligraph.listening import AddressUnavailableError, bound_socket

    settings: Settings = ctx.obj
    # The clock's passes and the Kafka feed's state, beside uvicorn's own log lines.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("obligraph").setLevel(logging.INFO)
    if host is not None and not host.strip():
        raise fail("--host needs an interface to bind, such as 127.0.0.1 (0.0.0.0: every interface)")
    bind_host, bind_port = host if host is not None else settings.host, port if port is not None else settings.port
    try:
        listening = bound_socket(bind_host, bind_port)
    except AddressUnavailableError as error:
        raise fail(str(error)) from None
    with listening, opened_store(settings) as store:
        pipeline = build_pipeline(settings, store)
        clock = (
            start_clock(pipeline, settings.clock_interval_s, compact_daily=settings.compact_daily)
            if settings.clock_interval_s > 0
            else None
        )
        api = build_app(settings, store, pipeline)
        read_the_law(store)  # the first dashboard does not wait for it, and the heap settles with it
        settle_heap()
        console.print(
            f"obligraph serving on http://{bind_host}:{bind_port} "
            "(SPARQL /sparql, GraphQL /graphql, events /events, metrics /metrics)"
        )
        try:
            server = uvicorn.Server(uvicorn.Config(api, host=bind_host, port=bind_port, log_level="info"))
            server.run(sockets=[listening])
        finally:
            if clock is not None:
                stop_clock(pipeline, clock)


@app.command()
def sparql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A SPARQL query; '-' reads it from standard input, @FILE from a file")],
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format")] = OutputFormat.table,
) -> None:
    """Run a SPARQL query against the local store and print the answer (og:, rdfs:, skos: and the other usual
    prefixes need no PREFIX line)."""
    from api.sparql_errors import UPDATE_FORMS, explained, first_keyword
    from kg.answer_prefixes import STANDARD

    text = _read_query(query)
    with opened_store(ctx.obj) as store:
        try:
            if output is OutputFormat.table:
                _print_table(store.query(text, prefixes=STANDARD))
            else:
                from kg.sparql_answers import NotAcceptableError, answer_query

                try:
                    answer = answer_query(store, text, accept=_MEDIA_TYPES[output])
                except NotAcceptableError:
                    raise fail(_formats_for(text, output)) from None
                sys.stdout.buffer.write(answer.body if answer.body.endswith(b"\n") else answer.body + b"\n")
                sys.stdout.flush()
        except QuerySyntaxError as error:
            if first_keyword(text) in UPDATE_FORMS:
                raise fail(
                    "this is a SPARQL update; `obligraph sparql` runs queries (SELECT, ASK, CONSTRUCT, DESCRIBE). "
                    "Send updates to POST /sparql with the update token"
                ) from None
            raise fail(explained(text, str(error), "query", STANDARD)) from None
        except typer.Exit:  # a RuntimeError too (click's): already said why
            raise
        except (OSError, RuntimeError) as error:  # raised while the answer is read: a SERVICE call, an unbound one
            raise fail(f"the query failed while running: {error}") from None


_GRAPH_FORMATS: Final = (OutputFormat.table, OutputFormat.turtle, OutputFormat.ntriples)
_SOLUTION_FORMATS: Final = (OutputFormat.table, OutputFormat.json, OutputFormat.xml, OutputFormat.csv, OutputFormat.tsv)


def _formats_for(text: str, asked: OutputFormat) -> str:
    """Why ``--format`` does not fit the query, in the option's own names."""
    from api.sparql_errors import first_keyword

    graph = first_keyword(text) in {"CONSTRUCT", "DESCRIBE"}
    kind, formats = ("a graph", _GRAPH_FORMATS) if graph else ("solutions", _SOLUTION_FORMATS)
    return f"--format {asked} does not fit this query, whose answer is {kind}: use {', '.join(formats)}"


@app.command()
def info(ctx: typer.Context) -> None:
    """Show the store backend and the size of each named graph."""
    with opened_store(ctx.obj) as store:
        table = Table("graph", "triples")
        for graph in Graphs.ALL:
            table.add_row(graph, f"{store.count_triples(graph):,}")
        out.print(f"store: {store.backend}")
        out.print(table)


@app.command()
def compact(ctx: typer.Context) -> None:
    """Compact the embedded store's files, so reads find each key in one place.

    Worth running after a large ingest; serve does it after the first clock pass of each day."""
    with opened_store(ctx.obj, build=False) as store:
        with console.status(f"compacting the {store.backend} store…"):
            started = time.perf_counter()
            compacted = store.compact()
        if not compacted:
            console.print(f"nothing to compact: the {store.backend} store keeps no files of ours")
            return
        console.print(f"compacted in {time.perf_counter() - started:.1f} s")


class StatusChoice(StrEnum):
    open = "open"
    resolved = "resolved"
    all = "all"


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Language(StrEnum):
    """The language of titles and messages in a table (JSON and CSV carry both languages where the graph has both)."""

    en = "en"
    zh = "zh"


LANG_HELP: Final = "Language of titles and messages: en or zh (Chinese)"


def _write_csv(columns: list[str], rows: list[dict[str, Any]]) -> None:
    """One line a row, for a spreadsheet; a list becomes its items joined by "; " (UTF-8, RFC 4180 quoting)."""
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        cells = (row.get(column) for column in columns)
        writer.writerow("; ".join(cell) if isinstance(cell, list) else "" if cell is None else cell for cell in cells)
    sys.stdout.flush()


TABLE_LIMIT: Final = 100
"""Violations a table shows unless ``--limit`` says otherwise (at 100,000 organisations there are 300,000)."""

VIOLATION_COLUMNS: Final = [
    *("organisation", "obligation", "status", "severity", "focusNode", "openedAt", "resolvedAt", "causedBy"),
    *("resolvedBy", "authorities", "articles", "message", "messageZh", "id"),
]


@app.command()
def ingest(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A JSON Lines file of CloudEvents ('-' reads standard input)")],
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Events applied per transaction")] = 500,
    rejected_to: Annotated[
        Path | None,
        typer.Option("--rejected", help="Write every rejected line here, as JSON Lines {line, reason}"),
    ] = None,
) -> None:
    """Apply organisation events and validate the organisations they touch.

    Exit code 0 when every event was applied (or was a repeat), 3 when some were rejected (the first 50 listed with
    reasons; --rejected writes them all), 130 when interrupted (Ctrl-C: the summary counts what was done).
    """
    import json

    from obligraph.ingest_file import ingest_file

    if str(file) != "-" and not file.is_file():
        raise fail(f"cannot read {file}: {'a directory, not a file' if file.is_dir() else 'no such file'}")
    with opened_store(ctx.obj) as store:
        report = ingest_file(store, file, batch_size=batch_size, console=console)
    out.print(report.summary())
    for line, reason in report.rejected[:50]:
        out.print(f"  line {line}: {reason}", highlight=False)
    if len(report.rejected) > 50:
        out.print(
            f"  … and {len(report.rejected) - 50} more{'' if rejected_to else ' (--rejected FILE writes them all)'}"
        )
    if rejected_to is not None:
        rows = (
            json.dumps({"line": line, "reason": reason}, ensure_ascii=False) + "\n" for line, reason in report.rejected
        )
        rejected_to.write_text("".join(rows), encoding="utf-8")
    if report.interrupted:
        raise typer.Exit(code=130)
    if report.rejected:
        raise typer.Exit(code=3)


@app.command()
def violations(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Organisation id (all organisations if absent)")] = None,
    obligation: Annotated[
        str | None, typer.Option("--obligation", help="Only violations of this obligation (its id, e.g. ALG-09)")
    ] = None,
    status: Annotated[StatusChoice, typer.Option(help="Which violations")] = StatusChoice.open,
    limit: Annotated[
        int | None,
        typer.Option(min=0, help="At most this many, newest first (0: all; default: 100 in a table, all in JSON, CSV)"),
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", "-f", help="Output format")] = ListFormat.table,
    lang: Annotated[Language, typer.Option("--lang", help=LANG_HELP + " (JSON and CSV carry both)")] = Language.en,
) -> None:
    """List violations with their obligation, focus node, dates, message and trace, newest first."""
    import json

    from kg import iris
    from kg.iris import organisation
    from kg.judged_moments import judged_as_of
    from kg.violation_pages import violation_page
    from kg.violations import ViolationFilter, list_violations, violation_history

    with opened_store(ctx.obj) as store:
        if org is not None:
            _require_organisation(store, org)  # a mistyped id is not an organisation without violations
        if obligation is not None:
            obligation = _require_obligation(store, obligation)
        if limit is None:  # a table is read on a screen; an export must not be cut short unasked
            limit = TABLE_LIMIT if output is ListFormat.table else 0
        page = None
        if limit:  # the newest, cut in the store: with 100,000 organisations "all" is 300,000 violations
            criteria = ViolationFilter(
                organisation=str(organisation(org)) if org else None,
                obligation=str(iris.obligation(obligation)) if obligation else None,
                status=status.value,
            )
            page = [violation for _, violation in violation_page(store, criteria, after=None, limit=limit)]
        found = list_violations(store, org, status.value, obligation_id=obligation, only=page) if page != [] else []
        more = f" (the newest {limit}; --limit 0 lists them all)" if page is not None and len(page) == limit else ""
        if output is ListFormat.json:
            for entry in found:
                entry["history"] = violation_history(store, entry["id"])
            sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
        elif output is ListFormat.csv:
            _write_csv(VIOLATION_COLUMNS, [{**entry, **entry["trace"]} for entry in found])
        judged = judged_as_of(store, str(organisation(org))) if org else None
    if output is ListFormat.table:
        _print_violations(found, organisation=org, message="messageZh" if lang is Language.zh else "message")
    moment = f", judged as of {judged.isoformat()}" if judged else ""  # what "open" holds for
    console.print(f"{len(found)} violation{'s' if len(found) != 1 else ''}{moment}{more}")  # stderr: data stays data


def _require_obligation(store: Store, obligation: str) -> str:
    """The obligation's id as the graph holds it (upper case: GAI-12), or a failure naming it."""
    from kg.catalog import obligation_by_id

    wanted = obligation.upper()
    if obligation_by_id(store, wanted) is None:
        raise fail(f"no obligation {wanted!r} in the graph (see: obligraph obligations)")
    return wanted


def _require_organisation(store: Store, org: str) -> None:
    from kg import iris

    if not iris.is_identifier(org):
        raise fail(f"{org!r} is not an organisation id: 1–64 characters of A-Z a-z 0-9 . _ -")
    if not store.ask(f"ASK {{ GRAPH <{Graphs.ORGANISATIONS}> {{ {iris.organisation(org).n3()} ?p ?o }} }}"):
        raise fail(f"unknown organisation {org!r}: no event has registered it")


WIDE_TABLE: Final = 120
"""Columns a terminal needs for the violations table with its messages beside the other columns; a narrower one
gets each violation as a line of columns with its message below (in a table, an 80-column terminal left the
message one word a line)."""


def _print_violations(found: list[dict[str, Any]], *, organisation: str | None, message: str = "message") -> None:
    """The violations as a table on a wide terminal, as records on a narrow one; dates without their time (the
    JSON format has the moments, ids, trace and history). ``message`` names the entry's message in the language
    wanted; where a shape has none in it, the English one is shown."""
    rows = [_violation_columns(entry) for entry in found]
    names = ["obligation", "status", "severity", "focus", "opened", "resolved"]
    if organisation is None:
        names.insert(0, "organisation")
    if out.width >= WIDE_TABLE:
        table = Table()
        for name in names:
            table.add_column(name, no_wrap=True)
        table.add_column("message", ratio=1, overflow="fold")  # Chinese has no spaces to wrap at: fold, not cut
        for row, entry in zip(rows, found, strict=True):
            table.add_row(*(Text(row[name]) for name in names), Text(entry.get(message) or entry["message"]))
        out.print(table)
        return
    for row, entry in zip(rows, found, strict=True):
        out.print("  ".join(row[name] for name in names if row[name]), highlight=False, markup=False)
        _print_indented(entry.get(message) or entry["message"])
        out.print("", highlight=False)


_CJK: Final = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _print_indented(text: str, *, indent: str = " " * 4, hanging: str = "", names: bool = False) -> None:
    """``text`` wrapped to the terminal, ``indent`` in (``hanging`` more for its continuation lines); with
    ``names``, never broken inside a hyphenated name (``rule-generative-ai-service-provider``)."""
    if _CJK.search(text):  # no spaces to break at, and two columns a character: wrapped by display width
        lines = Text(text).wrap(out, max(out.width, 40) - len(indent + hanging), overflow="fold")
        for number, line in enumerate(lines):
            lead = indent if number == 0 else indent + hanging
            out.print(lead + line.plain.rstrip(), highlight=False, markup=False)
        return
    wrapped = textwrap.fill(
        text, max(out.width, 40), initial_indent=indent, subsequent_indent=indent + hanging, break_on_hyphens=not names
    )
    out.print(wrapped, highlight=False, markup=False)


def _violation_columns(entry: dict[str, Any]) -> dict[str, str]:
    """The focus node relative to its organisation (``system/chat-assistant``, or ``(organisation)``)."""
    from kg import iris
    from obligraph.applicability_view import relative_to

    focus = relative_to(entry["focusNode"], str(iris.organisation(entry["organisation"])))
    return {
        "organisation": entry["organisation"],
        "obligation": entry["obligation"],
        "status": entry["status"],
        "severity": entry["severity"],
        "focus": focus,
        "opened": entry["openedAt"][:10],
        "resolved": (entry["resolvedAt"] or "")[:10],
    }


@app.command()
def applicable(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organisation id")],
    obligation: Annotated[
        str | None, typer.Option("--obligation", help="Only this obligation (its id, e.g. GAI-12)")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The day the status is judged (YYYY-MM-DD; default today in China). A day before the latest "
            "judgement shows that day: the roles then and the violations open at its end.",
        ),
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", "-f", help="Output format")] = ListFormat.table,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the table's reasons: en or zh")] = Language.en,
) -> None:
    """Which obligations bind an organisation, their status as of a day, and the facts that make them apply."""
    import json

    from kg import iris
    from kg.compliance import OrganisationReads, applicable_obligations
    from kg.why_not import why_not_bound
    from obligraph.applicability_view import applicability_row, because, role_names, titles

    day = _as_of_day(as_of)
    with opened_store(ctx.obj) as store:
        _require_organisation(store, org)
        organisation = iris.organisation(org)
        if obligation is not None:
            obligation = _require_obligation(store, obligation)
        shared = OrganisationReads(str(organisation))  # its node read once, for both
        found = applicable_obligations(store, str(organisation), day, shared)
        registered = shared.registered_on(store)
        names = role_names(store, found, "zh") if lang is Language.zh and output is ListFormat.table else None
        titled = titles(store, found)
        if obligation is not None and not any(entry.obligation_id == obligation for entry in found):
            why = why_not_bound(store, str(iris.obligation(obligation)), shared)
            raise fail(f"{obligation} does not bind {org} as of {day}: {why}")
    if obligation is not None:
        found = [entry for entry in found if entry.obligation_id == obligation]
    rows = [applicability_row(entry, str(organisation), titled[entry.obligation]) for entry in found]
    if output is ListFormat.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if output is ListFormat.csv:
        flat = [
            {
                **row,
                "roles": sorted({reason["boundRole"] for reason in row["reasons"]}),
                "facts": sorted({fact for reason in row["reasons"] for fact in reason["facts"]}),
            }
            for row in rows
        ]
        _write_csv(["obligation", "title", "titleZh", "status", "dueOn", "dueOnEstimated", "roles", "facts"], flat)
        return
    words = _DUE_WORDS[lang]
    for row in rows:
        overdue = row["dueOn"] is not None and row["dueOn"] < day.isoformat()
        when = f"  {words['overdue' if overdue else 'due']} {row['dueOn']}" if row["dueOn"] else ""
        due = f"{when}{words['estimated'] if row['dueOnEstimated'] else ''}"
        title = row["titleZh" if lang is Language.zh else "title"]
        _print_indented(f"{row['obligation']}  {row['status']}{due}  {title}", indent="", hanging=" " * 4)
        for reason in row["reasons"]:
            _print_indented(because(reason, names), hanging="  ", names=True)
        out.print("", highlight=False)
    if lang is Language.zh:
        console.print(f"截至 {day}，{org} 受 {len(rows)} 项义务约束")
    else:
        console.print(f"{len(rows)} obligation{' binds' if len(rows) == 1 else 's bind'} {org} as of {day}")
    if not rows and registered is not None and day < registered:
        console.print(f"({org} was registered on {registered}: the graph knows nothing of it before)")


_DUE_WORDS: Final = {
    Language.en: {"due": "due", "overdue": "overdue, was due", "estimated": " (estimated)"},
    Language.zh: {"due": "截止日期", "overdue": "已逾期，截止日期为", "estimated": "（估算）"},
}
"""How a table row gives its due date: past the day asked, the date is the last day it was owed by."""


def _as_of_day(text: str | None, *, option: str = "--as-of") -> date:
    """``--as-of`` (or ``option``): a day, or today in China when absent."""
    from kg.compliance import today

    try:
        return date.fromisoformat(text) if text is not None else today()
    except ValueError:
        raise fail(f"{option} expects a date such as 2026-03-01, got {text!r}") from None


@app.command()
def revalidate(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day to validate as of (YYYY-MM-DD; default: today in China)")
    ] = None,
) -> None:
    """Re-check every organisation as of a day: deadlines fall due with no new event (the clock).

    An organisation already judged as of a later day is judged as of that later moment: looking back fills in a
    missed pass, and never resolves what a later pass or event saw fall due."""
    from rich.progress import Progress

    from kg.compliance import today
    from kg.judged_moments import judged_after
    from kg.pipeline import Pipeline, clock_moment

    day, now = _as_of_day(as_of), today()
    if day > now:
        # Judged as of a day to come, the violations it opens would be stored as opened then, and the next clock
        # pass would resolve them again: a preview belongs to `applicable`, which writes nothing.
        raise fail(
            f"--as-of {day} is after today in China ({now}): the clock records what has fallen due, so it "
            f"cannot run ahead; to see what will be due then, ask `obligraph applicable --org ID --as-of {day}`"
        )
    with opened_store(ctx.obj) as store:
        pipeline = Pipeline.from_store(store)
        pipeline.recover()  # what a crash left unfinished is done before the pass, as at every start
        organisations = pipeline.organisations()
        later = judged_after(store, clock_moment(day))
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"validating as of {day}", total=len(organisations))
            changes = pipeline.revalidate(day, progress=lambda n: progress.advance(task, n))
    opened, total = sum(change.kind == "opened" for change in changes), len(organisations)
    judged_later = f" ({later:,} already judged as of a later moment: as of that moment)" if later else ""
    out.print(
        f"validated {total:,} organisation{'s' if total != 1 else ''} as of {day}{judged_later}: "
        f"{opened} violation{'s' if opened != 1 else ''} opened, {len(changes) - opened} resolved"
    )


@app.command()
def obligations(
    ctx: typer.Context,
    instrument: Annotated[
        str | None, typer.Option(help="Of this instrument (its id or short name: CN-GENAI-2023, PIPL)")
    ] = None,
    role: Annotated[
        str | None, typer.Option(help="Binding this role or a broader one (genai_service_provider)")
    ] = None,
    sector: Annotated[str | None, typer.Option(help="Of instruments linked to this sector (finance)")] = None,
    authority: Annotated[str | None, typer.Option(help="Enforced by this authority (CAC)")] = None,
    in_force_on: Annotated[
        str | None, typer.Option("--in-force-on", help="Whose instrument is in force on this day (YYYY-MM-DD)")
    ] = None,
    binding_force: Annotated[str | None, typer.Option(help="binding, non-binding …")] = None,
    risk: Annotated[str | None, typer.Option(help="In this AI risk subdomain or domain (3.1, or 3)")] = None,
    text: Annotated[
        str | None,
        typer.Option(help="Text in the id, title or texts, or in the instrument's, articles' or authorities' names"),
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", "-f", help="Output format")] = ListFormat.table,
    lang: Annotated[Language, typer.Option("--lang", help=LANG_HELP)] = Language.en,
) -> None:
    """List the obligations, and whether events can evidence them (machine-checkable) or not.

    The filters are those of GraphQL's obligations(filter:), and every one given must hold."""
    import json

    from kg.catalog import ObligationFilter, UnknownCodeError, obligation_page

    criteria = ObligationFilter(
        instrument=instrument,
        role=role,
        sector=sector,
        authority=authority,
        in_force_on=_as_of_day(in_force_on, option="--in-force-on") if in_force_on else None,
        risk_subdomain=risk,
        binding_force=binding_force,
        text=text,
    )
    with opened_store(ctx.obj) as store:
        try:
            found = obligation_page(store, criteria, after=None, limit=10_000)
        except UnknownCodeError as error:
            option = {"risk_subdomain": "risk", "binding_force": "binding-force"}.get(error.field, error.field)
            raise fail(f"--{option}: no such code {error.code!r}") from None
        values = " ".join(f"<{iri}>" for iri in found)
        query = (
            "PREFIX og: <https://w3id.org/obligraph/ontology#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            f"SELECT ?id ?title ?checkable ?force WHERE {{ VALUES ?o {{ {values} }} ?o a og:Obligation ; "
            "skos:notation ?id ; rdfs:label ?title ; og:isMachineCheckable ?checkable ; "
            f'og:hasBindingForce/skos:notation ?force FILTER(LANG(?title) = "{lang.value}") }} ORDER BY ?id'
        )
        rows = [
            {name: str(getattr(term, "value", term)) for name, term in row.items()}
            for row in (store.select(query) if found else [])
        ]
    if output is ListFormat.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if output is ListFormat.csv:
        _write_csv(["id", "title", "checkable", "force"], rows)
        return
    table = Table("id", "title", "machine-checkable", "binding force")
    for row in rows:
        table.add_row(row["id"], row["title"], "yes" if row["checkable"] == "true" else "no", row["force"])
    out.print(table)
    checkable = sum(row["checkable"] == "true" for row in rows)
    console.print(f"{len(rows)} obligations: {checkable} machine-checkable, {len(rows) - checkable} not")


app.command(name="worker")(worker)


def _read_query(argument: str) -> str:
    if argument == "-":
        return sys.stdin.read()
    if argument.startswith("@"):
        path = Path(argument[1:])
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            raise fail(f"cannot read the query file {path}: {error.strerror}") from None
    return argument


def _print_table(result: object) -> None:
    if isinstance(result, ox.QueryBoolean):
        out.print("true" if result else "false")
        return
    if isinstance(result, ox.QuerySolutions):
        names = [variable.value for variable in result.variables]
        table = Table(*names)
        count = 0
        for solution in result:
            table.add_row(*(_show(solution[name]) for name in names))
            count += 1
        out.print(table)
        console.print(f"{count} row{'s' if count != 1 else ''}")
        return
    triples = list(result)  # type: ignore[call-overload]
    out.print((ox.serialize(triples, format=ox.RdfFormat.TURTLE) or b"").decode(), end="")


def _show(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Literal):
        return f"{term.value}@{term.language}" if term.language else term.value
    if isinstance(term, ox.NamedNode):
        return term.value
    return str(term)


def main() -> None:
    app()

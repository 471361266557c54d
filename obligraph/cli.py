"""The ``obligraph`` command line: build the graph, serve the API, query it locally."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pyoxigraph as ox
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from kg.build import ensure_built
from kg.iris import Graphs
from kg.store import QuerySyntaxError, Store, StoreError
from obligraph.bootstrap import open_configured_store
from obligraph.settings import Settings

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
        typer.Option("--data-dir", help="Data directory of the embedded store [env OBLIGRAPH_DATA_DIR]"),
    ] = None,
    store: Annotated[
        StoreChoice | None,
        typer.Option("--store", help="Store backend [env OBLIGRAPH_STORE; default oxigraph]"),
    ] = None,
    remote_url: Annotated[
        str | None,
        typer.Option("--remote-url", help="Base URL of a remote SPARQL server [env OBLIGRAPH_REMOTE_URL]"),
    ] = None,
) -> None:
    overrides = {"data_dir": data_dir, "store": store.value if store else None, "remote_url": remote_url}
    try:
        ctx.obj = Settings(**{key: value for key, value in overrides.items() if value is not None})  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors())
        raise fail(f"invalid settings: {problems}") from None


@contextmanager
def opened_store(settings: Settings, *, build: bool = True) -> Iterator[Store]:
    """Open the configured store (building the graph on first use) and turn store failures into messages."""
    try:
        store = open_configured_store(settings)
    except StoreError as error:
        raise fail(str(error)) from None
    try:
        if build:
            with console.status("building the knowledge graph (first run)…") as status:
                report = ensure_built(store, progress=lambda message: status.update(f"{message}…"))
            if report.rebuilt:
                counts = ", ".join(f"{graph.rsplit('/', 1)[-1]} {n:,}" for graph, n in report.triples.items())
                console.print(f"built the knowledge graph in {report.seconds:.1f} s ({counts} triples)")
        yield store
    except StoreError as error:
        raise fail(str(error)) from None
    finally:
        store.close()


@app.command()
def build(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the store holds this build")] = False,
) -> None:
    """Build the ontology and regulation graphs into the store (done automatically on first use)."""
    with opened_store(ctx.obj, build=False) as store:
        with console.status("building…") as status:
            report = ensure_built(store, force=force, progress=lambda message: status.update(f"{message}…"))
        if not report.rebuilt:
            console.print("the store already holds this build (use --force to rebuild)")
            return
        for graph, count in report.triples.items():
            console.print(f"{graph}: {count:,} triples")
        console.print(f"built in {report.seconds:.2f} s")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to bind [env OBLIGRAPH_HOST; 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env OBLIGRAPH_PORT; 8000]")] = None,
) -> None:
    """Serve the API (SPARQL 1.1 endpoint at /sparql)."""
    import uvicorn

    from obligraph.bootstrap import build_app

    settings: Settings = ctx.obj
    with opened_store(settings) as store:
        bind_host, bind_port = host or settings.host, port or settings.port
        console.print(f"obligraph serving on http://{bind_host}:{bind_port}  (SPARQL: /sparql)")
        uvicorn.run(build_app(settings, store), host=bind_host, port=bind_port, log_level="info")


@app.command()
def sparql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A SPARQL query; '-' reads it from standard input, @FILE from a file")],
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format")] = OutputFormat.table,
) -> None:
    """Run a SPARQL query against the local store and print the answer."""
    text = _read_query(query)
    with opened_store(ctx.obj) as store:
        try:
            if output is OutputFormat.table:
                _print_table(store.query(text))
            else:
                from kg.sparql_answers import NotAcceptableError, answer_query

                try:
                    answer = answer_query(store, text, accept=_MEDIA_TYPES[output])
                except NotAcceptableError as error:
                    raise fail(str(error)) from None
                sys.stdout.buffer.write(answer.body)
                sys.stdout.flush()
        except QuerySyntaxError as error:
            raise fail(f"malformed query: {error}") from None


@app.command()
def info(ctx: typer.Context) -> None:
    """Show the store backend and the size of each named graph."""
    with opened_store(ctx.obj) as store:
        table = Table("graph", "triples")
        for graph in Graphs.ALL:
            table.add_row(graph, f"{store.count_triples(graph):,}")
        out.print(f"store: {store.backend}")
        out.print(table)


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

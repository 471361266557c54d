"""The RDF store boundary: the only module that knows which backend runs.

Three backends share one contract (tests/test_store_contract.py runs it against each):

- ``memory``: pyoxigraph in memory, for tests;
- ``oxigraph``: pyoxigraph on disk (RocksDB) in a data directory, the embedded default;
- ``remote``: any SPARQL 1.1 server speaking the Protocol and the Graph Store Protocol, configured so that
  its default graph is the union of its named graphs (Oxigraph: ``oxigraph serve --union-default-graph``).

Every backend answers queries with pyoxigraph's result objects, so callers see one term model. The default
graph of a query is the union of all named graphs; obligraph writes only to named graphs (see ``kg.iris``).
A single ``update`` is one transaction on every backend: that is the atomicity later layers build on.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypeAlias, cast
from urllib.parse import urlsplit

import httpx
import pyoxigraph as ox

from kg import solutions
from kg.sparql_dataset import dataset_of, declares_dataset

QueryResult: TypeAlias = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | Iterator[ox.Triple]
Row: TypeAlias = dict[str, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]
BackendName: TypeAlias = Literal["memory", "oxigraph", "remote"]


class StoreError(RuntimeError):
    """The store could not be opened or did not answer; the message says what to do."""


class QuerySyntaxError(ValueError):
    """A SPARQL query or update that the parser rejected; the message is the parser's."""


class RdfSyntaxError(ValueError):
    """An RDF document that could not be parsed; the message is the parser's."""


@dataclass(frozen=True)
class RemoteEndpoints:
    """Where a remote SPARQL 1.1 server answers (defaults follow Oxigraph's layout)."""

    query_url: str
    update_url: str
    graph_store_url: str

    @classmethod
    def for_base_url(cls, base_url: str) -> RemoteEndpoints:
        base = base_url.rstrip("/")
        return cls(query_url=f"{base}/query", update_url=f"{base}/update", graph_store_url=f"{base}/store")


class Store(ABC):
    """What obligraph needs of an RDF store, and no more."""

    backend: BackendName

    @abstractmethod
    def query(self, sparql: str, *, prefixes: Mapping[str, str] | None = None) -> QueryResult:
        """Run a SPARQL query over the union of the named graphs; ``prefixes`` (name → namespace IRI) are
        declared for it, under any the query declares itself."""

    @abstractmethod
    def update(self, sparql: str) -> None:
        """Run a SPARQL update as one transaction."""

    @abstractmethod
    def replace_graph(self, graph: str, data: bytes, rdf_format: ox.RdfFormat) -> None:
        """Replace the content of one named graph with a serialised document."""

    @abstractmethod
    def add_to_graph(self, graph: str, data: bytes, rdf_format: ox.RdfFormat) -> None:
        """Add a serialised document's triples to one named graph."""

    @abstractmethod
    def export_graph(self, graph: str, rdf_format: ox.RdfFormat) -> bytes:
        """Serialise one named graph."""

    @abstractmethod
    def drop_graph(self, graph: str) -> None:
        """Remove a named graph and its triples (a missing graph is not an error)."""

    @abstractmethod
    def named_graphs(self) -> set[str]:
        """The IRIs of the non-empty named graphs."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files or connections."""

    def compact(self) -> bool:
        """Rewrite the on-disk files so reads find each key in one place; False where there is nothing to do (a
        store in memory, or a remote server, which keeps its own files)."""
        return False

    def select(self, sparql: str) -> list[Row]:
        """Run a SELECT query and return its rows as dicts of bound variables."""
        result = self._selected(sparql)
        names = [v.value for v in result.variables]
        # A solution iterates its values in the order of the variables; reading them so, rather than by name,
        # makes a select three times faster (a dashboard's 646 rows: 6.0 → 2.1 ms).
        return [
            {name: term for name, term in zip(names, solution, strict=True) if term is not None}
            for solution in self._solutions(result)
        ]

    def _solutions(self, result: ox.QuerySolutions) -> Iterable[Iterable[solutions.Term | None]]:
        """Each solution's terms in the order of the variables (None: unbound), as the backend reads them best."""
        return result

    def select_fields(self, sparql: str) -> list[list[str]]:
        """Run a SELECT query and return its rows as TSV fields in the order of its variables ("" where unbound),
        for a caller that reads many rows of a known shape and decodes them from text (``kg.solutions``) faster
        than as terms."""
        return solutions.rows(self._selected(sparql))

    def _selected(self, sparql: str) -> ox.QuerySolutions:
        result = self.query(sparql)
        if not isinstance(result, ox.QuerySolutions):
            raise QuerySyntaxError("expected a SELECT query")
        return result

    def numbered_objects(
        self, subjects: Sequence[str], graph: str, predicates: Sequence[str], *, counted: Collection[str] = ()
    ) -> list[tuple[int, int, str]]:
        """Each (subject's index in ``subjects``, predicate's index in ``predicates``, object in Turtle syntax as a
        TSV field writes it, ``kg.solutions`` reads it) of the triples in ``graph`` whose subject and predicate are
        among those given. The object of a predicate in ``counted`` is not read: its rows carry an empty literal,
        to be counted.

        For records of known shape read in bulk (a dashboard's page of violations): the store decodes neither
        subjects nor predicates (each a lookup on disk) nor the objects only counted, and the caller decodes the
        rest from text without building terms (measured at 100,000 organisations on disk, a page's 50 violation
        records read and built, in turns with the code before: 4.4–4.9 → 2.9–3.0 ms)."""
        if not subjects or not predicates:
            return []
        values = solutions.numbered_values(subjects)
        numbered = "-1"  # an IF chain: joining a VALUES of predicates makes the store scan every triple of each
        for number in reversed(range(len(predicates))):
            numbered = f"IF(?p = {ox.NamedNode(predicates[number])}, {number}, {numbered})"
        skipped = ", ".join(str(predicates.index(predicate)) for predicate in counted)
        read = f'IF(?m IN ({skipped}), "", ?o)' if skipped else "?o"
        rows = self.select_fields(
            f"SELECT ?n ?m ?x WHERE {{ VALUES (?n ?s) {{ {values} }} GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} "
            f"BIND({numbered} AS ?m) FILTER(?m >= 0) BIND({read} AS ?x) }}"
        )
        return [(int(subject), int(predicate), obj) for subject, predicate, obj in rows]

    def outgoing(
        self, subjects: Iterable[str], graph: str | None = None, predicate: str | None = None
    ) -> list[tuple[str, str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        """Every (subject, predicate, object) whose subject is one of the IRIs ``subjects``, in ``graph`` (or in
        any named graph, where a triple two graphs hold comes back twice), with ``predicate`` when given.

        What the dashboard's batched reads are built on; the embedded store answers from its index without a
        query to parse and plan (measured at 10,000 organisations: a page's 50 violation records, read and built,
        1.9 ms instead of 6.1)."""
        wanted = sorted(set(subjects))
        if not wanted:
            return []
        values = " ".join(f"<{iri}>" for iri in wanted)
        link = f"<{predicate}>" if predicate else "?p"
        pattern = f"GRAPH {f'<{graph}>' if graph else '?g'} {{ ?s {link} ?o }}"
        bound = f"BIND({link} AS ?p)" if predicate else ""
        found: list[tuple[str, str, ox.NamedNode | ox.BlankNode | ox.Literal]] = []
        for row in self.select(f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} {pattern} {bound} }}"):
            subject, term, obj = row["s"], row["p"], row["o"]
            assert isinstance(subject, ox.NamedNode) and isinstance(term, ox.NamedNode)
            assert isinstance(obj, ox.NamedNode | ox.BlankNode | ox.Literal)
            found.append((subject.value, term.value, obj))
        return found

    def construct(self, sparql: str) -> bytes:
        """Run a CONSTRUCT query and return its triples as N-Triples (a copy that never becomes Python objects)."""
        result = self.query(sparql)
        if isinstance(result, ox.QuerySolutions | ox.QueryBoolean):
            raise QuerySyntaxError("expected a CONSTRUCT query")
        return ox.serialize(result, format=ox.RdfFormat.N_TRIPLES) or b""

    def ask(self, sparql: str) -> bool:
        result = self.query(sparql)
        if not isinstance(result, ox.QueryBoolean):
            raise QuerySyntaxError("expected an ASK query")
        return bool(result)

    def count_triples(self, graph: str | None = None) -> int:
        where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "GRAPH ?g { ?s ?p ?o }"
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
        literal = rows[0]["n"]
        assert isinstance(literal, ox.Literal)
        return int(literal.value)


_NUMBERED_FROM: Final = 4
"""From this many subjects ``OxigraphStore.outgoing`` on disk reads with one query rather than from the index."""


class OxigraphStore(Store):
    """pyoxigraph, on disk (a data directory) or in memory (``path=None``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.backend = "oxigraph" if path is not None else "memory"
        self.path = path
        try:
            if path is not None:
                path.mkdir(parents=True, exist_ok=True)
            self._store = ox.Store(str(path) if path is not None else None)
        except OSError as error:
            raise StoreError(_explain_open_error(path, error)) from error
        except RuntimeError as error:  # RocksDB: "Corruption: CURRENT file corrupted" and the like
            raise StoreError(
                f"cannot open the store in {path}: {error} (restore it from a backup, or move it away to build afresh)"
            ) from error

    def query(self, sparql: str, *, prefixes: Mapping[str, str] | None = None) -> QueryResult:
        try:
            return self._store.query(
                sparql,
                use_default_graph_as_union=not declares_dataset(sparql),
                prefixes=dict(prefixes) if prefixes else None,
            )
        except SyntaxError as error:
            raise QuerySyntaxError(str(error)) from error

    def _solutions(self, result: ox.QuerySolutions) -> Iterable[Iterable[solutions.Term | None]]:
        """Read in one call (``kg.solutions``), not row by row: validation runs two queries at a time and a
        dashboard reads on two threads, and row by row each row waits for the GIL (measured: a validation batch's
        checks 0.42 → 0.39 ms an event, a dashboard's reads beside its page 4.1 → 3.6 ms)."""
        term = solutions.term
        return ([term(field) for field in row] for row in solutions.rows(result))

    def update(self, sparql: str) -> None:
        try:
            self._store.update(sparql)
        except SyntaxError as error:
            raise QuerySyntaxError(str(error)) from error
        except OSError as error:
            raise StoreError(f"the update failed and was not applied: {error}") from error

    def replace_graph(self, graph: str, data: bytes, rdf_format: ox.RdfFormat) -> None:
        quads = _quads_in(graph, data, rdf_format)
        self.drop_graph(graph)
        self._store.extend(quads)

    def add_to_graph(self, graph: str, data: bytes, rdf_format: ox.RdfFormat) -> None:
        try:  # one transaction: a syntax error writes nothing
            self._store.load(input=data, format=rdf_format, to_graph=ox.NamedNode(graph))
        except SyntaxError as error:
            raise RdfSyntaxError(str(error)) from error

    def add_copy(self, graph: str, data: bytes, rdf_format: ox.RdfFormat) -> None:
        """``add_to_graph`` for data a store serialised itself (a workspace's copies): parsed without re-checking
        every IRI, which a store's own output never needs and which is a third of the parse (measured, a batch's
        97,000 quads: 290 → 185 ms). Never for data from outside."""
        self._store.load(input=data, format=rdf_format, to_graph=ox.NamedNode(graph), lenient=True)

    def construct(self, sparql: str) -> bytes:
        result = self.query(sparql)
        if not isinstance(result, ox.QueryTriples):
            raise QuerySyntaxError("expected a CONSTRUCT query")
        return result.serialize(format=ox.RdfFormat.N_TRIPLES) or b""

    def outgoing(
        self, subjects: Iterable[str], graph: str | None = None, predicate: str | None = None
    ) -> list[tuple[str, str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        """From the index; on disk, more than a few subjects in one query that numbers them, because there each
        term of a quad is looked up in RocksDB to be decoded, and the query decodes neither the subject nor the
        graph (measured at 100,000 organisations, a page's 50 violation records, 668 triples: 3.5 → 2.7 ms; one
        subject is faster from the index, 0.06 against 0.08 ms, and so is every read in memory: 0.76 against
        1.30 ms for the 50 records). Its solutions are read in one call (``kg.solutions``), which keeps the read
        as fast beside another thread's Python as alone."""
        wanted = sorted(set(subjects))
        if self.path is not None and len(wanted) >= _NUMBERED_FROM:
            return self._numbered_outgoing(wanted, graph, predicate)
        in_graph = ox.NamedNode(graph) if graph else None
        link = ox.NamedNode(predicate) if predicate else None
        found = []
        for iri in wanted:
            for quad in self._store.quads_for_pattern(ox.NamedNode(iri), link, None, in_graph):
                if in_graph is None and isinstance(quad.graph_name, ox.DefaultGraph):
                    continue  # queries see the named graphs only (their union is the default graph)
                obj = quad.object
                assert isinstance(obj, ox.NamedNode | ox.BlankNode | ox.Literal)
                found.append((iri, quad.predicate.value, obj))
        return found

    def numbered_objects(
        self, subjects: Sequence[str], graph: str, predicates: Sequence[str], *, counted: Collection[str] = ()
    ) -> list[tuple[int, int, str]]:
        """In memory from the index, which there is faster than any query (the page's 50 violation records, read
        and built in memory: 1.3–2.0 ms so, 3.3–4.2 ms with the query); on disk as every store does."""
        if self.path is not None:
            return super().numbered_objects(subjects, graph, predicates, counted=counted)
        numbers = {predicate: number for number, predicate in enumerate(predicates)}
        skipped = {numbers[predicate] for predicate in counted}
        in_graph = ox.NamedNode(graph)
        found = []
        for subject, iri in enumerate(subjects):
            for quad in self._store.quads_for_pattern(ox.NamedNode(iri), None, None, in_graph):
                number = numbers.get(quad.predicate.value)
                if number is not None:
                    found.append((subject, number, '""' if number in skipped else str(quad.object)))
        return found

    def _numbered_outgoing(
        self, wanted: list[str], graph: str | None, predicate: str | None
    ) -> list[tuple[str, str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        values = solutions.numbered_values(wanted)  # checked IRIs
        where = f"GRAPH <{graph}>" if graph else "GRAPH ?g"  # a named graph, as with the index
        link = f"<{predicate}>" if predicate else "?p"
        query = f"SELECT ?n ?p ?o WHERE {{ VALUES (?n ?s) {{ {values} }} {where} {{ ?s {link} ?o }} }}"
        found: list[tuple[str, str, ox.NamedNode | ox.BlankNode | ox.Literal]] = []
        for number, link_field, object_field in solutions.rows(cast(ox.QuerySolutions, self._store.query(query))):
            obj = solutions.term(object_field)
            assert isinstance(obj, ox.NamedNode | ox.BlankNode | ox.Literal)
            found.append((wanted[int(number)], predicate or solutions.iri(link_field), obj))  # ?p unbound if given
        return found

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        """Add quads in one transaction (bulk loads; embedded only)."""
        self._store.extend(quads)

    def add_triples(self, graph: str, triples: Iterable[ox.Triple]) -> None:
        """Add triples to a named graph in one transaction (bulk loads; embedded only)."""
        node = ox.NamedNode(graph)
        self.extend(ox.Quad(t.subject, t.predicate, t.object, node) for t in triples)

    def export_graph(self, graph: str, rdf_format: ox.RdfFormat) -> bytes:
        data = self._store.dump(format=rdf_format, from_graph=ox.NamedNode(graph))
        assert data is not None
        return data

    def drop_graph(self, graph: str) -> None:
        node = ox.NamedNode(graph)
        if self._store.contains_named_graph(node):
            self._store.remove_graph(node)

    def named_graphs(self) -> set[str]:
        return {
            g.value
            for g in self._store.named_graphs()
            if isinstance(g, ox.NamedNode) and next(self._store.quads_for_pattern(None, None, None, g), None)
        }

    def compact(self) -> bool:
        """A full RocksDB compaction (pyoxigraph's ``optimize``). Writes pile up in overlapping files that every
        read searches; compacted, a read looks in one. Measured at 100,000 organisations after a bulk load: 47 s,
        the store 5.6 → 2.9 GB, a dashboard's SPARQL reads ~35 % faster (the violation page 1.4 → 0.9 ms) and
        batch updates too. It runs without the GIL, and reads and writes go on meanwhile (a dashboard's reads kept
        their median while it ran); on a compacted store it returns at once."""
        if self.path is None:
            return False
        try:
            self._store.optimize()
        except OSError as error:
            raise StoreError(f"compacting the store at {self.path} failed: {error}") from error
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._store.flush()
        del self._store


def _quads_in(graph: str, data: bytes, rdf_format: ox.RdfFormat) -> list[ox.Quad]:
    """Parse a whole document first, so a syntax error changes nothing."""
    node = ox.NamedNode(graph)
    try:
        return [ox.Quad(q.subject, q.predicate, q.object, node) for q in ox.parse(data, format=rdf_format)]
    except SyntaxError as error:
        raise RdfSyntaxError(str(error)) from error


def _explain_open_error(path: Path | None, error: OSError) -> str:
    text = str(error)
    if path is None:
        return f"cannot create an in-memory store: {text}"
    if "lock" in text.lower():
        return (
            f"the store at {path} is in use by another obligraph process "
            "(one process owns an embedded store; use a remote store to share data)"
        )
    return f"cannot open the data directory {path}: {text}"


def _without_credentials(message: str, url: str) -> str:
    """The message with the user and password of ``url`` (``http://user:secret@host``) masked: store errors reach
    API clients and logs."""
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    return message.replace(f"{userinfo}@", "***@") if userinfo else message


class RemoteStore(Store):
    """A SPARQL 1.1 server over HTTP (Protocol for query and update, Graph Store Protocol for graphs)."""

    backend: BackendName = "remote"

    def __init__(self, endpoints: RemoteEndpoints, *, timeout_s: float = 30.0, token: str | None = None) -> None:
        self.endpoints = endpoints
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)

    def _send(
        self, method: str, url: str, *, bad_request: type[ValueError] = QuerySyntaxError, **kwargs: object
    ) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            raise StoreError(
                _without_credentials(f"the SPARQL server at {url} did not answer: {error}", url)
            ) from error
        if response.status_code == 400:
            raise bad_request(response.text.strip() or "the SPARQL server rejected the request")
        if response.status_code >= 400 and not (method in {"GET", "DELETE"} and response.status_code == 404):
            answer = f"the SPARQL server at {url} answered {response.status_code}: {response.text[:500]}"
            raise StoreError(_without_credentials(answer, url))
        return response

    def query(self, sparql: str, *, prefixes: Mapping[str, str] | None = None) -> QueryResult:
        """The ``prefixes`` are declared in front of the query's text, where its own declarations override them
        (SPARQL lets a prologue declare a name again; the later declaration holds)."""
        declared = "".join(f"PREFIX {name}: {ox.NamedNode(iri)}\n" for name, iri in (prefixes or {}).items())
        response = self._send(
            "POST",
            self.endpoints.query_url,
            params=_dataset_parameters(sparql, prefixes),
            content=(declared + sparql).encode(),
            headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json, application/n-triples;q=0.9",
            },
        )
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type == "application/n-triples":
            return _triples_result(response.content)
        return ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)

    def construct(self, sparql: str) -> bytes:
        response = self._send(
            "POST",
            self.endpoints.query_url,
            params=_dataset_parameters(sparql),
            content=sparql.encode(),
            headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"},
        )
        return response.content

    def update(self, sparql: str) -> None:
        self._send(
            "POST",
            self.endpoints.update_url,
            content=sparql.encode(),
            headers={"Content-Type": "application/sparql-update"},
        )

    def replace_graph(self, graph: str, data: bytes, rdf_format: ox.RdfFormat) -> None:
        self._send(
            "PUT",
            self.endpoints.graph_store_url,
            params={"graph": graph},
            bad_request=RdfSyntaxError,
            content=data,
            headers={"Content-Type": rdf_format.media_type},
        )

    def add_to_graph(self, graph: str, data: bytes, rdf_format: ox.RdfFormat) -> None:
        self._send(
            "POST",
            self.endpoints.graph_store_url,
            params={"graph": graph},
            bad_request=RdfSyntaxError,
            content=data,
            headers={"Content-Type": rdf_format.media_type},
        )

    def export_graph(self, graph: str, rdf_format: ox.RdfFormat) -> bytes:
        response = self._send(
            "GET",
            self.endpoints.graph_store_url,
            params={"graph": graph},
            headers={"Accept": rdf_format.media_type},
        )
        return b"" if response.status_code == 404 else response.content

    def drop_graph(self, graph: str) -> None:
        self._send("DELETE", self.endpoints.graph_store_url, params={"graph": graph})

    def named_graphs(self) -> set[str]:
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return {graph.value for row in rows if isinstance(graph := row.get("g"), ox.NamedNode)}

    def close(self) -> None:
        self._client.close()


def _dataset_parameters(sparql: str, prefixes: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The query's own ``FROM`` / ``FROM NAMED`` graphs as Protocol parameters: a server whose default graph is the
    union of its graphs (Oxigraph's ``--union-default-graph``) ignores the clauses, not the parameters."""
    dataset = dataset_of(sparql, prefixes)
    if dataset is None:
        return []
    return [("default-graph-uri", iri) for iri in dataset.default] + [("named-graph-uri", iri) for iri in dataset.named]


def _triples_result(data: bytes) -> Iterator[ox.Triple]:
    """CONSTRUCT/DESCRIBE answers from a remote server, as triples like pyoxigraph's QueryTriples."""
    return (q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES))


def open_store(
    backend: BackendName,
    *,
    data_dir: Path | None = None,
    remote: RemoteEndpoints | None = None,
    remote_timeout_s: float = 30.0,
) -> Store:
    """Open the configured backend; the one place that chooses."""
    if backend == "memory":
        return OxigraphStore(None)
    if backend == "oxigraph":
        if data_dir is None:
            raise StoreError("the embedded store needs a data directory (--data-dir or OBLIGRAPH_DATA_DIR)")
        return OxigraphStore(data_dir / "store")
    if remote is None:
        raise StoreError("the remote store needs a SPARQL endpoint URL (OBLIGRAPH_REMOTE_URL)")
    return RemoteStore(remote, timeout_s=remote_timeout_s)

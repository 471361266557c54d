"""SPARQL answers as bytes in a negotiated format, capped and bounded in time.

Shared by the ``/sparql`` endpoint and the ``obligraph sparql`` command so that both cap, time out and
serialise the same way. pyoxigraph writes every format; the one encoder written here is SPARQL JSON
(https://www.w3.org/TR/sparql11-results-json/, with the RDF 1.2 ``triple`` and ``its:dir`` additions),
because a capped answer is a list of kept rows rather than a live ``QuerySolutions``. Other result
formats are that JSON parsed back and re-serialised by pyoxigraph, so their encoding stays pyoxigraph's.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, TypeVar

import pyoxigraph as ox

from kg.answer_prefixes import STANDARD, answer_prefixes
from kg.store import QueryResult, Store

_T = TypeVar("_T")
Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple

_XSD_STRING: Final = "http://www.w3.org/2001/XMLSchema#string"

SPARQL_JSON: Final = "application/sparql-results+json"
SPARQL_XML: Final = "application/sparql-results+xml"
CSV: Final = "text/csv"
TSV: Final = "text/tab-separated-values"
TURTLE: Final = "text/turtle"
N_TRIPLES: Final = "application/n-triples"
N_QUADS: Final = "application/n-quads"
RDF_XML: Final = "application/rdf+xml"
JSON_LD: Final = "application/ld+json"

# Offers in the server's order of preference (the first is the default); aliases are the names older
# clients send for the same format.
SOLUTION_FORMATS: Final[Mapping[str, ox.QueryResultsFormat]] = {
    SPARQL_JSON: ox.QueryResultsFormat.JSON,
    SPARQL_XML: ox.QueryResultsFormat.XML,
    CSV: ox.QueryResultsFormat.CSV,
    TSV: ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS: Final[Mapping[str, ox.RdfFormat]] = {
    TURTLE: ox.RdfFormat.TURTLE,
    N_TRIPLES: ox.RdfFormat.N_TRIPLES,
    RDF_XML: ox.RdfFormat.RDF_XML,
    N_QUADS: ox.RdfFormat.N_QUADS,
    JSON_LD: ox.RdfFormat.JSON_LD,
}
ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    SPARQL_JSON: ("application/json",),
    SPARQL_XML: ("application/xml", "text/xml"),
    TURTLE: ("application/x-turtle", "application/turtle"),
    JSON_LD: ("application/json",),
    RDF_XML: ("application/xml", "text/xml"),
}


@dataclass(frozen=True)
class Answer:
    """A serialised answer; ``rows`` counts solutions or triples written (an ASK answer counts as one)."""

    body: bytes
    media_type: str
    truncated: bool
    rows: int


class NotAcceptableError(ValueError):
    """No format the client accepts fits this query form; the message lists what is offered."""

    def __init__(self, accept: str, offered: Sequence[str]) -> None:
        self.offered = tuple(offered)
        super().__init__(f"cannot answer as {accept!r}; this query can be answered as: {', '.join(offered)}")


class QueryTimeoutError(TimeoutError):
    """The deadline passed before the answer was complete."""


# Step 1. Content negotiation (RFC 9110 §12.5.1).


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header, e.g. ``text/*;q=0.5``."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int | None:
        """How precisely this range names ``media_type`` (2 exact, 1 ``type/*``, 0 ``*/*``), or None."""
        kind, _, sub = media_type.partition("/")
        if self.type == "*":
            return 0
        if self.type != kind:
            return None
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else None


def parse_accept(header: str) -> list[MediaRange]:
    """Lenient: a malformed q counts as 1, and a bare ``*`` (old Java clients) as ``*/*``."""
    ranges: list[MediaRange] = []
    for element in header.split(","):
        name, *params = (part.strip() for part in element.split(";"))
        if not name:
            continue
        kind, _, sub = name.lower().partition("/")
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 1.0
        ranges.append(MediaRange(kind, sub or "*", q))
    return ranges


def negotiate(accept: str | None, offered: Sequence[str]) -> str:
    """The offer with the highest q (each offer rated by its most specific matching range); ties go to
    the server's order. Aliases count only when named exactly, so ``text/*`` does not mean ``text/xml``.
    Raise ``NotAcceptableError`` if every offer is refused."""
    if not accept or not accept.strip():
        return offered[0]
    ranges = parse_accept(accept)
    best: tuple[float, str] | None = None
    for offer in offered:
        matches = [(spec, r.q) for r in ranges if (spec := r.specificity(offer)) is not None]
        matches += [(2, r.q) for r in ranges for alias in ALIASES.get(offer, ()) if r.specificity(alias) == 2]
        if not matches:
            continue
        q = max(matches)[1]  # the most specific range decides
        if q > 0 and (best is None or q > best[0]):
            best = (q, offer)
    if best is None:
        raise NotAcceptableError(accept, offered)
    return best[1]


_NAMED: Final[Mapping[str, str]] = {
    "json": f"{SPARQL_JSON}, {JSON_LD}",
    "xml": f"{SPARQL_XML}, {RDF_XML}",
    "csv": CSV,
    "tsv": TSV,
    "turtle": TURTLE,
    "ttl": TURTLE,
    "ntriples": N_TRIPLES,
    "nt": N_TRIPLES,
    "nquads": N_QUADS,
    "rdfxml": RDF_XML,
    "jsonld": JSON_LD,
}
FORMAT_NAMES: Final = tuple(sorted(_NAMED))
"""The short format names command lines and the endpoint's ``download`` parameter take."""
EXTENSIONS: Final[Mapping[str, str]] = {
    SPARQL_JSON: "json",
    SPARQL_XML: "xml",
    CSV: "csv",
    TSV: "tsv",
    TURTLE: "ttl",
    N_TRIPLES: "nt",
    N_QUADS: "nq",
    RDF_XML: "rdf",
    JSON_LD: "jsonld",
}
"""The file name extension of an answer saved in each format."""


def accept_for_name(name: str) -> str:
    """An Accept header for a short format name (``json``, ``csv``, ``turtle``…), for command lines and links."""
    try:
        return _NAMED[name.lower()]
    except KeyError:
        raise NotAcceptableError(name, FORMAT_NAMES) from None


# Step 2. SPARQL JSON for kept rows.


def term_json(term: Term) -> dict[str, Any]:
    """One RDF term as a SPARQL JSON value (https://www.w3.org/TR/sparql11-results-json/#select-encode-terms)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        encoded: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            encoded["xml:lang"] = term.language
            if term.direction is not None:
                encoded["its:dir"] = str(term.direction)
        elif term.datatype.value != _XSD_STRING:
            encoded["datatype"] = term.datatype.value
        return encoded
    return {
        "type": "triple",
        "value": {
            "subject": term_json(term.subject),
            "predicate": term_json(term.predicate),
            "object": term_json(term.object),
        },
    }


def solutions_json(variables: Sequence[str], rows: Iterable[ox.QuerySolution]) -> bytes:
    bindings = [{name: term_json(term) for name in variables if (term := row[name]) is not None} for row in rows]
    document = {"head": {"vars": list(variables)}, "results": {"bindings": bindings}}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


# Step 3. Evaluate, cap, serialise.


def _take(items: Iterator[_T], cap: int | None, check: Callable[[], None]) -> tuple[list[_T], bool]:
    """Up to ``cap`` items and whether more existed, calling ``check`` between items."""
    kept: list[_T] = []
    for item in items:
        check()
        if cap is not None and len(kept) >= cap:
            return kept, True
        kept.append(item)
    return kept, False


def _write(result: QueryResult, query: str, accept: str | None, cap: int | None, check: Callable[[], None]) -> Answer:
    if isinstance(result, ox.QueryBoolean):
        media_type = negotiate(accept, list(SOLUTION_FORMATS))
        return Answer(_written(result.serialize(format=SOLUTION_FORMATS[media_type])), media_type, False, 1)
    if isinstance(result, ox.QuerySolutions):
        media_type = negotiate(accept, list(SOLUTION_FORMATS))
        variables = [variable.value for variable in result.variables]
        rows, truncated = _take(iter(result), cap, check)
        body = solutions_json(variables, rows)
        if media_type != SPARQL_JSON:
            parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
            body = _written(parsed.serialize(format=SOLUTION_FORMATS[media_type]))
        return Answer(body, media_type, truncated, len(rows))
    media_type = negotiate(accept, list(GRAPH_FORMATS))
    triples, truncated = _take(iter(result), cap, check)
    body = _written(ox.serialize(triples, format=GRAPH_FORMATS[media_type], prefixes=answer_prefixes(query, triples)))
    return Answer(body, media_type, truncated, len(triples))


def _written(body: bytes | None) -> bytes:
    """pyoxigraph's serialisers return bytes when given no output file."""
    assert body is not None
    return body


def answer_query(
    store: Store,
    query: str,
    *,
    accept: str | None = None,
    cap: int | None = None,
    deadline: float | None = None,
) -> Answer:
    """Run ``query`` and serialise at most ``cap`` rows in the format ``accept`` prefers.

    The usual prefixes (``kg.answer_prefixes.STANDARD``: ``og:``, ``rdfs:``, ``skos:``, ``obligation:`` …) are
    declared for the query, as GraphDB and Stardog declare theirs, so a query may use them without its own
    ``PREFIX`` lines; one it declares itself holds over the usual one of the same name.

    ``accept`` is an Accept header or a single media type; ``deadline`` is a ``time.monotonic()`` instant.
    With a deadline the work runs in a daemon thread and this call returns or raises by the deadline.
    What a timeout does to a query still computing: a streaming query stops at its next row; a step that
    blocks inside pyoxigraph (an aggregate, ORDER BY, the first row of a join) cannot be interrupted and
    finishes in the background, its result discarded.
    Raises ``kg.store.QuerySyntaxError``, ``NotAcceptableError``, ``QueryTimeoutError``; errors the store
    raises while evaluating (``StoreError``, pyoxigraph's ``OSError``/``ValueError``) pass through.
    """
    if deadline is None:
        return _write(store.query(query, prefixes=STANDARD), query, accept, cap, lambda: None)
    job = _Job(store, query, accept, cap, deadline)
    worker = threading.Thread(target=job.run, name="sparql-answer", daemon=True)
    worker.start()
    if not job.done.wait(max(0.0, deadline - time.monotonic())):
        job.abandoned.set()
        raise QueryTimeoutError("the query did not finish before its deadline")
    if job.error is not None:
        raise job.error
    assert job.answer is not None
    return job.answer


class _Job:
    """One query evaluated off the caller's thread, so that the caller can stop waiting for it."""

    def __init__(self, store: Store, query: str, accept: str | None, cap: int | None, deadline: float) -> None:
        self.store, self.query, self.accept, self.cap, self.deadline = store, query, accept, cap, deadline
        self.done = threading.Event()
        self.abandoned = threading.Event()
        self.answer: Answer | None = None
        self.error: BaseException | None = None

    def check(self) -> None:
        if self.abandoned.is_set() or time.monotonic() > self.deadline:
            raise QueryTimeoutError("the query did not finish before its deadline")

    def run(self) -> None:
        try:
            # no local name for the result: a frame that raises keeps its locals, and pyoxigraph's results must
            # be dropped on the thread that made them, not with the error on the caller's
            self.answer = _write(
                self.store.query(self.query, prefixes=STANDARD), self.query, self.accept, self.cap, self.check
            )
        except BaseException as error:  # handed to the waiting caller, who re-raises it
            _release_frames(error)
            self.error = error
        finally:
            self.done.set()


def _release_frames(error: BaseException | None) -> None:
    """pyoxigraph's result iterators are bound to the thread that made them and must be dropped there, but
    the frames of a traceback keep them alive; clear those locals here before the error changes thread."""
    while error is not None:
        traceback.clear_frames(error.__traceback__)
        error = error.__cause__ or error.__context__

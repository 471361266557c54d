"""The SPARQL 1.1 Protocol endpoint at ``/sparql`` (https://www.w3.org/TR/sparql11-protocol/).

Queries: ``GET ?query=``, ``POST`` a form with ``query=``, or ``POST`` an ``application/sparql-query`` body.
Updates: ``POST`` a form with ``update=`` or an ``application/sparql-update`` body, with
``Authorization: Bearer <token>``. The default graph is the union of the named graphs, so
``default-graph-uri``/``named-graph-uri`` are refused in favour of ``FROM``/``FROM NAMED``. Updates are
different: their WHERE clauses see the store's own default graph (empty, as obligraph writes only to
named graphs), so an update that matches data says ``GRAPH ?g { … }``. ``GET`` with no parameter answers the
service description (``api.service_description``), except to a browser, which gets the query page
(``api.sparql_page``).

Every query and update is first parsed and planned by a sentinel process (``kg.sparql_screen``): a text that
crashes it (pyoxigraph's parser overflows its stack on some short texts, which would stop the server) is refused
with 400, one it cannot plan within the time limit with 503.

Handlers are plain ``def``: FastAPI runs them in its threadpool, so pyoxigraph never blocks the event loop.
A query past the configured timeout answers 503 at once; the query itself stops at its next row, or, if
it is inside one blocking step (an aggregate, ORDER BY), finishes that step in the background and is
discarded (see ``kg.sparql_answers.answer_query``). Updates are not timed out: an update cannot be
interrupted, and answering 503 for an update that later commits would mislead the client.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal
from urllib.parse import parse_qs, parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from api.config import ConfigDep, SparqlEndpointConfig, StoreDep
from api.federation import calls_service, loads_from_the_web
from api.service_description import PREFIXES, service_description
from api.sparql_errors import explained
from api.sparql_page import ANSWER_ACCEPT, HTML, ROWS_SHOWN, wants_page
from api.sparql_page import HEADERS as PAGE_HEADERS
from api.sparql_page import render as render_page
from kg.answer_prefixes import STANDARD
from kg.sparql_answers import (
    EXTENSIONS,
    FORMAT_NAMES,
    GRAPH_FORMATS,
    Answer,
    NotAcceptableError,
    QueryTimeoutError,
    accept_for_name,
    answer_query,
    negotiate,
)
from kg.sparql_screen import QueryRefusedError, QueryScreen, ScreenTimeoutError
from kg.store import QuerySyntaxError, Store, StoreError

log = logging.getLogger(__name__)
router = APIRouter(tags=["sparql"])

FORM: Final = "application/x-www-form-urlencoded"
DIRECT_QUERY: Final = "application/sparql-query"
DIRECT_UPDATE: Final = "application/sparql-update"
GRAPH_PARAMETERS: Final = ("default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri")
USAGE: Final = (
    "this is a SPARQL 1.1 Protocol endpoint; send a query as GET /sparql?query=<url-encoded query>, "
    f"as POST with Content-Type {FORM} and query=<query>, or as POST with Content-Type {DIRECT_QUERY}; "
    f"send an update as POST with update=<update> or Content-Type {DIRECT_UPDATE}, "
    "and Authorization: Bearer <token>"
)


@dataclass(frozen=True)
class Operation:
    kind: Literal["query", "update"]
    text: str


class ProtocolError(Exception):
    """A request the endpoint answers with an error; the message is the plain-text body."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, dict(headers or {})

    def response(self) -> Response:
        return _text(self.status, self.message, self.headers)


async def request_body(request: Request) -> bytes:
    """Reading the body is I/O, so it happens here; the blocking work stays in the sync handler."""
    return await request.body()


BodyDep = Annotated[bytes, Depends(request_body)]
AcceptHeader = Annotated[str | None, Header(description="Media types of the answer, e.g. text/csv")]
AuthorizationHeader = Annotated[str | None, Header(description="Bearer <token>, required for updates")]

SCREEN: Final = QueryScreen()
"""Sentinel processes that parse and plan every query and update before the store does (``kg.sparql_screen``:
some short texts crash pyoxigraph's parser, and with it the server)."""
UPDATE_SCREEN_S: Final = 120.0
"""Updates are not timed out (they cannot be interrupted), but their trial on the sentinel is: a large
``INSERT DATA`` parses in seconds; one that the planner cannot finish in two minutes is refused."""

_ANSWERS: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "SELECT/ASK as SPARQL JSON, XML, CSV or TSV; CONSTRUCT/DESCRIBE as Turtle, N-Triples, "
        "RDF/XML, N-Quads or JSON-LD",
        "content": {"application/sparql-results+json": {}, "text/csv": {}, "text/turtle": {}},
    },
    400: {"description": "Malformed query or request (plain text, with the parser's message)"},
    406: {"description": "No acceptable format for this query form"},
    503: {"description": "The query exceeded the endpoint's time limit"},
}


@router.api_route("/sparql", methods=["GET", "HEAD"], response_class=Response, responses=_ANSWERS)
def sparql_get(
    request: Request,
    store: StoreDep,
    config: ConfigDep,
    accept: AcceptHeader = None,
    query: Annotated[str | None, Query(description="A SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE)")] = None,
    download: Annotated[
        str | None,
        Query(alias="download", description=f"The answer as a file in this format: {', '.join(FORMAT_NAMES)}"),
    ] = None,
) -> Response:
    """Run a read-only SPARQL query given in the URL (``query`` and ``download`` are declared for the OpenAPI page;
    the URL is read whole so that a repeated or misplaced parameter is refused, not ignored). With no parameter at
    all, describe the service (SPARQL 1.1 Service Description). A browser (Accept preferring HTML) gets the query
    page instead (``api.sparql_page``), unless it asks for a ``download``, as the page's links to save an answer
    do: a format by name, answered as a file, whatever Accept says. (Not ``format`` or ``output``: SPARQLWrapper
    sends those to every endpoint, with names of its own.)"""
    accept = _accept(request)
    refused = config.queries.refusal(request)
    if refused is not None:
        return _text(refused.status, refused.message, refused.headers)
    if download is None and wants_page(accept):
        return _page(request, store, config)
    try:
        if not request.query_params:
            return _description(request, store, config, accept)
        fields = _fields(_url_items(request))
        operation = _operation(fields, allow_update=False)
        if "download" not in fields:
            return _query(store, config, operation.text, accept)
        answer = _query(store, config, operation.text, _named_format(fields["download"]))
        extension = EXTENSIONS[answer.media_type or ""]
        answer.headers["Content-Disposition"] = f'attachment; filename="answer.{extension}"'
        return answer
    except ProtocolError as refusal:
        return refusal.response()


@router.post(
    "/sparql",
    response_class=Response,
    responses={**_ANSWERS, 204: {"description": "Update applied"}, 401: {}, 403: {}},
    openapi_extra={
        "requestBody": {
            "content": {
                FORM: {"schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
                DIRECT_QUERY: {"schema": {"type": "string"}},
                DIRECT_UPDATE: {"schema": {"type": "string"}},
            }
        }
    },
)
def sparql_post(
    request: Request,
    body: BodyDep,
    store: StoreDep,
    config: ConfigDep,
    accept: AcceptHeader = None,
    authorization: AuthorizationHeader = None,
) -> Response:
    """Run a query (from a client ``config.queries`` lets in), or an update if the request carries the configured
    update token."""
    try:
        operation = _posted_operation(request, body)
        if operation.kind == "query":
            refused = config.queries.refusal(request)
            if refused is not None:
                raise ProtocolError(refused.status, refused.message, refused.headers)
            return _query(store, config, operation.text, _accept(request))
        _authorise(config, authorization)
        loads = loads_from_the_web(operation.text)
        if loads and not config.allow_service:
            raise ProtocolError(
                403,
                "LOAD is disabled on this endpoint: it would fetch the IRI it names from this server; load data "
                "with INSERT DATA, or set OBLIGRAPH_SPARQL_ALLOW_SERVICE=true on the server",
            )
        return _update(store, operation.text, screened=not loads)
    except ProtocolError as refusal:
        return refusal.response()


# Step 1. What was asked.


def _accept(request: Request) -> str | None:
    """Every Accept header line as one list (RFC 9110 §5.3: repeated lines are one comma-separated value)."""
    return ", ".join(request.headers.getlist("accept")) or None


def _url_items(request: Request) -> list[tuple[str, str]]:
    """The URL's parameters, percent-decoded as UTF-8 strictly: a query whose bytes are not UTF-8 is refused, not
    answered with its characters replaced."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    try:
        return parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"the URL's parameters are not UTF-8 once percent-decoded: {error}") from None


def _fields(items: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for key, value in items:
        fields.setdefault(key, []).append(value)
    return fields


def _posted_operation(request: Request, body: bytes) -> Operation:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    url_fields = _fields(_url_items(request))
    text = _decode(body)
    if media_type == FORM:
        try:
            form = parse_qs(text, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError as error:
            raise ProtocolError(400, f"the form's fields are not UTF-8 once percent-decoded: {error}") from None
        return _operation({key: url_fields.get(key, []) + form.get(key, []) for key in url_fields | form})
    if media_type in (DIRECT_QUERY, DIRECT_UPDATE):
        _refuse_graph_parameters(url_fields)
        return Operation("query" if media_type == DIRECT_QUERY else "update", text)
    raise ProtocolError(415, f"unsupported Content-Type {media_type or '(none)'!r}; {USAGE}")


def _operation(fields: Mapping[str, list[str]], *, allow_update: bool = True) -> Operation:
    _refuse_graph_parameters(fields)
    queries, updates = fields.get("query", []), fields.get("update", [])
    if updates and not allow_update:
        raise ProtocolError(400, f"updates must be sent with POST, not GET; {USAGE}")
    if len(queries) + len(updates) != 1:
        problem = "no query was given" if not queries and not updates else "give exactly one query or update"
        raise ProtocolError(400, f"{problem}; {USAGE}")
    return Operation("query", queries[0]) if queries else Operation("update", updates[0])


def _named_format(given: list[str]) -> str:
    """The Accept header a ``download`` parameter stands for."""
    if len(given) != 1:
        raise ProtocolError(400, "give download once")
    try:
        return accept_for_name(given[0])
    except NotAcceptableError:
        names = ", ".join(FORMAT_NAMES)
        raise ProtocolError(400, f"unknown download format {given[0]!r}; use one of: {names}") from None


def _refuse_graph_parameters(fields: Mapping[str, list[str]]) -> None:
    given = [name for name in GRAPH_PARAMETERS if name in fields]
    if given:
        raise ProtocolError(
            400,
            f"{', '.join(given)} is not supported; use FROM / FROM NAMED in the query (or USING / "
            "USING NAMED in an update); without them the default graph is the union of all named graphs",
        )


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8").removeprefix("\ufeff")  # a byte order mark is not part of the text
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"the request body is not UTF-8: {error}") from None


# Step 2. Queries.


def _query(store: Store, config: SparqlEndpointConfig, text: str, accept: str | None) -> Response:
    answer = _answered(store, config, text, accept, cap=config.result_cap)
    headers = {"Vary": "Accept", "X-Obligraph-Result-Cap": str(config.result_cap)}
    if answer.truncated:
        headers["X-Obligraph-Truncated"] = "true"
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def _answered(store: Store, config: SparqlEndpointConfig, text: str, accept: str | None, *, cap: int) -> Answer:
    federated = calls_service(text)
    if federated and not config.allow_service:
        raise ProtocolError(
            403,
            "federated queries (SERVICE) are disabled on this endpoint: it would call the hosts they name; "
            "run the query with `obligraph sparql`, or set OBLIGRAPH_SPARQL_ALLOW_SERVICE=true on the server",
        )
    deadline = time.monotonic() + config.query_timeout_s
    try:
        if not federated:  # the sentinel would call the service too
            SCREEN.screen(text, "query", timeout_s=config.query_timeout_s, prefixes=STANDARD)
        return answer_query(store, text, accept=accept, cap=cap, deadline=deadline)
    except QueryRefusedError as error:
        raise ProtocolError(400, str(error)) from None
    except QuerySyntaxError as error:
        raise ProtocolError(400, explained(text, str(error), "query", STANDARD)) from None
    except NotAcceptableError as error:
        raise ProtocolError(406, str(error), {"Vary": "Accept"}) from None
    except (QueryTimeoutError, ScreenTimeoutError):
        raise ProtocolError(
            503,
            f"the query did not finish within this endpoint's limit of {config.query_timeout_s:g} s; "
            "narrow it (more specific patterns, fewer triple patterns in one group, LIMIT) or run it with "
            "`obligraph sparql`",
        ) from None
    except StoreError as error:
        raise ProtocolError(502, f"the store did not answer: {error}") from None
    except Exception as error:
        log.exception("SPARQL query failed")
        raise ProtocolError(500, f"the query failed while running: {error}") from None


def _page(request: Request, store: Store, config: SparqlEndpointConfig) -> Response:
    """The query page, with the answer to the query in the URL or the reason there is none (the status an
    answer would have had, so a refused query is still a 4xx)."""
    try:
        fields = _fields(_url_items(request))
    except ProtocolError as refusal:
        return _html(render_page(None, error=refusal.message), refusal.status)
    if not fields:
        return _html(render_page(None))
    queries = fields.get("query", [])
    text = queries[0] if len(queries) == 1 else None
    started = time.monotonic()
    try:
        operation = _operation(fields, allow_update=False)
        answer = _answered(store, config, operation.text, ANSWER_ACCEPT, cap=min(config.result_cap, ROWS_SHOWN))
    except ProtocolError as refusal:
        return _html(render_page(text, error=refusal.message), refusal.status)
    return _html(render_page(text, answer=answer, elapsed_ms=(time.monotonic() - started) * 1000))


def _html(page: str, status: int = 200) -> Response:
    return Response(page, status_code=status, media_type=HTML, headers=dict(PAGE_HEADERS))


def _description(request: Request, store: Store, config: SparqlEndpointConfig, accept: str | None) -> Response:
    try:
        media_type = negotiate(accept, list(GRAPH_FORMATS))
    except NotAcceptableError as error:
        raise ProtocolError(406, str(error), {"Vary": "Accept"}) from None
    try:
        graphs = store.named_graphs()
    except StoreError as error:
        raise ProtocolError(502, f"the store did not answer: {error}") from None
    endpoint = str(request.url.replace(query="", fragment=""))
    triples = service_description(
        endpoint, graphs, updates=config.update_token is not None, federation=config.allow_service, usage=USAGE
    )
    body = ox.serialize(triples, format=GRAPH_FORMATS[media_type], prefixes=PREFIXES) or b""
    return Response(body, media_type=media_type, headers={"Vary": "Accept"})


# Step 3. Updates.


def _authorise(config: SparqlEndpointConfig, authorization: str | None) -> None:
    if config.update_token is None:
        raise ProtocolError(403, "updates are disabled on this endpoint (no update token is configured)")
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProtocolError(
            401,
            "updates need Authorization: Bearer <token>",
            {"WWW-Authenticate": 'Bearer realm="obligraph"'},
        )
    if not hmac.compare_digest(token.strip().encode(), config.update_token.encode()):
        raise ProtocolError(
            401,
            "the update token is not valid",
            {"WWW-Authenticate": 'Bearer realm="obligraph", error="invalid_token"'},
        )


def _update(store: Store, text: str, *, screened: bool) -> Response:
    """``screened``: tried first on the sentinel (not an update that loads from the web, which it would fetch
    twice)."""
    try:
        if screened:
            SCREEN.screen(text, "update", timeout_s=UPDATE_SCREEN_S)
        store.update(text)
    except QueryRefusedError as error:
        raise ProtocolError(400, str(error)) from None
    except ScreenTimeoutError:
        raise ProtocolError(
            503, f"the update was not parsed and planned within {UPDATE_SCREEN_S:g} s and was not applied"
        ) from None
    except QuerySyntaxError as error:
        raise ProtocolError(400, explained(text, str(error), "update")) from None
    except StoreError as error:
        raise ProtocolError(502, f"the store did not answer: {error}") from None
    except Exception as error:
        log.exception("SPARQL update failed")
        raise ProtocolError(500, f"the update failed: {error}") from None
    return Response(status_code=204)


def _text(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(message.rstrip() + "\n", status_code=status, media_type="text/plain", headers=dict(headers or {}))

"""Federated queries (``SERVICE``) at /sparql: refused unless allowed, and the check agrees with pyoxigraph's parser.

The check must never miss a ``SERVICE`` that pyoxigraph would evaluate: the property test builds queries from
fragments that confuse lexers (quotes, escapes, comments, prefixed names glued to the keyword) and runs each on a
store whose ``SERVICE`` target is a closed port on 127.0.0.1, so an attempted call shows as a refused connection.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.config import SparqlEndpointConfig
from api.federation import calls_service
from kg.iris import Graphs
from kg.store import Store, open_store
from tests.support.live_server import live_server
from tests.support.oxigraph_server import free_port


@pytest.mark.parametrize(
    ("query", "federates"),
    [
        ("SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }", True),
        ("select * where { service silent <http://x/> { ?s ?p ?o } }", True),
        ("SELECT * WHERE { ?s ?p ?o .SERVICE <http://x/> { ?s ?p ?o } }", True),
        ("SELECT * WHERE { ?s ?p ?o}SERVICE<http://x/>{?s ?p ?o}", True),
        ("SELECT * WHERE { FILTER(?a<1)SERVICE<http://x/>{?s ?p ?o} }", True),
        ("SELECT * WHERE { SERVICE?svc{ ?s ?p ?o } }", True),
        ("PREFIX : <http://x/> SELECT * WHERE { SERVICE:foo {?s ?p ?o} }", True),  # the keyword, then `:foo`
        ("PREFIX : <http://x/> SELECT * WHERE { service:foo # a comment\n {?s ?p ?o} }", True),
        (r"SELECT * WHERE { \u0053ERVICE <http://x/> { ?s ?p ?o } }", True),  # for a server that decodes escapes
        (r'SELECT * WHERE { BIND("x\u0022" AS ?a) SERVICE <http://x/> {} BIND("y" AS ?b) }', True),
        ('SELECT * WHERE { ?s ?p "SERVICE <http://x/>" }', False),
        ("SELECT * WHERE { ?s ?p '''it's a SERVICE''' }", False),
        ('SELECT * WHERE { ?s ?p "a\\"SERVICE" }', False),
        ("SELECT ?service WHERE { ?service a ex:SERVICE }", False),
        ("PREFIX service: <http://s/> SELECT * WHERE { ?s service:p ?o }", False),
        ("PREFIX SERVICE: <http://s/> SELECT * WHERE { SERVICE:a SERVICE:b SERVICE:c }", False),
        ("SELECT * WHERE { ?s <http://x/SERVICE> ?o } # SERVICE <http://y/>", False),
        ("SELECT * WHERE { ?s ?p _:SERVICE }", False),
        ('SELECT * WHERE { ?s ?p "服务" }', False),
    ],
)
def test_the_check_reads_the_keyword_not_its_letters(query: str, federates: bool) -> None:
    assert calls_service(query) is federates


CLOSED = free_port()  # bound and released: nothing listens there
TARGET = f"<http://127.0.0.1:{CLOSED}/sparql>"
FRAGMENTS = [
    "SERVICE",
    "service",
    "SILENT",
    f"SERVICE {TARGET} {{ ?s ?p ?o }}",
    f"SERVICE{TARGET}{{?s ?p ?o}}",
    "SERVICE:x{?s ?p ?o}",
    "SERVICE :x {?s ?p ?o}",
    TARGET,
    ":x",
    "ex:a",
    "?svc",
    "{",
    "}",
    "?s ?p ?o",
    ".",
    " ",
    "\n",
    '"',
    "'",
    '"""',
    "#",
    r"\u0022",
    r"\u0053ERVICE",
    "\\",
    'BIND("a" AS ?b)',
    r'BIND("a\u0022" AS ?c)',
    "FILTER(?s<1)",
    "OPTIONAL",
    "(",
    ")",
]


@pytest.fixture(scope="module")
def one_triple() -> ox.Store:
    """A store with one triple in its default graph, so a pattern before ``SERVICE`` does not cut the query short."""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.Literal("o")))
    return store


def _tries_a_service(store: ox.Store, query: str) -> bool:
    try:
        list(store.query(query))  # type: ignore[arg-type]
    except OSError:
        return True  # an in-memory store reads no file: only a SERVICE call gives an OSError
    except (SyntaxError, RuntimeError, ValueError):
        return False
    return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8))
def test_no_query_that_pyoxigraph_federates_passes_the_check(one_triple: ox.Store, fragments: list[str]) -> None:
    query = (
        f"PREFIX : <http://127.0.0.1:{CLOSED}/> PREFIX ex: <http://e/> "
        f"SELECT * WHERE {{ ?s ?p ?o {' '.join(fragments[:1])}{''.join(fragments[1:])} }}"
    )
    if _tries_a_service(one_triple, query):
        assert calls_service(query), query


def test_the_property_test_sees_a_service_call(one_triple: ox.Store) -> None:
    """The oracle itself: pyoxigraph does try the closed port for a plain SERVICE clause."""
    assert _tries_a_service(one_triple, f"SELECT * WHERE {{ ?s ?p ?o SERVICE {TARGET} {{ ?s ?p ?o }} }}")


# The endpoint -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def labelled() -> Iterator[Store]:
    store = open_store("memory")
    store.update(f'INSERT DATA {{ GRAPH <{Graphs.REGULATIONS}> {{ <http://e/a> <http://e/label> "第十七条"@zh }} }}')
    yield store
    store.close()


def test_a_federated_query_is_refused_with_the_reason(labelled: Store) -> None:
    config = SparqlEndpointConfig(update_token=None)
    with live_server(create_app(labelled, config), ready_path="/health") as base_url:
        query = f"SELECT ?o WHERE {{ SERVICE <{base_url}/sparql> {{ ?s <http://e/label> ?o }} }}"
        refused = httpx.get(f"{base_url}/sparql", params={"query": query})
        assert refused.status_code == 403
        assert "federated queries (SERVICE) are disabled" in refused.text
        assert "OBLIGRAPH_SPARQL_ALLOW_SERVICE" in refused.text
        mentioned = httpx.get(f"{base_url}/sparql", params={"query": 'SELECT * WHERE { BIND("SERVICE" AS ?x) }'})
        assert mentioned.status_code == 200
        description = httpx.get(f"{base_url}/sparql").text
        assert "BasicFederatedQuery" not in description


def test_an_endpoint_told_to_allow_it_federates(labelled: Store) -> None:
    """Two endpoints on 127.0.0.1: the second answers the first's SERVICE clause."""
    remote = SparqlEndpointConfig(update_token=None)
    federating = SparqlEndpointConfig(update_token=None, allow_service=True)
    with (
        live_server(create_app(labelled, remote), ready_path="/health") as remote_url,
        live_server(create_app(open_store("memory"), federating), ready_path="/health") as base_url,
    ):
        query = f"SELECT ?o WHERE {{ SERVICE <{remote_url}/sparql> {{ ?s <http://e/label> ?o }} }}"
        answer = httpx.get(f"{base_url}/sparql", params={"query": query}, headers={"Accept": "text/csv"})
        assert answer.status_code == 200, answer.text
        assert answer.text.splitlines() == ["o", "第十七条"]
        assert "BasicFederatedQuery" in httpx.get(f"{base_url}/sparql").text

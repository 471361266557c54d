"""The /sparql endpoint over real HTTP: SPARQLWrapper for what clients do, httpx for the protocol's edges."""

from __future__ import annotations

import csv
import gc
import io
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
import rdflib
import rdflib.compare
from SPARQLWrapper import CSV, JSON, POSTDIRECTLY, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper

from api.app import create_app
from api.config import SparqlEndpointConfig
from kg import iris
from kg.iris import Graphs
from kg.sparql_answers import (
    NotAcceptableError,
    accept_for_name,
    answer_query,
    negotiate,
    solutions_json,
    term_json,
)
from kg.store import Store, open_store
from tests.support.live_server import live_server

TOKEN = "a-test-token-long-enough-for-production"
EX = "https://example.org/test#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
GENAI = str(iris.instrument("CN-GENAI-2023"))
A17 = str(iris.article("CN-GENAI-2023", "A17"))
A24 = str(iris.article("CN-GENAI-2023", "A24-1"))
TITLE_ZH = "生成式人工智能服务管理暂行办法"
PREFIXES = f"PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX ex: <{EX}> "
LABELS = PREFIXES + "SELECT ?s ?label WHERE { ?s rdfs:label ?label } ORDER BY ?s ?label"


def fill(store: Store) -> None:
    store.update(
        f"""{PREFIXES}
        INSERT DATA {{ GRAPH <{Graphs.REGULATIONS}> {{
            <{GENAI}> rdfs:label "{TITLE_ZH}"@zh, "Interim Measures for Generative AI Services"@en ;
                ex:articleCount 24 ;
                ex:effective "2023-08-15"^^<http://www.w3.org/2001/XMLSchema#date> .
            <{A17}> rdfs:label "第十七条"@zh ; ex:partOf <{GENAI}> .
            <{A24}> rdfs:label "第二十四条第一款"@zh ; ex:partOf <{GENAI}> .
        }} }}"""
    )


@contextmanager
def serve(store: Store, **config: Any) -> Iterator[str]:
    settings = SparqlEndpointConfig(update_token=config.pop("update_token", TOKEN), **config)
    with live_server(create_app(store, settings), ready_path="/health") as base_url:
        yield base_url


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A read-only session: tests here must not update (update tests serve their own store)."""
    store = open_store("memory")
    fill(store)
    with serve(store) as base_url:
        yield f"{base_url}/sparql"
    store.close()


@pytest.fixture
def writable() -> Iterator[tuple[str, Store]]:
    store = open_store("memory")
    fill(store)
    with serve(store) as base_url:
        yield f"{base_url}/sparql", store
    store.close()


def wrapper(url: str, query: str, fmt: str, method: str | None = None) -> Any:
    client = SPARQLWrapper(url)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    if method is not None:
        client.setMethod("POST")
        client.setRequestMethod(method)
    return client.query().convert()


# What SPARQL clients do (SPARQLWrapper).


def test_get_select_as_json_round_trips_the_chinese_title(endpoint: str) -> None:
    result = wrapper(endpoint, LABELS, JSON)
    assert result["head"]["vars"] == ["s", "label"]
    labels = {(b["s"]["value"], b["label"]["value"], b["label"].get("xml:lang")) for b in result["results"]["bindings"]}
    assert labels == {
        (GENAI, TITLE_ZH, "zh"),
        (GENAI, "Interim Measures for Generative AI Services", "en"),
        (A17, "第十七条", "zh"),
        (A24, "第二十四条第一款", "zh"),
    }


def test_post_form_select_as_xml(endpoint: str) -> None:
    document = wrapper(endpoint, PREFIXES + "SELECT ?n WHERE { ?s ex:articleCount ?n }", XML, URLENCODED)
    literals = document.getElementsByTagName("literal")
    assert [(node.firstChild.data, node.getAttribute("datatype")) for node in literals] == [
        ("24", "http://www.w3.org/2001/XMLSchema#integer")
    ]


def test_post_direct_select_as_csv(endpoint: str) -> None:
    body = wrapper(endpoint, LABELS, CSV, POSTDIRECTLY)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows[0] == ["s", "label"]
    assert [GENAI, TITLE_ZH] in rows
    assert len(rows) == 5


def test_select_as_tsv_keeps_language_tags(endpoint: str) -> None:
    body = wrapper(endpoint, LABELS, TSV).decode("utf-8")
    lines = body.splitlines()
    assert lines[0] == "?s\t?label"
    assert f'<{A17}>\t"第十七条"@zh' in lines
    assert len(lines) == 5


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_ask(endpoint: str, fmt: str) -> None:
    yes = wrapper(endpoint, f'ASK {{ ?s ?p "{TITLE_ZH}"@zh }}', fmt)
    no = wrapper(endpoint, 'ASK { ?s ?p "不存在"@zh }', fmt)
    if fmt == JSON:
        assert (yes["boolean"], no["boolean"]) == (True, False)
    else:
        assert yes.getElementsByTagName("boolean")[0].firstChild.data == "true"
        assert no.getElementsByTagName("boolean")[0].firstChild.data == "false"


CONSTRUCT = PREFIXES + "CONSTRUCT { ?a ex:inInstrument ?i ; rdfs:label ?l } WHERE { ?a ex:partOf ?i ; rdfs:label ?l }"
EXPECTED_TRIPLES = {
    ox.Triple(ox.NamedNode(A17), ox.NamedNode(f"{EX}inInstrument"), ox.NamedNode(GENAI)),
    ox.Triple(ox.NamedNode(A24), ox.NamedNode(f"{EX}inInstrument"), ox.NamedNode(GENAI)),
    ox.Triple(ox.NamedNode(A17), ox.NamedNode(RDFS_LABEL), ox.Literal("第十七条", language="zh")),
    ox.Triple(ox.NamedNode(A24), ox.NamedNode(RDFS_LABEL), ox.Literal("第二十四条第一款", language="zh")),
}


def test_construct_as_turtle(endpoint: str) -> None:
    body = wrapper(endpoint, CONSTRUCT, TURTLE)
    assert {quad.triple for quad in ox.parse(body, format=ox.RdfFormat.TURTLE)} == EXPECTED_TRIPLES


def test_construct_as_ntriples(endpoint: str) -> None:
    response = httpx.get(endpoint, params={"query": CONSTRUCT}, headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/n-triples")
    assert {quad.triple for quad in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)} == EXPECTED_TRIPLES


def test_describe_defaults_to_turtle(endpoint: str) -> None:
    response = httpx.get(endpoint, params={"query": f"DESCRIBE <{A17}>"})
    assert response.headers["content-type"].startswith("text/turtle")
    triples = {quad.triple for quad in ox.parse(response.content, format=ox.RdfFormat.TURTLE)}
    assert ox.Triple(ox.NamedNode(A17), ox.NamedNode(f"{EX}partOf"), ox.NamedNode(GENAI)) in triples


# Content negotiation.


def test_accept_q_values_choose_the_format_and_vary_on_accept(endpoint: str) -> None:
    response = httpx.get(
        endpoint,
        params={"query": LABELS},
        headers={"Accept": "application/sparql-results+json;q=0.2, text/csv;q=0.9, */*;q=0.1"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["vary"] == "Accept"
    assert response.text.splitlines()[0] == "s,label"


def test_unsupported_accept_is_406_listing_the_offers(endpoint: str) -> None:
    response = httpx.get(endpoint, params={"query": LABELS}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text and "text/csv" in response.text

    graph = httpx.get(endpoint, params={"query": CONSTRUCT}, headers={"Accept": "text/csv"})
    assert graph.status_code == 406
    assert "text/turtle" in graph.text


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("text/*", "text/csv"),
        ("application/json", "application/sparql-results+json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/sparql-results+xml"),
        ("text/csv;q=0, text/*", "text/tab-separated-values"),
        ("text/html, image/gif, *; q=.2", "application/sparql-results+json"),
    ],
)
def test_negotiate(accept: str | None, chosen: str) -> None:
    offered = [
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    ]
    assert negotiate(accept, offered) == chosen


def test_negotiate_refuses_when_every_offer_has_q_zero() -> None:
    with pytest.raises(NotAcceptableError, match="text/turtle"):
        negotiate("text/turtle;q=0, image/png", ["text/turtle"])
    assert accept_for_name("xml") == "application/sparql-results+xml, application/rdf+xml"


def test_a_refused_answer_leaves_its_result_on_the_thread_that_made_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A query answered with a deadline runs on a thread of its own; when it fails after its result exists (no format
    fits), the error reaches the caller without that result, which pyoxigraph refuses to drop on another thread."""
    store = open_store("memory")
    fill(store)
    dropped: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda raised: dropped.append(str(raised.exc_value)))
    for query in (LABELS, CONSTRUCT):
        with pytest.raises(NotAcceptableError):
            answer_query(store, query, accept="image/png", deadline=time.monotonic() + 10)
        gc.collect()
    store.close()
    assert not [text for text in dropped if "unsendable" in text], dropped


def test_sparql_json_encodes_every_kind_of_term() -> None:
    triple = ox.Triple(
        ox.NamedNode(A17),
        ox.NamedNode(RDFS_LABEL),
        ox.Literal("مرحبا", language="ar", direction=ox.BaseDirection.RTL),
    )
    assert term_json(triple) == {
        "type": "triple",
        "value": {
            "subject": {"type": "uri", "value": A17},
            "predicate": {"type": "uri", "value": RDFS_LABEL},
            "object": {"type": "literal", "value": "مرحبا", "xml:lang": "ar", "its:dir": "rtl"},
        },
    }
    assert term_json(ox.Literal("x")) == {"type": "literal", "value": "x"}
    assert term_json(ox.BlankNode("b0")) == {"type": "bnode", "value": "b0"}
    store = ox.Store()
    query = (
        'SELECT ?t ?d ?b ?unbound WHERE { BIND(<<( <urn:a> <urn:b> "中"@zh )>> AS ?t) '
        "BIND(1.5 AS ?d) BIND(BNODE() AS ?b) }"
    )
    solutions = store.query(query)
    assert isinstance(solutions, ox.QuerySolutions)
    ours = solutions_json(["t", "d", "b", "unbound"], list(solutions))
    # pyoxigraph reads back what we wrote, equal to its own serialisation up to blank node labels.
    reparsed = ox.parse_query_results(ours, format=ox.QueryResultsFormat.JSON)
    assert isinstance(reparsed, ox.QuerySolutions)
    row = next(iter(reparsed))
    assert row["t"] == ox.Triple(ox.NamedNode("urn:a"), ox.NamedNode("urn:b"), ox.Literal("中", language="zh"))
    assert row["d"] == ox.Literal("1.5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal"))
    assert isinstance(row["b"], ox.BlankNode) and row["unbound"] is None


# Protocol edges.


def test_malformed_query_is_400_with_the_parsers_message(endpoint: str) -> None:
    response = httpx.get(endpoint, params={"query": "SELECT ?s WHERE { ?s ?p "})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("malformed query: error at 1:")
    assert "expected" in response.text and "Traceback" not in response.text


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("", "the query is empty"),
        ("   # nothing\n", "the query is empty"),
        ("SELECT * WHERE { ?s foo:bar ?o }", "the prefix 'foo:' is not declared; add PREFIX foo: <…>"),
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "this is a SPARQL update (INSERT), sent as a query"),
    ],
)
def test_a_refused_query_says_what_to_change(endpoint: str, query: str, said: str) -> None:
    response = httpx.get(endpoint, params={"query": query})
    assert response.status_code == 400
    assert said in response.text and "\\u{" not in response.text, response.text


def test_query_parameters_that_are_not_utf8_are_refused_not_replaced(endpoint: str) -> None:
    """``%E9`` is é in Latin-1, not UTF-8: answered, the query would hold U+FFFD where the client wrote é."""
    encoded = "SELECT%20%3Fx%20WHERE%20%7B%20BIND(%22caf%E9%22%20AS%20%3Fx)%20%7D"
    for response in (
        httpx.get(f"{endpoint}?query={encoded}"),
        httpx.post(endpoint, content=f"query={encoded}", headers={"Content-Type": "application/x-www-form-urlencoded"}),
    ):
        assert response.status_code == 400, response.text
        assert "not UTF-8" in response.text


def test_a_byte_order_mark_before_a_direct_query_is_not_part_of_it(endpoint: str) -> None:
    body = "\ufeffSELECT (1 AS ?x) {}".encode()
    response = httpx.post(
        endpoint, content=body, headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.text.splitlines() == ["x", "1"]


def test_accept_sent_on_several_lines_is_one_list(endpoint: str) -> None:
    query = f"DESCRIBE <{A17}>"
    response = httpx.get(endpoint, params={"query": query}, headers=[("Accept", "text/csv"), ("Accept", "text/turtle")])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/turtle")


def test_a_method_the_endpoint_does_not_take_is_405_naming_those_it_does(endpoint: str) -> None:
    for method in ("PUT", "DELETE", "OPTIONS"):
        response = httpx.request(method, endpoint)
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD, POST"
        assert response.headers["content-type"].startswith("text/plain")
    head = httpx.head(endpoint, params={"query": "ASK {}"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/sparql-results+json"


SD = "http://www.w3.org/ns/sparql-service-description#"


def described(response: httpx.Response) -> rdflib.Graph:
    assert response.status_code == 200, response.text
    graph = rdflib.Graph()
    graph.parse(data=response.content, format=response.headers["content-type"].split(";")[0])
    return graph


def test_get_without_a_parameter_describes_the_service(endpoint: str) -> None:
    """SPARQL 1.1 Service Description: what query editors and federating engines read of an endpoint."""
    sd = rdflib.Namespace(SD)
    graph = described(httpx.get(endpoint))
    service = rdflib.URIRef(endpoint)
    assert (service, rdflib.RDF.type, sd.Service) in graph and (service, sd.endpoint, service) in graph
    assert (service, sd.feature, sd.UnionDefaultGraph) in graph
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in set(
        graph.objects(service, sd.resultFormat)
    )
    dataset = graph.value(service, sd.defaultDataset)
    names = {str(graph.value(node, sd.name)) for node in graph.objects(dataset, sd.namedGraph)}
    assert Graphs.REGULATIONS in names
    assert "GET /sparql?query=" in str(graph.value(service, rdflib.RDFS.comment))
    as_json_ld = httpx.get(endpoint, headers={"Accept": "application/ld+json"})
    assert as_json_ld.headers["content-type"].startswith("application/ld+json")
    assert len(described(as_json_ld)) == len(graph)
    assert httpx.get(endpoint, headers={"Accept": "text/csv"}).status_code == 406


def test_the_description_offers_updates_only_with_a_token() -> None:
    sd = rdflib.Namespace(SD)
    for token, languages in ((TOKEN, {sd.SPARQL11Query, sd.SPARQL11Update}), (None, {sd.SPARQL11Query})):
        with serve(open_store("memory"), update_token=token) as base_url:
            graph = described(httpx.get(f"{base_url}/sparql"))
        assert set(graph.objects(rdflib.URIRef(f"{base_url}/sparql"), sd.supportedLanguage)) == languages


def test_get_with_parameters_but_no_query_explains_how_to_call(endpoint: str) -> None:
    response = httpx.get(endpoint, params={"querry": "SELECT * WHERE { ?s ?p ?o }"})
    assert response.status_code == 400
    assert "no query was given" in response.text and "GET /sparql?query=" in response.text


def test_dataset_parameters_are_refused_with_the_alternative(endpoint: str) -> None:
    response = httpx.get(endpoint, params={"query": LABELS, "default-graph-uri": Graphs.REGULATIONS})
    assert response.status_code == 400
    assert "default-graph-uri is not supported; use FROM / FROM NAMED in the query" in response.text

    direct = httpx.post(
        endpoint,
        params={"named-graph-uri": Graphs.REGULATIONS},
        content=LABELS,
        headers={"Content-Type": "application/sparql-query"},
    )
    assert direct.status_code == 400 and "named-graph-uri" in direct.text


def test_from_named_graph_works_instead(endpoint: str) -> None:
    """``FROM`` reads the graphs it names and no other (the store's union default graph would read them all)."""

    def count(graph: str) -> str:
        query = f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}"
        response = httpx.get(endpoint, params={"query": query})
        return str(response.json()["results"]["bindings"][0]["n"]["value"])

    assert count(str(Graphs.REGULATIONS)) == "8"
    assert count(str(Graphs.SHAPES)) == "0"


def test_unsupported_content_type_and_update_over_get(endpoint: str) -> None:
    response = httpx.post(endpoint, content=LABELS, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415 and "application/sparql-query" in response.text
    update = httpx.get(endpoint, params={"update": "CLEAR ALL"})
    assert update.status_code == 400 and "POST" in update.text


def test_health(endpoint: str) -> None:
    response = httpx.get(endpoint.removesuffix("/sparql") + "/health")
    assert response.json() == {"status": "ok", "store": "memory"}


DESCRIBE_GENAI = f"PREFIX ex: <{EX}> PREFIX law: <{GENAI.rsplit('#', 1)[0]}#> DESCRIBE <{GENAI}>"


@pytest.mark.parametrize(("accept", "rdflib_format"), [("text/turtle", "turtle"), ("application/rdf+xml", "xml")])
def test_graph_answers_abbreviate_with_the_querys_prefixes_and_the_usual_ones(
    endpoint: str, accept: str, rdflib_format: str
) -> None:
    """Turtle and RDF/XML name IRIs as the query's author did (ex:) or by the usual names (rdfs:, xsd:), declaring
    only the prefixes the answer uses, and say the same graph as N-Triples, which is written in full."""
    abbreviated = httpx.get(endpoint, params={"query": DESCRIBE_GENAI}, headers={"Accept": accept})
    full = httpx.get(endpoint, params={"query": DESCRIBE_GENAI}, headers={"Accept": "application/n-triples"})
    assert abbreviated.status_code == full.status_code == 200
    graph = rdflib.Graph().parse(data=abbreviated.text, format=rdflib_format)
    assert len(graph) == 4  # two labels, the article count, the date
    assert rdflib.compare.isomorphic(graph, rdflib.Graph().parse(data=full.text, format="nt"))
    if rdflib_format == "turtle":
        assert f"@prefix ex: <{EX}>" in abbreviated.text and "ex:articleCount 24" in abbreviated.text
        assert "rdfs:label" in abbreviated.text
    else:
        assert f'xmlns:ex="{EX}"' in abbreviated.text
    assert "<https://example.org" in full.text  # N-Triples stays in full
    declared = {line.split()[1] for line in abbreviated.text.splitlines() if line.startswith("@prefix")}
    if rdflib_format == "turtle":  # only what the answer uses: not og:, skos:, dpv: … (nor law:, which fits nothing)
        assert declared == {"ex:", "rdfs:", "xsd:"}  # xsd: for the date; the labels' datatype is never written


@pytest.mark.parametrize("accept", ["text/turtle", "application/rdf+xml"])
def test_a_namespace_the_query_renames_is_written_with_the_querys_name(endpoint: str, accept: str) -> None:
    """``PREFIX r: <…rdf-schema#>``: the answer says r:label, not rdfs:label, in Turtle and RDF/XML alike."""
    rdfs = "http://www.w3.org/2000/01/rdf-schema#"
    query = f"PREFIX r: <{rdfs}> PREFIX ex: <{EX}> DESCRIBE <{GENAI}>"
    answer = httpx.get(endpoint, params={"query": query}, headers={"Accept": accept})
    assert answer.status_code == 200, answer.text
    if accept == "text/turtle":
        declared = {line.split()[1] for line in answer.text.splitlines() if line.startswith("@prefix")}
        assert declared == {"r:", "ex:", "xsd:"}, answer.text
        assert "r:label" in answer.text and "rdfs:" not in answer.text
    else:
        assert f'xmlns:r="{rdfs}"' in answer.text and "xmlns:rdfs=" not in answer.text, answer.text


def test_the_root_lists_what_this_server_serves(endpoint: str) -> None:
    """Opened first in a browser, the address names its endpoints; an app without a pipeline lists no /events."""
    base = endpoint.removesuffix("/sparql")
    listed = httpx.get(base + "/").json()["endpoints"]
    assert set(listed) == {"sparql", "graphql", "health", "docs"}
    for entry in listed.values():
        assert httpx.get(base + entry["path"]).status_code == 200, entry


# Updates.

A4 = str(iris.article("CN-GENAI-2023", "A4"))
INSERT_A4 = f'INSERT DATA {{ GRAPH <{Graphs.REGULATIONS}> {{ <{A4}> <{RDFS_LABEL}> "第四条"@zh }} }}'
COUNT_LABELS = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{RDFS_LABEL}> ?l }}"


def label_count(url: str) -> int:
    return int(httpx.get(url, params={"query": COUNT_LABELS}).json()["results"]["bindings"][0]["n"]["value"])


def test_update_without_or_with_a_wrong_token_is_401(writable: tuple[str, Store]) -> None:
    url, _ = writable
    missing = httpx.post(url, content=INSERT_A4, headers={"Content-Type": "application/sparql-update"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.post(url, data={"update": INSERT_A4}, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert label_count(url) == 4


def test_update_with_the_token_is_seen_by_later_queries(writable: tuple[str, Store]) -> None:
    url, store = writable
    auth = {"Authorization": f"Bearer {TOKEN}"}
    direct = httpx.post(url, content=INSERT_A4, headers={**auth, "Content-Type": "application/sparql-update"})
    assert direct.status_code == 204
    assert label_count(url) == 5
    form = httpx.post(
        url, data={"update": f"DELETE WHERE {{ GRAPH ?g {{ ?s <{RDFS_LABEL}> '第四条'@zh }} }}"}, headers=auth
    )
    assert form.status_code == 204
    assert label_count(url) == 4
    assert store.ask(f'ASK {{ <{A17}> <{RDFS_LABEL}> "第十七条"@zh }}')


def test_malformed_update_with_the_token_is_400(writable: tuple[str, Store]) -> None:
    url, _ = writable
    response = httpx.post(url, data={"update": "INSERT DATA { <urn:a> }"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400
    assert response.text.startswith("malformed update: error at")


def test_an_update_sent_as_a_query_says_so(writable: tuple[str, Store]) -> None:
    url, _ = writable
    response = httpx.post(
        url,
        content="SELECT * WHERE { ?s ?p ?o }",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"},
    )
    assert response.status_code == 400
    assert response.text.startswith("this is a SPARQL query (SELECT), sent as an update"), response.text


def test_load_is_refused_as_service_is(writable: tuple[str, Store]) -> None:
    """``LOAD <iri>`` would make this server fetch whatever the update names (a metadata address, an internal host)."""
    url, store = writable
    before = store.count_triples()
    for update in ("LOAD <http://169.254.169.254/latest/meta-data/> INTO GRAPH <urn:x>", "load silent <urn:y>"):
        response = httpx.post(url, data={"update": update}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 403, response.text
        assert "LOAD is disabled" in response.text
    assert store.count_triples() == before


def test_updates_are_403_when_no_token_is_configured() -> None:
    store = open_store("memory")
    with serve(store, update_token=None) as base_url:
        response = httpx.post(
            f"{base_url}/sparql", data={"update": INSERT_A4}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert response.status_code == 403
    assert "updates are disabled" in response.text
    assert store.count_triples() == 0


# Limits.


def test_results_past_the_cap_are_truncated_and_flagged() -> None:
    store = open_store("memory")
    fill(store)
    with serve(store, result_cap=2) as base_url:
        response = httpx.get(f"{base_url}/sparql", params={"query": LABELS})
        small = httpx.get(
            f"{base_url}/sparql", params={"query": PREFIXES + "SELECT ?n WHERE { ?s ex:articleCount ?n }"}
        )
        graph = httpx.get(
            f"{base_url}/sparql", params={"query": CONSTRUCT}, headers={"Accept": "application/n-triples"}
        )
    assert response.status_code == 200
    assert response.headers["x-obligraph-truncated"] == "true"
    assert response.headers["x-obligraph-result-cap"] == "2"
    bindings = response.json()["results"]["bindings"]
    assert [(b["s"]["value"], b["label"]["value"]) for b in bindings] == [
        (GENAI, "Interim Measures for Generative AI Services"),
        (GENAI, TITLE_ZH),
    ]
    assert "x-obligraph-truncated" not in small.headers
    assert graph.headers["x-obligraph-truncated"] == "true"
    assert len(graph.text.splitlines()) == 2


def test_a_slow_query_answers_503_naming_the_limit() -> None:
    store = open_store("memory")
    triples = " ".join(f"<urn:s{i}> <urn:p> {i} ." for i in range(4000))
    store.update(f"INSERT DATA {{ GRAPH <urn:slow> {{ {triples} }} }}")
    with serve(store, query_timeout_s=0.2) as base_url:
        started = time.monotonic()
        response = httpx.get(
            f"{base_url}/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d }"}
        )
        elapsed = time.monotonic() - started
        quick = httpx.get(f"{base_url}/sparql", params={"query": "ASK { <urn:s1> ?p 1 }"})
    assert response.status_code == 503
    assert "limit of 0.2 s" in response.text
    assert elapsed < 1.5, "the answer must not wait for the cross join of 16 million rows"
    assert quick.json()["boolean"] is True


NESTED = "SELECT ((" + "(" * 6000 + "1" + ")" * 6000 + ") AS ?x) WHERE {}"
"""12 KB that overflow pyoxigraph's parser stack: run in the server's process, it would stop the server."""


def test_a_query_that_crashes_the_parser_is_refused_and_the_server_stays_up(endpoint: str) -> None:
    crashing = httpx.post(endpoint, content=NESTED, headers={"Content-Type": "application/sparql-query"})
    by_get = httpx.get(endpoint, params={"query": NESTED})
    after = httpx.get(endpoint, params={"query": f"ASK {{ <{A17}> ?p ?o }}"})
    assert crashing.status_code == 400
    assert "too deeply for the SPARQL parser" in crashing.text
    assert by_get.status_code == 400
    assert after.status_code == 200
    assert after.json()["boolean"] is True


def test_an_update_that_crashes_the_parser_is_refused_and_changes_nothing(writable: tuple[str, Store]) -> None:
    url, store = writable
    before = store.count_triples()
    nested = "(" * 6000 + "true" + ")" * 6000
    update = f"INSERT {{ GRAPH <{Graphs.REGULATIONS}> {{ <urn:x> <urn:y> 1 }} }} WHERE {{ FILTER({nested}) }}"
    response = httpx.post(
        url, content=update, headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 400
    assert "too deeply" in response.text
    assert store.count_triples() == before


def test_a_query_the_planner_cannot_finish_answers_503_and_stops_planning() -> None:
    store = open_store("memory")
    fill(store)
    group = " ".join(f"?s{i} <urn:p> ?o{i} ." for i in range(300))  # planning is super-linear in the patterns
    with serve(store, query_timeout_s=1.0) as base_url:
        started = time.monotonic()
        response = httpx.get(f"{base_url}/sparql", params={"query": f"SELECT * WHERE {{ {group} }}"}, timeout=60)
        elapsed = time.monotonic() - started
        quick = httpx.get(f"{base_url}/sparql", params={"query": f"ASK {{ <{A17}> ?p ?o }}"})
    assert response.status_code == 503
    assert "limit of 1 s" in response.text
    assert elapsed < 10, "the planner runs in the sentinel, which is stopped at the limit"
    assert quick.json()["boolean"] is True

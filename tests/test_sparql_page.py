"""The SPARQL page a browser gets at /sparql, over real HTTP: the form, the README's examples, answers as tables whose
IRIs lead on through the graph, errors shown with the query kept, and every other client's answer unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api.app import create_app
from api.config import SparqlEndpointConfig
from api.sparql_examples import EXAMPLES
from api.sparql_page import short_name
from kg.answer_prefixes import STANDARD
from kg.build import ensure_built
from kg.store import Store, open_store
from tests.support.live_server import live_server

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
README = Path(__file__).resolve().parents[1] / "README.md"
PREFIXES = """PREFIX og:   <https://w3id.org/obligraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""


class Page(HTMLParser):
    """What a reader of the page sees: the editor's text, the error, the status line, the answer's cells (each
    with its text and the links in it), and the example links."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.editor = ""
        self.error = ""
        self.status = ""
        self.headers: list[str] = []
        self.rows: list[list[tuple[str, list[str]]]] = []
        self.examples: list[tuple[str, str]] = []
        self.saves: list[tuple[str, str]] = []
        self._in: list[str] = []
        self._section = False
        self._list = False
        self._href: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._in.append(tag)
        if tag == "section":
            self._section = True
        elif tag == "ol":
            self._list = True
        elif tag == "tr" and self._section and "tbody" in self._in:
            self.rows.append([])
        elif tag == "td" and self._section and self.rows:
            self.rows[-1].append(("", []))
        elif tag == "a":
            self._href = found.get("href")
            if self._section and "td" in self._in and self.rows and self.rows[-1] and self._href:
                self.rows[-1][-1][1].append(self._href)
        elif tag == "p" and found.get("class") == "error":
            self._in[-1] = "error"
        elif tag == "p" and found.get("class") in ("status", "boolean"):
            self._in[-1] = "status"

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()
        if tag == "section":
            self._section = False
        elif tag == "ol":
            self._list = False

    def handle_data(self, data: str) -> None:
        if "textarea" in self._in:
            self.editor += data
        elif "error" in self._in:
            self.error += data
        elif "status" in self._in:
            self.status += data
        elif self._section and "th" in self._in:
            self.headers.append(data)
        elif self._section and "td" in self._in and self.rows and self.rows[-1]:
            text, links = self.rows[-1][-1]
            self.rows[-1][-1] = (text + data, links)
        elif self._list and "a" in self._in and self._href:
            self.examples.append((data, self._href))
        elif self._section and "a" in self._in and self._href:
            self.saves.append((data, self._href))

    def cells(self) -> list[list[str]]:
        return [[" ".join(text.split()) for text, _ in row] for row in self.rows]


def query_of(href: str) -> str:
    """The query a page link runs."""
    assert href.startswith("?"), "links stay on the endpoint, wherever it is mounted"
    return parse_qs(urlsplit(href).query)["query"][0]


@pytest.fixture(scope="module")
def built() -> Iterator[Store]:
    store = open_store("memory")
    ensure_built(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def endpoint(built: Store) -> Iterator[str]:
    with live_server(create_app(built, SparqlEndpointConfig(update_token=None)), ready_path="/health") as base_url:
        yield f"{base_url}/sparql"


def browse(endpoint: str, query: str | None = None, **params: str) -> httpx.Response:
    asked = {"query": query, **params} if query is not None else params
    return httpx.get(endpoint, params=asked, headers={"Accept": BROWSER})


def test_a_browser_gets_the_page_and_every_other_client_its_answer(endpoint: str) -> None:
    page = browse(endpoint)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "script" not in page.text.lower(), "the page runs nothing"
    assert Page(page.text).editor == EXAMPLES[0].query
    described = httpx.get(endpoint)
    assert described.headers["content-type"].startswith("text/turtle"), "the service description, as before"
    assert httpx.get(endpoint, headers={"Accept": "application/rdf+xml"}).text.startswith("<?xml")
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?c }"
    for accept in (None, "*/*", "application/sparql-results+json", "application/json, text/html;q=0.5"):
        headers = {"Accept": accept} if accept else {}
        answer = httpx.get(endpoint, params={"query": count}, headers=headers)
        assert answer.headers["content-type"].startswith("application/sparql-results+json"), accept
    shown = Page(browse(endpoint, count).text)
    assert shown.headers == ["n"]
    assert int(shown.cells()[0][0].split()[0]) > 1000
    assert shown.status.startswith("1 row in ")


def test_the_examples_are_the_readmes_and_each_answers_from_its_link(endpoint: str) -> None:
    readme = re.findall(r"```sparql\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert readme == [example.query for example in EXAMPLES]
    page = Page(browse(endpoint).text)
    assert [title for title, _ in page.examples] == [example.title for example in EXAMPLES]
    for (_, href), example in zip(page.examples, EXAMPLES, strict=True):
        assert query_of(href) == example.query
        answered = httpx.get(endpoint + href, headers={"Accept": BROWSER})
        shown = Page(answered.text)
        assert answered.status_code == 200, shown.error
        assert shown.editor == example.query, "the query stays in the editor, to be changed"
        assert shown.rows, example.title


def test_an_iri_leads_to_what_it_says_and_to_what_links_to_it(endpoint: str) -> None:
    find = PREFIXES + 'SELECT ?obligation WHERE { ?obligation a og:Obligation ; skos:notation "GAI-12" }'
    found = Page(browse(endpoint, find).text)
    [[(text, [about, linking])]] = found.rows
    assert text.split()[0] == "obligation:GAI-12"

    said = Page(httpx.get(endpoint + about, headers={"Accept": BROWSER}).text)
    assert said.headers == ["predicate", "object", "graph"]
    cells = said.cells()
    assert ["rdfs:label ←", "安全评估与算法备案 @zh", "graph:regulations ←"] in cells
    assert ["skos:notation ←", "GAI-12", "graph:regulations ←"] in cells
    predicates = [row[0].split()[0] for row in cells]
    runs = [predicate for at, predicate in enumerate(predicates) if at == 0 or predicates[at - 1] != predicate]
    assert len(runs) == len(set(runs)) > 10, "grouped by predicate"
    bases = [cell[1][1] for row, cell in zip(cells, said.rows, strict=True) if row[0] == "og:hasLegalBasis ←"]
    [(article_about, article_linking)] = [links for links in bases if "genai-2023#A17>" in query_of(links[0])]
    article = Page(httpx.get(endpoint + article_about, headers={"Accept": BROWSER}).text)
    assert ["rdfs:label ←", "第十七条 @zh", "graph:regulations ←"] in article.cells()

    linked = Page(httpx.get(endpoint + article_linking, headers={"Accept": BROWSER}).text)
    assert linked.headers == ["subject", "predicate", "graph"]
    assert ["obligation:GAI-12 ←", "og:hasLegalBasis ←", "graph:regulations ←"] in (linked.cells())
    back = Page(httpx.get(endpoint + linking, headers={"Accept": BROWSER}).text)
    assert all(row[0] and row[1] for row in back.cells()), "what links to GAI-12: its shape, its violations …"
    assert any(row[1] == "og:checksObligation ←" for row in back.cells())


def test_literals_show_language_and_datatype_and_markup_is_only_text(endpoint: str) -> None:
    query = (
        'SELECT ?tagged ?number ?day ?plain ?unbound WHERE { BIND("<b>加粗</b>"@zh AS ?tagged) BIND(3 AS ?number) '
        'BIND("2026-01-01"^^<http://www.w3.org/2001/XMLSchema#date> AS ?day) BIND("</textarea><i>" AS ?plain) }'
    )
    response = browse(endpoint, query)
    page = Page(response.text)
    assert page.cells() == [["<b>加粗</b> @zh", "3 ^^xsd:integer", "2026-01-01 ^^xsd:date", "</textarea><i>", ""]]
    assert "<b>加粗" not in response.text and "&lt;b&gt;加粗" in response.text
    assert "</textarea><i>" not in response.text.split("</textarea>", 1)[1], "the editor's text cannot close it"
    assert page.editor == query


def test_refusals_are_shown_with_their_status_and_the_query_kept(endpoint: str) -> None:
    broken = "SELECT ?x WHERE { ?x ?y"
    response = browse(endpoint, broken)
    page = Page(response.text)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert page.error.startswith("malformed query: ")
    assert page.editor == broken
    assert not page.rows

    federated = browse(endpoint, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    assert federated.status_code == 403
    assert "federated queries (SERVICE) are disabled" in Page(federated.text).error

    update = browse(endpoint, update="DELETE WHERE { ?s ?p ?o }")
    assert update.status_code == 400
    assert "updates must be sent with POST" in Page(update.text).error
    assert Page(update.text).editor == EXAMPLES[0].query, "no query was given: the editor offers the first example"


def test_ask_and_graph_answers(endpoint: str) -> None:
    asked = Page(browse(endpoint, PREFIXES + 'ASK { ?o skos:notation "GAI-12" }').text)
    assert asked.status.startswith("ASK answered in ") and asked.status.endswith(":true")
    assert asked.saves == [], "one word: nothing to save"
    nothing = Page(browse(endpoint, 'SELECT ?o WHERE { ?o skos:notation "XX-99" }').text)
    assert nothing.status.startswith("0 rows in ") and nothing.saves == []
    built = Page(
        browse(endpoint, PREFIXES + "CONSTRUCT { ?o og:x ?n } WHERE { ?o skos:notation ?n ; a og:Obligation }").text
    )
    assert built.headers == ["subject", "predicate", "object"]
    assert len(built.rows) == 77
    assert built.status.startswith("77 triples in ")


def test_a_long_answer_is_cut_and_says_so(built: Store) -> None:
    with live_server(
        create_app(built, SparqlEndpointConfig(update_token=None, result_cap=5)), ready_path="/health"
    ) as base_url:
        capped = Page(browse(f"{base_url}/sparql", "SELECT * WHERE { ?s ?p ?o }").text)
    assert len(capped.rows) == 5
    assert capped.status.startswith("The first 5 rows in ")
    assert "there are more" in capped.status


def test_the_page_shows_at_most_a_thousand_rows(endpoint: str) -> None:
    page = Page(browse(endpoint, "SELECT * WHERE { ?s ?p ?o }").text)
    assert len(page.rows) == 1000
    assert page.status.startswith("The first 1,000 rows")


def test_short_names() -> None:
    og = STANDARD["og"]
    assert short_name(f"{og}Obligation", STANDARD) == "og:Obligation"
    assert short_name("https://w3id.org/obligraph/obligation/GAI-12", STANDARD) == "obligation:GAI-12"
    assert short_name("https://w3id.org/obligraph/obligation/GAI-12/penalty", STANDARD) == (
        "<https://w3id.org/obligraph/obligation/GAI-12/penalty>"
    ), "a local part with a slash is no prefixed name"
    assert short_name("urn:x", STANDARD) == "<urn:x>"
    assert short_name(f"{og}Obligation", {**STANDARD, "law": og}) == "law:Obligation", "the query's own name wins"
    assert short_name(f"{og}A.b", STANDARD) == "og:A.b"
    assert short_name(f"{og}A.", STANDARD) == f"<{og}A.>", "a local name cannot end with a dot"


def test_an_answer_is_saved_whole_in_the_format_a_link_names(endpoint: str) -> None:
    everything = "SELECT * WHERE { ?s ?p ?o }"
    page = Page(browse(endpoint, everything).text)
    assert [label for label, _ in page.saves] == ["CSV", "TSV", "SPARQL JSON", "SPARQL XML"]
    saved = httpx.get(endpoint + dict(page.saves)["CSV"], headers={"Accept": BROWSER})
    assert saved.status_code == 200 and saved.headers["content-type"].startswith("text/csv")
    assert saved.headers["content-disposition"] == 'attachment; filename="answer.csv"'
    assert set(saved.text.splitlines()[0].split(",")) == {"s", "p", "o"}
    assert len(saved.text.splitlines()) > 1001, "the whole answer, not the page's thousand rows"

    graph = Page(browse(endpoint, PREFIXES + "CONSTRUCT { ?o og:x ?n } WHERE { ?o skos:notation ?n }").text)
    assert [label for label, _ in graph.saves] == ["Turtle", "N-Triples", "RDF/XML", "JSON-LD"]
    turtle = httpx.get(endpoint + dict(graph.saves)["Turtle"], headers={"Accept": BROWSER})
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert turtle.headers["content-disposition"] == 'attachment; filename="answer.ttl"'
    assert "@prefix og: <https://w3id.org/obligraph/ontology#>" in turtle.text

    asked = httpx.get(endpoint, params={"query": everything, "download": "json"}, headers={"Accept": "text/csv"})
    assert asked.headers["content-type"].startswith("application/sparql-results+json"), "the name wins over Accept"
    wrapper = httpx.get(endpoint, params={"query": everything, "format": "json-ld", "output": "n3"})
    assert wrapper.status_code == 200 and "content-disposition" not in wrapper.headers, "SPARQLWrapper's are ignored"
    unknown = httpx.get(endpoint, params={"query": everything, "download": "xlsx"}, headers={"Accept": BROWSER})
    assert unknown.status_code == 400 and "unknown download format 'xlsx'; use one of: csv, json" in unknown.text
    twice = httpx.get(endpoint, params=[("query", everything), ("download", "csv"), ("download", "tsv")])
    assert twice.status_code == 400 and "download once" in twice.text


def test_the_usual_prefixes_need_no_declaration(endpoint: str) -> None:
    bare = "SELECT (COUNT(?o) AS ?n) WHERE { ?o a og:Obligation ; og:hasCompetentAuthority authority:CAC }"
    answer = httpx.get(endpoint, params={"query": bare})
    assert answer.status_code == 200, answer.text
    assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) > 20
    shown = Page(browse(endpoint, "SELECT ?title WHERE { obligation:GAI-12 rdfs:label ?title } ORDER BY ?title").text)
    assert shown.cells() == [["Security assessment and algorithm filing @en"], ["安全评估与算法备案 @zh"]]
    own = httpx.get(endpoint, params={"query": "PREFIX og: <urn:nothing#> ASK { ?o a og:Obligation }"})
    assert own.json()["boolean"] is False, "a query's own declaration holds"

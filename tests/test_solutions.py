"""Solutions read from the TSV serialisation (``kg.solutions``) are the terms iterating the results gives."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg import solutions

XSD = "http://www.w3.org/2001/XMLSchema#"
GRAPH = ox.NamedNode("https://example.org/graph")
SUBJECT = ox.NamedNode("https://example.org/s")

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)
languages = st.sampled_from(["en", "zh", "zh-Hans", "de-CH-1996"])
numbers = st.one_of(
    st.integers(-(10**12), 10**12).map(lambda n: ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(
        lambda d: ox.Literal(str(d), datatype=ox.NamedNode(XSD + "decimal"))
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(
        lambda f: ox.Literal(repr(f), datatype=ox.NamedNode(XSD + "double"))
    ),
    st.booleans().map(lambda b: ox.Literal(str(b).lower(), datatype=ox.NamedNode(XSD + "boolean"))),
)
objects = st.one_of(
    texts.map(ox.Literal),
    st.tuples(texts, languages).map(lambda pair: ox.Literal(pair[0], language=pair[1])),
    st.tuples(texts, st.sampled_from([XSD + "dateTime", XSD + "token", "https://example.org/type/ö"])).map(
        lambda pair: ox.Literal(pair[0], datatype=ox.NamedNode(pair[1]))
    ),
    numbers,
    st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True).map(ox.BlankNode),
    st.from_regex(r"[a-zA-Z0-9ü中]{1,12}", fullmatch=True).map(
        lambda part: ox.NamedNode(f"https://example.org/{part}")
    ),
)


def select(store: ox.Store, query: str) -> ox.QuerySolutions:
    result = store.query(query)
    assert isinstance(result, ox.QuerySolutions)
    return result


@settings(max_examples=60, deadline=None)
@given(st.lists(objects, min_size=1, max_size=12))
def test_every_term_reads_as_iterating_reads_it(terms: list[ox.NamedNode | ox.BlankNode | ox.Literal]) -> None:
    store = ox.Store()
    for number, obj in enumerate(terms):
        store.add(ox.Quad(SUBJECT, ox.NamedNode(f"https://example.org/p{number}"), obj, GRAPH))
    query = "SELECT ?p ?o ?missing WHERE { GRAPH ?g { ?s ?p ?o } }"
    iterated = [list(solution) for solution in select(store, query)]
    serialised = [[solutions.term(field) for field in row] for row in solutions.rows(select(store, query))]
    assert serialised == iterated
    assert [solutions.iri(row[0]) for row in solutions.rows(select(store, query))] == [
        row[0].value for row in iterated if isinstance(row[0], ox.NamedNode)
    ]
    assert [solutions.value(row[1]) for row in solutions.rows(select(store, query))] == [
        row[1].value for row in iterated
    ]


def test_a_query_with_no_variables_has_one_empty_solution_per_row() -> None:
    store = ox.Store()
    assert solutions.rows(select(store, "SELECT * WHERE {}")) == [[]]
    assert solutions.rows(select(store, "SELECT ?x WHERE { FILTER(false) }")) == []


def test_a_field_that_is_not_an_iri_is_refused_as_one() -> None:
    with pytest.raises(ValueError, match="not an IRI"):
        solutions.iri('"https://example.org/s"')

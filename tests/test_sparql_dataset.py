"""The dataset a query names: what the stores run it over instead of their union default graph."""

from __future__ import annotations

import pytest

from kg.sparql_dataset import Dataset, dataset_of, declares_dataset


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM <http://g> WHERE { ?s ?p ?o }", Dataset(("http://g",), ())),
        ("select * from named <http://g> where { graph ?g { ?s ?p ?o } }", Dataset((), ("http://g",))),
        (
            "PREFIX g: <https://w3id.org/obligraph/graph/>\nSELECT *\nFROM g:regulations FROM NAMED g:shapes WHERE {}",
            Dataset(("https://w3id.org/obligraph/graph/regulations",), ("https://w3id.org/obligraph/graph/shapes",)),
        ),
        ("SELECT * FROM<http://g> WHERE { ?s ?p ?o }", Dataset(("http://g",), ())),  # no space is needed
        ("SELECT * FROM # the regulations\n<http://g> WHERE {}", Dataset(("http://g",), ())),
        (
            "SELECT * FROM#c\n<http://g> FROM NAMED<http://h> FROM NAMED #c\n <http://i> WHERE {}",
            Dataset(("http://g",), ("http://h", "http://i")),
        ),
        ('SELECT * WHERE { ?s ?p "FROM <http://g>" }', None),
        ("SELECT * WHERE { ?s ?p 'from <http://g>' }", None),
        ('SELECT * WHERE { ?s ?p """a " FROM <http://g>""" }', None),
        ("SELECT * WHERE { ?s <http://x/FROM> ?o } # FROM <http://g>\n", None),
        ("SELECT ?from WHERE { ?s ex:FROM ?from }", None),
        ("SELECT * WHERE { ?s ?p ?o FILTER(?a<?b) }", None),
    ],
)
def test_the_dataset_a_query_names(query: str, expected: Dataset | None) -> None:
    assert dataset_of(query) == expected
    assert declares_dataset(query) == (expected is not None)


def test_prefixes_given_beside_the_query_expand_its_names() -> None:
    found = dataset_of("SELECT * FROM og:g WHERE {}", {"og": "https://w3id.org/obligraph/ontology#"})
    assert found == Dataset(("https://w3id.org/obligraph/ontology#g",), ())

"""The SPARQL 1.1 Service Description (https://www.w3.org/TR/sparql11-service-description/) of ``/sparql``.

The protocol asks an endpoint dereferenced with GET and no query to describe itself; query editors and federating
engines read it to learn the languages the endpoint speaks, the formats it answers in and its dataset. Ours says
that the default graph is the union of the named graphs (``sd:UnionDefaultGraph``), names each graph, and offers
SPARQL Update only when an update token is configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import pyoxigraph as ox

SD: Final = "http://www.w3.org/ns/sparql-service-description#"
FORMATS: Final = "http://www.w3.org/ns/formats/"
RDF_TYPE: Final = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_COMMENT: Final = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
RESULT_FORMATS: Final = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "RDF_XML",
    "N-Quads",
    "JSON-LD",
)
"""What ``kg.sparql_answers`` writes, named by the W3C's format IRIs."""
PREFIXES: Final = {"sd": SD, "formats": FORMATS, "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}
"""For the formats that abbreviate (Turtle, RDF/XML): a description people can read too."""


def _sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def service_description(
    endpoint: str, named_graphs: Iterable[str], *, updates: bool, federation: bool, usage: str
) -> list[ox.Triple]:
    """The description of the endpoint at ``endpoint`` (its URL), holding ``named_graphs``; ``federation``: it
    evaluates ``SERVICE`` (``sd:BasicFederatedQuery``)."""
    service, dataset, default_graph = ox.NamedNode(endpoint), ox.BlankNode(), ox.BlankNode()
    languages = ["SPARQL11Query", "SPARQL11Update"] if updates else ["SPARQL11Query"]
    triples = [
        ox.Triple(service, RDF_TYPE, _sd("Service")),
        ox.Triple(service, _sd("endpoint"), service),
        *(ox.Triple(service, _sd("supportedLanguage"), _sd(language)) for language in languages),
        *(ox.Triple(service, _sd("resultFormat"), ox.NamedNode(FORMATS + name)) for name in RESULT_FORMATS),
        ox.Triple(service, _sd("feature"), _sd("UnionDefaultGraph")),
        *([ox.Triple(service, _sd("feature"), _sd("BasicFederatedQuery"))] if federation else []),
        ox.Triple(service, RDFS_COMMENT, ox.Literal(usage, language="en")),
        ox.Triple(service, _sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, _sd("Dataset")),
        ox.Triple(dataset, _sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, _sd("Graph")),
    ]
    for graph in sorted(named_graphs):
        node = ox.BlankNode()
        triples += [
            ox.Triple(dataset, _sd("namedGraph"), node),
            ox.Triple(node, RDF_TYPE, _sd("NamedGraph")),
            ox.Triple(node, _sd("name"), ox.NamedNode(graph)),
        ]
    return triples

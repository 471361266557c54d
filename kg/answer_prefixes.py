"""The prefixes a graph answer (CONSTRUCT, DESCRIBE) is written with, so Turtle and RDF/XML read as people write them.

The query's own ``PREFIX`` declarations come first (the names its author chose, as Fuseki does), then the
vocabularies of the ontology under their usual names, and the obligations' and authorities' namespaces. Only
formats that abbreviate use them; N-Triples, N-Quads and JSON-LD are written in full either way.
"""

from __future__ import annotations

import re
from typing import Final

import pyoxigraph as ox

from kg.iris import BASE
from ontology.namespaces import AIRO, DCTERMS, DPV, ELI, ODRL2, OG, ORG, OWL, PROV, RDF, RDFS, SH, SKOS, TIME, XSD

STANDARD: Final[dict[str, str]] = {
    "og": str(OG),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "owl": str(OWL),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "prov": str(PROV),
    "odrl": str(ODRL2),
    "org": str(ORG),
    "time": str(TIME),
    "sh": str(SH),
    "eli": str(ELI),
    "dpv": str(DPV),
    "airo": str(AIRO),
    "obligation": f"{BASE}obligation/",
    "authority": f"{BASE}authority/",
}

_DECLARATION: Final = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?\s*:\s*<([^<>\"{}|^`\\\s]*)>", re.IGNORECASE)


def answer_prefixes(query: str) -> dict[str, str]:
    """The query's declared prefixes over the standard ones (an IRI pyoxigraph would refuse is skipped: this
    only abbreviates, so a declaration the regular expression misreads costs nothing but a longer name)."""
    prefixes = dict(STANDARD)
    for name, iri in _DECLARATION.findall(query):
        try:
            ox.NamedNode(iri)
        except ValueError:
            continue
        prefixes[name] = iri
    return prefixes

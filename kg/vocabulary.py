"""Codes to concepts: the ``skos:notation`` of each ontology concept, read from the ontology itself.

Events speak in codes (``text-generation``, ``finance``, ``CAC-BJ``); the graph speaks in IRIs. Reading the
mapping from the Turtle keeps one source of truth: a code the ontology lacks fails loudly here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from rdflib import URIRef

import ontology
from ontology.namespaces import OG, RDF, SKOS


@cache
def _concepts() -> Mapping[tuple[URIRef, str], URIRef]:
    graph = ontology.load_ontology()
    table: dict[tuple[URIRef, str], URIRef] = {}
    for concept in graph.subjects(RDF.type, SKOS.Concept):
        for scheme in graph.objects(concept, SKOS.inScheme):
            for notation in graph.objects(concept, SKOS.notation):
                table[(URIRef(str(scheme)), str(notation))] = URIRef(str(concept))
    return table


def concept(scheme: URIRef, notation: str) -> URIRef:
    """The concept of ``scheme`` whose notation is ``notation``; KeyError names both when there is none."""
    try:
        return _concepts()[(scheme, notation)]
    except KeyError:
        raise KeyError(f"the ontology has no concept {notation!r} in {scheme}") from None


def capability(code: str) -> URIRef:
    return concept(OG.Capabilities, code)


def sector(code: str) -> URIRef:
    return concept(OG.Sectors, code)


def evidence_kind(code: str) -> URIRef:
    return concept(OG.EvidenceKinds, code)


def outcome(code: str) -> URIRef:
    return concept(OG.AssessmentOutcomes, code)


def mechanism(code: str) -> URIRef:
    return concept(OG.TransferMechanisms, code)


def anchor(code: str) -> URIRef:
    return concept(OG.DeadlineAnchors, code)


def jurisdiction(code: str) -> URIRef:
    """``CN-BJ`` is Beijing's concept; the rest of China (``CN``, ``CN-SH`` …) is national, for now."""
    return concept(OG.Jurisdictions, "CN-BJ" if code == "CN-BJ" else "CN")

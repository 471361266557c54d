"""Nodes read whole, many at once: the batched "describe" that the dashboard readers are built on.

A dashboard asks for a few properties of many resources (an obligation's instrument, authorities, roles,
articles …). Reading every outgoing triple of a batch of IRIs in one query keeps the number of store queries
independent of how many resources a page shows (no N+1), and the typed records in ``kg.catalog`` and
``kg.compliance`` read what they need from the result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pyoxigraph as ox
from rdflib import URIRef

from kg.store import Store
from ontology.namespaces import OG, RDF, RDFS

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
Labels = Mapping[str, str]
"""Texts by language tag (``""`` for a plain literal)."""


def label_in(labels: Labels, lang: str) -> str | None:
    """The text in ``lang``; else English; else a plain literal; else any. A text with no Chinese version (a
    source's label) shows in English on a Chinese dashboard rather than not at all."""
    for key in (lang, "en", ""):
        if key in labels:
            return labels[key]
    return next(iter(labels.values()), None)


@dataclass(frozen=True)
class Node:
    """The outgoing triples of one IRI, by predicate IRI."""

    iri: str
    values: Mapping[str, tuple[Term, ...]] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return bool(self.values)

    def terms(self, predicate: URIRef) -> tuple[Term, ...]:
        return self.values.get(str(predicate), ())

    def iris(self, predicate: URIRef) -> list[str]:
        return sorted(t.value for t in self.terms(predicate) if isinstance(t, ox.NamedNode))

    def iri_of(self, predicate: URIRef) -> str | None:
        found = self.iris(predicate)
        return found[0] if found else None

    def types(self) -> set[str]:
        return set(self.iris(RDF.type))

    def identifier(self) -> str | None:
        """The id events use for it (organisation, system or transfer id)."""
        return self.text(OG.identifier)

    def comments(self) -> dict[str, str]:
        return self.labels(RDFS.comment)

    def texts(self, predicate: URIRef) -> list[str]:
        return sorted(t.value for t in self.terms(predicate) if isinstance(t, ox.Literal))

    def text(self, predicate: URIRef) -> str | None:
        found = self.texts(predicate)
        return found[0] if found else None

    def labels(self, predicate: URIRef = RDFS.label) -> dict[str, str]:
        found: dict[str, str] = {}
        for term in self.terms(predicate):
            if isinstance(term, ox.Literal):
                found.setdefault(term.language or "", term.value)
        return found

    def date(self, predicate: URIRef) -> date | None:
        text = self.text(predicate)
        return date.fromisoformat(text[:10]) if text else None

    def datetime(self, predicate: URIRef) -> datetime | None:
        text = self.text(predicate)
        return datetime.fromisoformat(text) if text else None

    def boolean(self, predicate: URIRef) -> bool | None:
        text = self.text(predicate)
        return None if text is None else text in {"true", "1"}

    def integer(self, predicate: URIRef) -> int | None:
        text = self.text(predicate)
        return None if text is None else int(text)

    def decimal(self, predicate: URIRef) -> Decimal | None:
        text = self.text(predicate)
        return None if text is None else Decimal(text)


def describe(store: Store, iris: Iterable[str], graph: str | None = None) -> dict[str, Node]:
    """Every outgoing triple of each IRI (in ``graph``, or in any named graph), in one read.

    IRIs the store knows nothing about come back as empty nodes (``exists`` is false).
    """
    wanted = sorted(set(iris))
    if not wanted:
        return {}
    found = _nodes_of(store.outgoing(wanted, graph))
    return {iri: found.get(iri, Node(iri)) for iri in wanted}


def describe_graphs(store: Store, graphs: Iterable[str]) -> dict[str, Node]:
    """Every IRI subject of the named graphs with its outgoing triples there, in one query (for small graphs:
    the regulation, ontology and shapes graphs are a few thousand triples)."""
    values = " ".join(f"<{graph}>" for graph in sorted(set(graphs)))
    return _nodes(store.select(f"SELECT ?s ?p ?o WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}"))


def _nodes(rows: Iterable[Mapping[str, Term]]) -> dict[str, Node]:
    triples = []
    for row in rows:
        subject, predicate, obj = row["s"], row["p"], row["o"]
        if not isinstance(subject, ox.NamedNode):
            continue  # blank nodes (OWL restrictions, lists) are no dashboard resource
        assert isinstance(predicate, ox.NamedNode)
        triples.append((subject.value, predicate.value, obj))
    return _nodes_of(triples)


def _nodes_of(triples: Iterable[tuple[str, str, Term]]) -> dict[str, Node]:
    found: dict[str, dict[str, list[Term]]] = defaultdict(lambda: defaultdict(list))
    for subject, predicate, obj in triples:
        terms = found[subject][predicate]
        if obj not in terms:  # the union of named graphs may repeat a triple
            terms.append(obj)
    return {iri: Node(iri, {p: tuple(ts) for p, ts in values.items()}) for iri, values in found.items()}

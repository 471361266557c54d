"""The regulation catalogue as GraphQL types: obligations, instruments, articles, authorities, concepts.

The catalogue changes only on a rebuild, so it is built once per build fingerprint (``kg.catalog.FixedCache``)
as a graph of plain objects: an obligation holds its instrument, articles and authorities, not their IRIs.
A query walks attributes (graphql-core's cheap path) instead of calling a resolver, a loader and an awaitable
per field; only labels, which take a ``lang`` argument, are resolvers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, Final, TypeVar

import strawberry

from kg.catalog import (
    ArticleRecord,
    AuthorityRecord,
    ConceptRecord,
    DurationRecord,
    FixedCache,
    InstrumentRecord,
    ObligationRecord,
    PenaltyRecord,
    SourceRecord,
    TimingRecord,
)
from kg.compliance import APPLICABILITY
from kg.nodes import Labels, Node, label_in
from kg.store import Store

T = TypeVar("T")


@strawberry.enum(description="The language of a label. Where the graph has no text in it, English is given.")
class Lang(Enum):
    EN = "en"
    ZH = "zh"


LABELS: Final = "obligraph.labels"
"""Field metadata naming the attribute a label field reads (``execution.PlainLeafExecutor`` reads it directly)."""


def in_language(attribute: str, *, description: str | None = None) -> Any:
    """A label field with a ``lang`` argument, reading the texts by language held in ``attribute``."""

    def resolve(root: Any, lang: Lang = Lang.EN) -> str | None:
        return label_in(getattr(root, attribute), lang.value)

    return strawberry.field(resolver=resolve, description=description, metadata={LABELS: attribute})


@strawberry.type(description="A concept of the ontology: a role, sector, lifecycle stage, risk subdomain, status …")
class Concept:
    iri: str
    notation: str | None = strawberry.field(description="The code events and filters use (skos:notation).")
    labels: strawberry.Private[Labels]
    definitions: strawberry.Private[Labels]
    label: str | None = in_language("labels")
    definition: str | None = in_language("definitions")


@strawberry.type(description="A competent, issuing or filing authority.")
class Authority:
    iri: str
    code: str = strawberry.field(description="Its code, such as CAC or CAC-BJ.")
    names: strawberry.Private[Labels]
    name: str | None = in_language("names")
    level: str | None = strawberry.field(description="national, municipal …")
    description: str | None


@strawberry.type(description="Where a statement comes from: a key of kg/reference/SOURCES.md.")
class Source:
    key: str
    labels: strawberry.Private[Labels]
    label: str | None = in_language("labels")
    description: str | None


@strawberry.type(description="A law, regulation, standard or policy document.")
class Instrument:
    iri: str
    id: str = strawberry.field(description="Its reference id, such as CN-GENAI-2023.")
    short_name: str | None
    titles: strawberry.Private[Labels]
    title: str | None = in_language("titles")
    document_number: str | None
    instrument_type: str | None
    status: Concept | None = strawberry.field(
        description="in force, draft, unverified, published guidance, issued policy."
    )
    status_text: str | None = strawberry.field(description="The status as the reference words it.")
    binding_force: Concept | None
    adopted_on: date | None
    promulgated_on: date | None
    effective_on: date | None
    issuers: list[Authority]
    sectors: list[Concept]
    jurisdiction: Concept | None
    confidence: Concept | None
    official_urls: list[str]
    sources: list[Source]


@strawberry.type(description="An article (or part, section, paragraph) of an instrument: a legal basis.")
class Article:
    iri: str
    number: str | None = strawberry.field(description="Such as 17, 4(1), 24 para 1.")
    labels: strawberry.Private[Labels]
    label: str | None = in_language("labels", description="Art. 17 / 第十七条.")
    notes: list[str]
    instrument: Instrument | None


@strawberry.type
class Penalty:
    text: str | None
    minimum_fine_cny: Decimal | None = strawberry.field(description="The RMB range, when the text states exactly one.")
    maximum_fine_cny: Decimal | None


@strawberry.type(description="A deadline relative to an anchor, or a periodicity.")
class Timing:
    labels: strawberry.Private[Labels]
    label: str | None = in_language("labels")
    anchor: Concept | None = strawberry.field(
        description="What the deadline runs from (service launch, threshold reached …)."
    )
    counted_in: Concept | None = strawberry.field(description="Working days or calendar days.")
    amount: Decimal | None
    unit: str | None = strawberry.field(description="unitDay, unitMonth, unitYear …")


@strawberry.type
class Deadline:
    text: str | None
    rules: list[Timing]


@strawberry.type(description="One obligation record (a duty, prohibition or permission) of the regulation graph.")
class Obligation:
    id: strawberry.ID = strawberry.field(description="The reference id, such as GAI-08.")
    iri: str
    titles: strawberry.Private[Labels]
    title: str | None = in_language("titles", description="A short title (the id is not part of it).")
    deontic_kind: Concept | None
    instrument: Instrument | None
    articles: list[Article] = strawberry.field(description="Its legal basis: only the articles the reference names.")
    article_reference: str | None = strawberry.field(description="The article reference as the reference words it.")
    roles_bound: list[Concept] = strawberry.field(description="The roles it binds.")
    authorities: list[Authority] = strawberry.field(description="Its competent authorities.")
    penalty: Penalty | None
    deadline: Deadline
    confidence: Concept | None = strawberry.field(
        description="high: article text read; medium: secondary sources; low: inferred or unverified."
    )
    sources: list[Source]
    risk_subdomains: list[Concept] = strawberry.field(
        description="MIT AI Risk Repository subdomains it addresses: obligraph's editorial classification (source "
        "OG-RISK, confidence low), not a statement of the law; empty where it is unmapped."
    )
    lifecycle_stages: list[Concept] = strawberry.field(description="OECD AI system lifecycle stages.")
    binding_force: Concept | None
    binding_force_text: str | None
    machine_checkable: bool = strawberry.field(description="Whether a shape checks it, so events can evidence it.")
    trigger: str | None
    action: str | None
    evidence: str | None


class Catalogue:
    """The fixed graphs (ontology, regulations, shapes) as GraphQL objects, each built once and shared.

    Objects are made on first use and memoised by IRI; an IRI the fixed graphs do not describe gives None
    (and is left out of lists), as a missing node did before."""

    def __init__(self, nodes: Mapping[str, Node]) -> None:
        self.nodes = nodes
        self._made: dict[tuple[str, str], Any] = {}

    def made(self, kind: str, iri: str | None, make: Callable[[Node], T]) -> T | None:
        """``make(node)`` for the node of ``iri``, once per catalogue (the objects are immutable in use)."""
        if iri is None:
            return None
        key = (kind, iri)
        found = self._made.get(key)
        if found is None:
            node = self.nodes.get(iri)
            if node is None:
                return None
            found = self._made[key] = make(node)
        return found

    def every(self, kind: str, iris: Iterable[str], make: Callable[[Node], T]) -> list[T]:
        return [found for iri in iris if (found := self.made(kind, iri, make)) is not None]

    def concept(self, iri: str | None) -> Concept | None:
        return self.made("concept", iri, _concept)

    def concepts(self, iris: Iterable[str]) -> list[Concept]:
        return self.every("concept", iris, _concept)

    def authority(self, iri: str | None) -> Authority | None:
        return self.made("authority", iri, _authority)

    def authorities(self, iris: Iterable[str]) -> list[Authority]:
        return self.every("authority", iris, _authority)

    def instrument(self, iri: str | None) -> Instrument | None:
        return self.made("instrument", iri, self._instrument)

    def instruments(self, iris: Iterable[str]) -> list[Instrument]:
        return self.every("instrument", iris, self._instrument)

    def articles(self, iris: Iterable[str]) -> list[Article]:
        return self.every("article", iris, self._article)

    def penalty(self, iri: str | None) -> Penalty | None:
        return self.made("penalty", iri, _penalty)

    def obligation(self, iri: str | None) -> Obligation | None:
        return self.made("obligation", iri, self._obligation)

    def obligations(self, iris: Iterable[str]) -> list[Obligation]:
        return self.every("obligation", iris, self._obligation)

    def _sources(self, iris: Iterable[str]) -> list[Source]:
        return self.every("source", iris, _source)

    def _instrument(self, node: Node) -> Instrument:
        record = InstrumentRecord.of(node)
        return Instrument(
            iri=record.iri,
            id=record.id,
            short_name=record.short_name,
            titles=record.titles,
            document_number=record.document_number,
            instrument_type=record.instrument_type,
            status=self.concept(record.status),
            status_text=record.status_text,
            binding_force=self.concept(record.binding_force),
            adopted_on=record.adopted_on,
            promulgated_on=record.promulgated_on,
            effective_on=record.effective_on,
            issuers=self.authorities(record.issuers),
            sectors=self.concepts(record.sectors),
            jurisdiction=self.concept(record.jurisdiction),
            confidence=self.concept(record.confidence),
            official_urls=list(record.official_urls),
            sources=self._sources(record.sources),
        )

    def _article(self, node: Node) -> Article:
        record = ArticleRecord.of(node)
        return Article(
            iri=record.iri,
            number=record.number,
            labels=record.labels,
            notes=list(record.notes),
            instrument=self.instrument(record.instrument),
        )

    def _timing(self, node: Node) -> Timing:
        record = TimingRecord.of(node)
        duration = self.made("duration", record.duration, DurationRecord.of)
        return Timing(
            labels=record.labels,
            anchor=self.concept(record.anchor),
            counted_in=self.concept(record.counted_in),
            amount=duration.amount if duration else None,
            unit=duration.unit if duration else None,
        )

    def _obligation(self, node: Node) -> Obligation:
        record = ObligationRecord.of(node)
        timings = [*record.deadlines, *([record.periodicity] if record.periodicity else [])]
        return Obligation(
            id=strawberry.ID(record.id),
            iri=record.iri,
            titles=record.titles,
            deontic_kind=self.concept(record.deontic_kind),
            instrument=self.instrument(record.instrument),
            articles=self.articles(record.articles),
            article_reference=record.article_reference,
            roles_bound=self.concepts(record.roles),
            authorities=self.authorities(record.authorities),
            penalty=self.penalty(record.penalty),
            deadline=Deadline(text=record.deadline_text, rules=self.every("timing", timings, self._timing)),
            confidence=self.concept(record.confidence),
            sources=self._sources(record.sources),
            risk_subdomains=self.concepts(record.risk_subdomains),
            lifecycle_stages=self.concepts(record.lifecycle_stages),
            binding_force=self.concept(record.binding_force),
            binding_force_text=record.binding_force_text,
            machine_checkable=record.machine_checkable,
            trigger=record.trigger,
            action=record.action,
            evidence=record.evidence,
        )


def _concept(node: Node) -> Concept:
    record = ConceptRecord.of(node)
    return Concept(iri=record.iri, notation=record.notation, labels=record.labels, definitions=record.definitions)


def _authority(node: Node) -> Authority:
    record = AuthorityRecord.of(node)
    return Authority(
        iri=record.iri, code=record.code, names=record.names, level=record.level, description=record.description
    )


def _source(node: Node) -> Source:
    record = SourceRecord.of(node)
    return Source(key=record.key, labels=record.labels, description=record.description)


def _penalty(node: Node) -> Penalty:
    record = PenaltyRecord.of(node)
    return Penalty(text=record.text, minimum_fine_cny=record.minimum_fine_cny, maximum_fine_cny=record.maximum_fine_cny)


CATALOGUE: FixedCache[Catalogue] = FixedCache(Catalogue)
"""The process's catalogue: ``CATALOGUE.get(store)`` (blocking) checks the build fingerprint, rebuilds on change."""


def read_the_law(store: Store) -> None:
    """Read the fixed graphs into the catalogue and the applicability index (``kg.compliance.APPLICABILITY``) now,
    at start-up, so the first dashboard does not wait for them (measured at 100,000 organisations on disk: 111 and
    96 ms) and ``obligraph.heap.settle_heap`` keeps them out of the collector's scans. Blocking."""
    CATALOGUE.get(store)
    APPLICABILITY.get(store)

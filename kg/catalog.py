"""The regulation catalogue as a dashboard reads it: obligations (filtered, paged in the store), instruments,
authorities, sectors and the concepts they point at.

Everything here is read from the regulation and ontology graphs (``kg.regulations`` builds them from the
reference data); nothing about the law is written in this module. Pages are cut by the store (``ORDER BY``
the obligation's reference id, ``LIMIT``, keyset ``after``), and records are built from nodes read in
batches (``kg.nodes.describe``), so a page costs the same few queries whatever its size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Final, Generic, TypeVar

import pyoxigraph as ox
from rdflib import Literal as Lit

from kg import iris as iri_names
from kg.iris import Graphs
from kg.nodes import Labels, Node, describe_graphs
from kg.store import Store
from ontology import OG_NS
from ontology.namespaces import DCTERMS, OG, RDFS, SKOS, TIME, XSD

PREFIXES: Final = (
    f"PREFIX og: <{OG_NS}> PREFIX skos: <{SKOS}> PREFIX rdfs: <{RDFS}> PREFIX dcterms: <{DCTERMS}> PREFIX xsd: <{XSD}> "
)

IN_EFFECT: Final = "(?effective <= {day} && ?instrumentStatus != og:StatusDraft)"
"""When an instrument's obligations count, as the obligation shapes test it: effective on or before the day
and not a draft (``shapes/obligations/*.ttl``)."""


# Step 1. Records: typed views of the nodes a dashboard shows.


@dataclass(frozen=True)
class ConceptRecord:
    """A SKOS concept or role class: sector, role, stage, binding force, confidence, status, risk subdomain …"""

    iri: str
    notation: str | None
    labels: Labels
    definitions: Labels

    @classmethod
    def of(cls, node: Node) -> ConceptRecord:
        return cls(node.iri, node.text(SKOS.notation), node.labels(), node.labels(SKOS.definition))


@dataclass(frozen=True)
class ObligationRecord:
    iri: str
    id: str
    titles: Labels
    deontic_kind: str | None
    instrument: str | None
    articles: tuple[str, ...]
    article_reference: str | None
    roles: tuple[str, ...]
    authorities: tuple[str, ...]
    penalty: str | None
    deadline_text: str | None
    deadlines: tuple[str, ...]
    periodicity: str | None
    confidence: str | None
    sources: tuple[str, ...]
    risk_subdomains: tuple[str, ...]
    lifecycle_stages: tuple[str, ...]
    binding_force: str | None
    binding_force_text: str | None
    machine_checkable: bool
    trigger: str | None
    action: str | None
    evidence: str | None

    @classmethod
    def of(cls, node: Node) -> ObligationRecord:
        return cls(
            iri=node.iri,
            id=node.text(SKOS.notation) or node.iri.rsplit("/", 1)[-1],
            titles=node.labels(),
            deontic_kind=node.iri_of(OG.hasDeonticKind),
            instrument=node.iri_of(OG.hasInstrument),
            articles=tuple(node.iris(OG.hasLegalBasis)),
            article_reference=node.text(OG.articleReference),
            roles=tuple(node.iris(OG.bindsRole)),
            authorities=tuple(node.iris(OG.hasCompetentAuthority)),
            penalty=node.iri_of(OG.hasPenalty),
            deadline_text=node.text(OG.deadlineText),
            deadlines=tuple(node.iris(OG.hasDeadline)),
            periodicity=node.iri_of(OG.hasPeriodicity),
            confidence=node.iri_of(OG.hasConfidence),
            sources=tuple(node.iris(OG.hasSource)),
            risk_subdomains=tuple(node.iris(OG.hasRiskSubdomain)),
            lifecycle_stages=tuple(node.iris(OG.hasLifecycleStage)),
            binding_force=node.iri_of(OG.hasBindingForce),
            binding_force_text=node.text(OG.bindingForceText),
            machine_checkable=bool(node.boolean(OG.isMachineCheckable)),
            trigger=node.text(OG.triggerText),
            action=node.text(OG.actionText),
            evidence=node.text(OG.evidenceText),
        )


@dataclass(frozen=True)
class InstrumentRecord:
    iri: str
    id: str
    short_name: str | None
    titles: Labels
    document_number: str | None
    instrument_type: str | None
    status: str | None
    status_text: str | None
    binding_force: str | None
    adopted_on: date | None
    promulgated_on: date | None
    effective_on: date | None
    issuers: tuple[str, ...]
    sectors: tuple[str, ...]
    jurisdiction: str | None
    confidence: str | None
    official_urls: tuple[str, ...]
    sources: tuple[str, ...]
    risk_subdomains: tuple[str, ...]

    @classmethod
    def of(cls, node: Node) -> InstrumentRecord:
        return cls(
            iri=node.iri,
            id=node.text(DCTERMS.identifier) or node.iri,
            short_name=node.text(OG.shortName),
            titles=node.labels(),
            document_number=node.text(OG.documentNumber),
            instrument_type=node.text(OG.instrumentType),
            status=node.iri_of(OG.hasInstrumentStatus),
            status_text=node.text(OG.statusText),
            binding_force=node.iri_of(OG.hasBindingForce),
            adopted_on=node.date(OG.adoptedOn),
            promulgated_on=node.date(OG.promulgatedOn),
            effective_on=node.date(OG.effectiveOn),
            issuers=tuple(node.iris(OG.isIssuedBy)),
            sectors=tuple(node.iris(OG.hasSector)),
            jurisdiction=node.iri_of(OG.hasJurisdiction),
            confidence=node.iri_of(OG.hasConfidence),
            official_urls=tuple(node.texts(OG.officialUrl)),
            sources=tuple(node.iris(OG.hasSource)),
            risk_subdomains=tuple(node.iris(OG.hasRiskSubdomain)),
        )


@dataclass(frozen=True)
class AuthorityRecord:
    iri: str
    code: str
    names: Labels
    level: str | None
    description: str | None

    @classmethod
    def of(cls, node: Node) -> AuthorityRecord:
        return cls(
            node.iri,
            node.text(SKOS.notation) or node.iri.rsplit("/", 1)[-1],
            node.labels(),
            node.text(OG.level),
            node.labels(SKOS.definition).get("en"),
        )


@dataclass(frozen=True)
class ArticleRecord:
    iri: str
    number: str | None
    labels: Labels
    instrument: str | None
    notes: tuple[str, ...]

    @classmethod
    def of(cls, node: Node) -> ArticleRecord:
        return cls(
            node.iri,
            node.text(OG.articleNumber),
            node.labels(),
            node.iri_of(OG.isArticleOf),
            tuple(node.texts(SKOS.note)),
        )


@dataclass(frozen=True)
class PenaltyRecord:
    iri: str
    text: str | None
    minimum_fine_cny: Decimal | None
    maximum_fine_cny: Decimal | None

    @classmethod
    def of(cls, node: Node) -> PenaltyRecord:
        fines = node.decimal(OG.minimumFineCNY), node.decimal(OG.maximumFineCNY)
        return cls(node.iri, node.text(OG.penaltyText), *fines)


@dataclass(frozen=True)
class TimingRecord:
    """A deadline (relative to an anchor) or a periodicity; its amount lives on a ``time:Duration`` node."""

    iri: str
    labels: Labels
    anchor: str | None
    counted_in: str | None
    duration: str | None

    @classmethod
    def of(cls, node: Node) -> TimingRecord:
        return cls(
            node.iri,
            node.labels(),
            node.iri_of(OG.isRelativeTo),
            node.iri_of(OG.isCountedIn),
            node.iri_of(OG.hasDuration),
        )


@dataclass(frozen=True)
class DurationRecord:
    iri: str
    amount: Decimal | None
    unit: str | None

    @classmethod
    def of(cls, node: Node) -> DurationRecord:
        unit = node.iri_of(TIME.unitType)
        return cls(node.iri, node.decimal(TIME.numericDuration), unit.rsplit("#", 1)[-1] if unit else None)


@dataclass(frozen=True)
class SourceRecord:
    iri: str
    key: str
    labels: Labels
    description: str | None

    @classmethod
    def of(cls, node: Node) -> SourceRecord:
        return cls(node.iri, node.text(DCTERMS.identifier) or node.iri, node.labels(), node.text(DCTERMS.description))


# Step 2. Filters: codes as the graph spells them, checked against the graph before a page is cut.


class UnknownCodeError(ValueError):
    """A filter names a code the graph does not hold; ``field`` says which filter."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: the graph holds no {field} with code {code!r}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class ObligationFilter:
    """Every given criterion must hold. Codes: instrument id or short name (``CN-GENAI-2023``, ``PIPL``), role
    notation (``genai_service_provider``: obligations binding it or a broader role), sector notation (``finance``:
    obligations of instruments linked to the sector), authority code (``CAC``), risk subdomain or domain notation
    (``3.1``), binding force notation (``binding``)."""

    instrument: str | None = None
    role: str | None = None
    sector: str | None = None
    authority: str | None = None
    in_force_on: date | None = None
    risk_subdomain: str | None = None
    binding_force: str | None = None
    text: str | None = None


_CODE_PATTERNS: Final[Mapping[str, str]] = {
    "instrument": "?x a og:Instrument . { ?x dcterms:identifier ?code } UNION { ?x og:shortName ?code }",
    "role": "?x skos:notation ?code ; rdfs:subClassOf ?broader .",
    "sector": "?x skos:inScheme og:Sectors ; skos:notation ?code .",
    "authority": "?x a og:Authority ; skos:notation ?code .",
    "risk_subdomain": "?x skos:inScheme og:AIRiskTaxonomy ; skos:notation ?code .",
    "binding_force": "?x skos:inScheme og:BindingForces ; skos:notation ?code .",
}


_TEXT_SOURCES: Final = (
    "{ VALUES ?textProperty { skos:notation rdfs:label og:actionText og:triggerText og:evidenceText "
    "og:articleReference og:deadlineText } ?o ?textProperty ?text } "
    "UNION { ?o og:hasInstrument ?textInstrument . VALUES ?instrumentText { rdfs:label og:shortName } "
    "?textInstrument ?instrumentText ?text } "
    "UNION { ?o og:hasLegalBasis/rdfs:label ?text } "
    "UNION { ?o og:hasCompetentAuthority/skos:prefLabel ?text }"
)
"""Where the free text is looked for: the obligation's id, its titles (English and Chinese) and its own texts
(English), and, in English and Chinese, its instrument's titles and short name, its articles' labels
(``第二十四条``) and its authorities' names, so a search in Chinese (``数据安全法``, ``算法备案``, ``网信``) finds
what the English texts would not."""


def _string(text: str) -> str:
    return Lit(text).n3()


def _day(day: date) -> str:
    return Lit(day.isoformat(), datatype=XSD.date).n3()


def resolve_codes(store: Store, codes: Mapping[str, str]) -> dict[str, str]:
    """The IRI of each ``{filter: code}``, in one query; raises ``UnknownCodeError`` for the first it lacks."""
    if not codes:
        return {}
    branches = " UNION ".join(
        f"{{ BIND({_string(kind)} AS ?kind) BIND({_string(code)} AS ?code) {_CODE_PATTERNS[kind]} }}"
        for kind, code in sorted(codes.items())
    )
    rows = store.select(f"{PREFIXES}SELECT DISTINCT ?kind ?x WHERE {{ {branches} }}")
    found = {_value(row["kind"]): _value(row["x"]) for row in rows}
    for kind, code in sorted(codes.items()):
        if kind not in found:
            raise UnknownCodeError(kind, code)
    return found


def _filter_patterns(store: Store, criteria: ObligationFilter) -> str:
    codes = {
        f.name: value
        for f in fields(criteria)
        if f.name in _CODE_PATTERNS and isinstance(value := getattr(criteria, f.name), str)
    }
    iris = resolve_codes(store, codes)
    patterns = []
    if "instrument" in iris:
        patterns.append(f"?o og:hasInstrument <{iris['instrument']}> .")
    if "role" in iris:
        patterns.append(f"<{iris['role']}> rdfs:subClassOf* ?boundRole . ?o og:bindsRole ?boundRole .")
    if "sector" in iris:
        patterns.append(f"?o og:hasInstrument/og:hasSector <{iris['sector']}> .")
    if "authority" in iris:
        patterns.append(f"?o og:hasCompetentAuthority <{iris['authority']}> .")
    if "risk_subdomain" in iris:
        patterns.append(
            "{ ?o og:hasRiskSubdomain ?risk } UNION { ?o og:hasInstrument/og:hasRiskSubdomain ?risk } "
            f"?risk skos:broader* <{iris['risk_subdomain']}> ."
        )
    if "binding_force" in iris:
        patterns.append(f"?o og:hasBindingForce <{iris['binding_force']}> .")
    if criteria.in_force_on is not None:
        patterns.append(
            "?o og:hasInstrument ?inForce . ?inForce og:effectiveOn ?effective ; og:hasInstrumentStatus "
            f"?instrumentStatus . FILTER{IN_EFFECT.format(day=_day(criteria.in_force_on))}"
        )
    if criteria.text is not None and criteria.text.strip():  # blank: no filter, as empty is; edges are not searched
        needle = f"CONTAINS(LCASE(STR(?text)), LCASE({_string(criteria.text.strip())}))"
        patterns.append(f"{{ SELECT DISTINCT ?o WHERE {{ {_TEXT_SOURCES} FILTER({needle}) }} }}")
    return " ".join(patterns)


# Step 3. Pages and lists, cut in the store.


def obligation_page(store: Store, criteria: ObligationFilter, *, after: str | None, limit: int) -> list[str]:
    """The IRIs of up to ``limit`` obligations matching ``criteria``, by reference id, after id ``after``."""
    keyset = f"FILTER(STR(?id) > {_string(after)})" if after is not None else ""
    rows = store.select(
        f"{PREFIXES}SELECT DISTINCT ?o ?id WHERE {{ GRAPH <{Graphs.REGULATIONS}> {{ ?o a og:Obligation ; "
        f"skos:notation ?id }} {_filter_patterns(store, criteria)} {keyset} }} ORDER BY STR(?id) LIMIT {int(limit)}"
    )
    return [_value(row["o"]) for row in rows]


def obligation_count(store: Store, criteria: ObligationFilter) -> int:
    rows = store.select(
        f"{PREFIXES}SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE {{ GRAPH <{Graphs.REGULATIONS}> {{ ?o a og:Obligation }} "
        f"{_filter_patterns(store, criteria)} }}"
    )
    return int(_value(rows[0]["n"]))


def obligation_by_id(store: Store, obligation_id: str) -> str | None:
    rows = store.select(
        f"{PREFIXES}SELECT ?o WHERE {{ GRAPH <{Graphs.REGULATIONS}> {{ ?o a og:Obligation ; "
        f"skos:notation {_string(obligation_id)} }} }} LIMIT 1"
    )
    return _value(rows[0]["o"]) if rows else None


def _iris(store: Store, pattern: str, order: str) -> list[str]:
    rows = store.select(f"{PREFIXES}SELECT DISTINCT ?x ?key WHERE {{ {pattern} }} ORDER BY {order}")
    return [_value(row["x"]) for row in rows]


def instruments(store: Store) -> list[str]:
    """Every instrument, by id."""
    return _iris(store, f"GRAPH <{Graphs.REGULATIONS}> {{ ?x a og:Instrument ; dcterms:identifier ?key }}", "?key")


def authorities(store: Store) -> list[str]:
    """Every authority, by code."""
    return _iris(store, f"GRAPH <{Graphs.REGULATIONS}> {{ ?x a og:Authority ; skos:notation ?key }}", "?key")


def sectors(store: Store) -> list[str]:
    """Every sector concept of the ontology, by notation."""
    return _iris(store, "?x skos:inScheme og:Sectors ; skos:notation ?key", "?key")


def find_instrument(store: Store, code: str) -> str | None:
    try:
        return resolve_codes(store, {"instrument": code})["instrument"]
    except UnknownCodeError:
        return None


def find_authority(store: Store, code: str) -> str | None:
    try:
        return resolve_codes(store, {"authority": code})["authority"]
    except UnknownCodeError:
        return None


# Step 4. The fixed part (ontology, regulations, shapes), read once per build.

FIXED_GRAPHS: Final = (Graphs.ONTOLOGY, Graphs.REGULATIONS, Graphs.SHAPES)
"""What only a rebuild (``kg.build.ensure_built``) changes; the build fingerprint names its content."""

T = TypeVar("T")


def build_fingerprint(store: Store) -> str | None:
    """The fingerprint of the build the store holds (``kg.build``), or None when it was not built that way."""
    found = store.outgoing([str(iri_names.build_record())], Graphs.META, str(iri_names.build_fingerprint_predicate()))
    return min(term.value for _, _, term in found) if found else None


class Unread(Enum):
    """The fingerprint not read yet (None is a store without one)."""

    UNREAD = "unread"


UNREAD: Final = Unread.UNREAD


class PerBuild(Generic[T]):
    """One value kept per build fingerprint: the latest build's, made again when the fingerprint changes; never
    kept for a store without a fingerprint. Thread-safe: made once however many threads ask at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[str, T] | None = None

    def get(self, fingerprint: str | None, make: Callable[[], T]) -> T:
        current = self._current
        if fingerprint is not None and current is not None and current[0] == fingerprint:
            return current[1]
        with self._lock:
            current = self._current
            if fingerprint is not None and current is not None and current[0] == fingerprint:
                return current[1]
            value = make()
            if fingerprint is not None:
                self._current = (fingerprint, value)
            return value


_FIXED_NODES: Final[PerBuild[Mapping[str, Node]]] = PerBuild()
"""The nodes of the fixed graphs of the latest build read, shared by every ``FixedCache``: reading them is most of
what making a cached value costs (at 100,000 organisations on disk: ~90–160 ms to read, 6 ms to make the
applicability index from them), and the catalogue and the applicability index are made from the same build."""


class FixedCache(Generic[T]):
    """A value made from the nodes of the fixed graphs, kept for the life of the process and remade when the
    store's build fingerprint changes: a dashboard shows the same obligations, articles and authorities on every
    request, and reading them costs more than everything else it asks.

    ``get`` costs one small query (the fingerprint), or none when given it, while the build is unchanged; a store
    without a fingerprint is read afresh every time. The nodes are read once per build for all caches
    (``_FIXED_NODES``). Blocking: call it from a worker thread."""

    def __init__(self, make: Callable[[Mapping[str, Node]], T]) -> None:
        self._make = make
        self._latest: PerBuild[T] = PerBuild()

    def get(self, store: Store, fingerprint: str | Unread | None = UNREAD) -> T:
        """The value for the store's build; ``fingerprint`` when the caller has read it already
        (``kg.compliance.OrganisationReads.fingerprint``: a dashboard's reads share one)."""
        if isinstance(fingerprint, Unread):
            fingerprint = build_fingerprint(store)

        def nodes() -> Mapping[str, Node]:
            return _FIXED_NODES.get(fingerprint, lambda: describe_graphs(store, FIXED_GRAPHS))

        return self._latest.get(fingerprint, lambda: self._make(nodes()))


def _value(term: object) -> str:
    assert isinstance(term, ox.NamedNode | ox.Literal), term
    return term.value

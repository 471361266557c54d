"""The vendored reference data (``kg/reference/``) as typed, frozen records.

Everything the regulation graph says about the law comes from these files, so a bad record fails here, at
load time, with the file and the record named, rather than as a missing triple later. One file says nothing
about the law: ``risk_subdomains.yaml``, obligraph's editorial classification against the MIT AI Risk Repository
taxonomy, which the graph carries with its own source and confidence. The project reads
only ``kg/reference/``, never the shared workspace it was copied from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import ontology
from ontology.namespaces import OG, SKOS

REFERENCE_DIR = Path(__file__).parent / "reference"

Confidence = Literal["high", "medium", "low"]
DeonticType = Literal["obligation", "prohibition", "permission"]
NonEmpty = Annotated[tuple[str, ...], Field(min_length=1)]


class ReferenceDataError(ValueError):
    """A reference file or record is broken; the message names the file and the record."""

    def __init__(self, file: str, record: str | None, problem: str) -> None:
        where = f"{file}, record {record!r}" if record else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.record = record


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Amendment(_Record):
    date_adopted: str
    body: str
    effective_date: str | None = None
    summary: str
    confidence: Confidence
    sources: NonEmpty


class Instrument(_Record):
    id: str
    name_en: str
    name_zh: str | None
    short_name: str
    catalogue_role: str
    instrument_type: str
    issuing_body: NonEmpty
    drafting_body: tuple[str, ...] = ()
    document_number: str | None
    adopted_date: str | None
    promulgation_date: str | None
    effective_date: str | None
    amendments: tuple[Amendment, ...] = ()
    status: str
    binding_force: str
    jurisdiction_level: str
    jurisdiction: str
    official_urls: tuple[str, ...]
    notes: str
    confidence: str  # free text: one record says "medium (plan inclusion) / low (first-reading date)"
    sources: NonEmpty
    obligation_count: int


class Obligation(_Record):
    id: str
    instrument: str
    articles: str
    deontic_type: DeonticType
    binds: NonEmpty
    trigger: str
    action: str
    deadline_or_periodicity: str
    evidence: str
    competent_bodies: NonEmpty
    penalty: str
    binding_force: str
    lifecycle_stage: tuple[str, ...]
    confidence: Confidence
    sources: NonEmpty
    notes: str | None = None


class Authority(_Record):
    """An enforcement body of ``bodies_actors_sectors.yaml``."""

    id: str
    name_en: str
    name_zh: str
    level: str
    description: str
    role_in_catalogue: str
    confidence: Confidence
    sources: tuple[str, ...] = ()


class ActorType(_Record):
    id: str
    name_en: str
    name_zh: str | None
    definition: str
    source_instrument: str | None
    confidence: Confidence


class Sector(_Record):
    id: str
    name_en: str
    detail: str
    seeds: tuple[str, ...]
    instrument_links: tuple[str, ...]
    notes: str


class LifecycleStage(_Record):
    id: str
    name: str
    seed_usage: str
    examples_in_catalogue: tuple[str, ...]


class Source(_Record):
    """A row of a ``SOURCES.md`` table: key, what the source is, and what it was used for."""

    key: str
    section: str
    description: str
    used_for: str


class Provision(_Record):
    """One provision an obligation's ``articles`` text names (curated in ``articles.yaml``)."""

    instrument: str
    fragment: str
    label_en: str
    note: str | None = None
    amended_number: int | None = None


class ObligationProvisions(_Record):
    obligation: str
    title: str
    title_zh: str
    provisions: tuple[Provision, ...]
    unlinked_instruments: tuple[str, ...] = ()
    note: str | None = None


class DeadlineRule(_Record):
    """A machine-readable deadline or periodicity (curated in ``deadlines.yaml``)."""

    obligation: str
    kind: Literal["deadline", "periodicity"]
    amount: int | None
    unit: Literal["day", "month", "year", "hour"] | None
    counting: Literal["working-days", "calendar-days"] | None
    anchor: str | None
    text: str
    text_zh: str
    """Our Chinese rendering of ``text``: a label, not a quotation of the law."""
    counted_from: date | None = None
    """The earliest day a period can start: the day the rule that sets it took effect. A condition met before then
    (a handler already above a threshold) runs from that day."""
    counted_from_basis: str | None = None
    """Where ``counted_from`` comes from (instrument, article, source key)."""
    note: str | None = None


class TriggerRule(_Record):
    """An obligation that applies only to organisations also playing a derived role (curated in ``triggers.yaml``):
    its trigger narrows the roles it binds."""

    obligation: str
    role: str
    """The local name of an og: role class a rule of ``shapes/roles.ttl`` derives."""
    text: str
    """The words of the record's trigger this rests on."""
    narrows: str | None = None
    """The local name of the one role class the obligation binds that the trigger narrows (``role`` is a subclass
    of it): only organisations bound through it must also play ``role`` (``og:requiresNarrowerRole``); absent,
    every organisation it binds must (``og:requiresRole``)."""


class RiskLink(_Record):
    """One MIT AI Risk Repository subdomain an obligation addresses (curated in ``risk_subdomains.yaml``), with
    the words of the obligation's trigger or action that show it and why."""

    notation: str
    cites: str
    rationale: str

    @field_validator("cites", "rationale")
    @classmethod
    def _one_line(cls, text: str) -> str:
        if not text.strip() or "\n" in text:
            raise ValueError("must be one non-empty line")
        return text


class RiskClassification(_Record):
    obligation: str
    subdomains: Annotated[tuple[RiskLink, ...], Field(min_length=1)]


class RiskClassifications(_Record):
    """obligraph's editorial classification of obligations against the MIT AI Risk Repository taxonomy: not a
    fact of law, so it carries its own source and confidence instead of the obligations'."""

    source: Source
    confidence: Confidence
    classifications: tuple[RiskClassification, ...]


class ObligationCounts(_Record):
    total: int
    by_confidence: dict[str, int]
    by_deontic_type: dict[str, int]
    by_instrument: dict[str, int]


class ReferenceData(_Record):
    instruments: tuple[Instrument, ...]
    obligations: tuple[Obligation, ...]
    obligation_counts: ObligationCounts
    authorities: tuple[Authority, ...]
    actor_types: tuple[ActorType, ...]
    sectors: tuple[Sector, ...]
    lifecycle_stages: tuple[LifecycleStage, ...]
    sources: tuple[Source, ...]
    provisions: tuple[ObligationProvisions, ...]
    deadlines: tuple[DeadlineRule, ...]
    triggers: tuple[TriggerRule, ...]
    risk: RiskClassifications

    def instrument(self, instrument_id: str) -> Instrument:
        return _by_id(self.instruments, instrument_id)

    def obligation(self, obligation_id: str) -> Obligation:
        return _by_id(self.obligations, obligation_id)

    def provisions_of(self, obligation_id: str) -> ObligationProvisions:
        return next(p for p in self.provisions if p.obligation == obligation_id)

    def deadlines_of(self, obligation_id: str) -> tuple[DeadlineRule, ...]:
        return tuple(d for d in self.deadlines if d.obligation == obligation_id)

    def triggers_of(self, obligation_id: str) -> tuple[TriggerRule, ...]:
        return tuple(t for t in self.triggers if t.obligation == obligation_id)

    def risk_subdomains_of(self, obligation_id: str) -> tuple[RiskLink, ...]:
        """The subdomains the editorial classification links an obligation to; none when it is unmapped."""
        return next((c.subdomains for c in self.risk.classifications if c.obligation == obligation_id), ())


def _by_id(records: Iterable[Any], record_id: str) -> Any:
    for record in records:
        if record.id == record_id:
            return record
    raise KeyError(record_id)


_M = TypeVar("_M", bound=_Record)


def _parse(model: type[_M], rows: Any, file: str, key: str = "id") -> tuple[_M, ...]:
    if not isinstance(rows, list):
        raise ReferenceDataError(file, None, f"expected a list of records, got {type(rows).__name__}")
    parsed = []
    for index, row in enumerate(rows):
        name = row.get(key) if isinstance(row, dict) else None
        try:
            parsed.append(model.model_validate(row))
        except ValidationError as error:
            raise ReferenceDataError(file, str(name or f"#{index}"), str(error)) from error
    return tuple(parsed)


def _read_yaml(directory: Path, name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load((directory / name).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ReferenceDataError(name, None, str(error)) from error
    if not isinstance(data, dict):
        raise ReferenceDataError(name, None, "expected a mapping at the top level")
    return data


def _section(data: Mapping[str, Any], key: str, file: str) -> Any:
    if key not in data:
        raise ReferenceDataError(file, None, f"missing section {key!r}")
    return data[key]


_TABLE_ROW = re.compile(r"^\|\s*(?P<key>(?:S|SEED)-[0-9]+[a-z]?)\s*\|(?P<description>.*)\|(?P<used_for>.*)\|\s*$")


def parse_sources(text: str, file: str = "SOURCES.md") -> tuple[Source, ...]:
    """Rows of the ``| Key | Source | Used for |`` tables, with the ``##`` heading they sit under."""
    section = ""
    sources: list[Source] = []
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif match := _TABLE_ROW.match(line):
            if not section:
                raise ReferenceDataError(file, match["key"], "source row outside a section")
            sources.append(
                Source(
                    key=match["key"],
                    section=section,
                    description=match["description"].strip(),
                    used_for=match["used_for"].strip(),
                )
            )
    return tuple(sources)


def _unique(records: Iterable[Any], attr: str, file: str) -> None:
    counts = Counter(getattr(r, attr) for r in records)
    for value, n in counts.items():
        if n > 1:
            raise ReferenceDataError(file, str(value), f"{attr} occurs {n} times")


def _check_refs(file: str, record: str, field: str, values: Iterable[str | None], known: Callable[[str], bool]) -> None:
    for value in values:
        if value is not None and not known(value):
            raise ReferenceDataError(file, record, f"{field} names unknown {value!r}")


@cache
def risk_subdomain_notations() -> frozenset[str]:
    """The subdomain notations of the ontology's MIT AI Risk Repository taxonomy ("1.1" … "7.6"): concepts of
    og:AIRiskTaxonomy with a broader domain."""
    graph = ontology.load_ontology()
    return frozenset(
        str(graph.value(concept, SKOS.notation))
        for concept in graph.subjects(SKOS.inScheme, OG.AIRiskTaxonomy)
        if (concept, SKOS.broader, None) in graph and graph.value(concept, SKOS.notation) is not None
    )


def _validate_risk(ref: ReferenceData, notations: Collection[str], file: str = "risk_subdomains.yaml") -> None:
    """Each classified obligation exists, each notation is a subdomain of the taxonomy, and each link quotes
    its obligation's own trigger or action."""
    _unique(ref.risk.classifications, "obligation", file)
    if ref.risk.source.key in {s.key for s in ref.sources}:
        raise ReferenceDataError(file, "source", f"key {ref.risk.source.key!r} is already a key of SOURCES.md")
    obligations = {o.id for o in ref.obligations}
    for c in ref.risk.classifications:
        _check_refs(file, c.obligation, "obligation", [c.obligation], obligations.__contains__)
        _check_refs(file, c.obligation, "notation", [link.notation for link in c.subdomains], notations.__contains__)
        repeated = sorted(n for n, k in Counter(link.notation for link in c.subdomains).items() if k > 1)
        if repeated:
            raise ReferenceDataError(file, c.obligation, f"notations {repeated} occur more than once")
        ob = ref.obligation(c.obligation)
        for link in c.subdomains:
            if link.cites not in ob.trigger and link.cites not in ob.action:
                problem = f"{link.notation} cites {link.cites!r}, which is not in the record's trigger or action"
                raise ReferenceDataError(file, c.obligation, problem)


def _validate(ref: ReferenceData, risk_notations: Collection[str]) -> None:
    """Cross-file integrity: every id a record names exists, and the curated files cover every obligation."""
    _unique(ref.instruments, "id", "instruments.yaml")
    _unique(ref.obligations, "id", "obligations.yaml")
    _unique(ref.authorities, "id", "bodies_actors_sectors.yaml")
    _unique(ref.actor_types, "id", "bodies_actors_sectors.yaml")
    _unique(ref.sources, "key", "SOURCES.md")
    _unique(ref.provisions, "obligation", "articles.yaml")
    instruments = {i.id for i in ref.instruments}
    authorities = {a.id for a in ref.authorities}
    actors = {a.id for a in ref.actor_types}
    sources = {s.key for s in ref.sources}
    stages = {s.name for s in ref.lifecycle_stages}
    obligations = {o.id for o in ref.obligations}
    for i in ref.instruments:
        refs = [*i.sources, *(s for a in i.amendments for s in a.sources)]
        _check_refs("instruments.yaml", i.id, "sources", refs, sources.__contains__)
    for o in ref.obligations:
        file = "obligations.yaml"
        _check_refs(file, o.id, "instrument", [o.instrument], instruments.__contains__)
        _check_refs(file, o.id, "binds", o.binds, actors.__contains__)
        _check_refs(file, o.id, "competent_bodies", o.competent_bodies, authorities.__contains__)
        _check_refs(file, o.id, "sources", o.sources, sources.__contains__)
        _check_refs(file, o.id, "lifecycle_stage", o.lifecycle_stage, stages.__contains__)
    for a in ref.authorities:
        _check_refs("bodies_actors_sectors.yaml", a.id, "sources", a.sources, sources.__contains__)
    for s in ref.sectors:
        links = s.instrument_links
        _check_refs("bodies_actors_sectors.yaml", s.id, "instrument_links", links, instruments.__contains__)
    missing = obligations - {p.obligation for p in ref.provisions}
    if missing:
        raise ReferenceDataError("articles.yaml", None, f"no record for obligations {sorted(missing)}")
    for p in ref.provisions:
        _check_refs("articles.yaml", p.obligation, "obligation", [p.obligation], obligations.__contains__)
        used = [x.instrument for x in p.provisions] + list(p.unlinked_instruments)
        _check_refs("articles.yaml", p.obligation, "instrument", used, instruments.__contains__)
    for d in ref.deadlines:
        _check_refs("deadlines.yaml", d.obligation, "obligation", [d.obligation], obligations.__contains__)
        if (d.amount is None) != (d.unit is None):
            raise ReferenceDataError("deadlines.yaml", d.obligation, "amount and unit go together")
        if d.text not in ref.obligation(d.obligation).deadline_or_periodicity:
            raise ReferenceDataError("deadlines.yaml", d.obligation, f"text {d.text!r} is not in the record")
    for t in ref.triggers:
        _check_refs("triggers.yaml", t.obligation, "obligation", [t.obligation], obligations.__contains__)
        if t.text not in ref.obligation(t.obligation).trigger:
            raise ReferenceDataError("triggers.yaml", t.obligation, f"text {t.text!r} is not in the record's trigger")
    counts = ref.obligation_counts
    if counts.total != len(ref.obligations):
        problem = f"meta total {counts.total} != {len(ref.obligations)} records"
        raise ReferenceDataError("obligations.yaml", None, problem)
    _validate_risk(ref, risk_notations)


def _risk_classifications(data: Mapping[str, Any], file: str) -> RiskClassifications:
    try:
        source = Source.model_validate(_section(data, "source", file))
    except ValidationError as error:
        raise ReferenceDataError(file, "source", str(error)) from error
    classifications = _parse(RiskClassification, _section(data, "classifications", file), file, "obligation")
    try:
        return RiskClassifications(
            source=source, confidence=_section(data, "confidence", file), classifications=classifications
        )
    except ValidationError as error:
        raise ReferenceDataError(file, "confidence", str(error)) from error


def load_reference(directory: Path = REFERENCE_DIR) -> ReferenceData:
    """Read and cross-check every reference file in ``directory`` (risk subdomain notations against the
    ontology's taxonomy)."""
    instruments = _read_yaml(directory, "instruments.yaml")
    obligations = _read_yaml(directory, "obligations.yaml")
    bodies = _read_yaml(directory, "bodies_actors_sectors.yaml")
    articles = _read_yaml(directory, "articles.yaml")
    deadlines = _read_yaml(directory, "deadlines.yaml")
    triggers = _read_yaml(directory, "triggers.yaml")
    risk = _read_yaml(directory, "risk_subdomains.yaml")
    lifecycle = _section(bodies, "lifecycle_stages", "bodies_actors_sectors.yaml")
    meta = _section(obligations, "meta", "obligations.yaml")
    try:
        counts = ObligationCounts.model_validate(_section(meta, "counts", "obligations.yaml"))
    except ValidationError as error:
        raise ReferenceDataError("obligations.yaml", "meta.counts", str(error)) from error
    try:
        sources_text = (directory / "SOURCES.md").read_text(encoding="utf-8")
    except OSError as error:
        raise ReferenceDataError("SOURCES.md", None, str(error)) from error
    bas, ins, obl, art, ddl = (
        "bodies_actors_sectors.yaml",
        "instruments.yaml",
        "obligations.yaml",
        "articles.yaml",
        "deadlines.yaml",
    )
    ref = ReferenceData(
        instruments=_parse(Instrument, _section(instruments, "instruments", ins), ins),
        obligations=_parse(Obligation, _section(obligations, "obligations", obl), obl),
        obligation_counts=counts,
        authorities=_parse(Authority, _section(bodies, "enforcement_bodies", bas), bas),
        actor_types=_parse(ActorType, _section(bodies, "actor_types", bas), bas),
        sectors=_parse(Sector, _section(bodies, "sectors_named_in_seeds", bas), bas),
        lifecycle_stages=_parse(LifecycleStage, _section(lifecycle, "stages", bas), bas),
        sources=parse_sources(sources_text),
        provisions=_parse(ObligationProvisions, _section(articles, "provisions", art), art, "obligation"),
        deadlines=_parse(DeadlineRule, _section(deadlines, "deadlines", ddl), ddl, "obligation"),
        triggers=_parse(TriggerRule, _section(triggers, "triggers", "triggers.yaml"), "triggers.yaml", "obligation"),
        risk=_risk_classifications(risk, "risk_subdomains.yaml"),
    )
    _validate(ref, risk_subdomain_notations())
    return ref


@cache
def cached_reference() -> ReferenceData:
    """The vendored reference data, read once per process."""
    return load_reference()

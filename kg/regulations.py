"""The regulation graph: instruments, articles, authorities, sources and obligations as linked data.

Built from the vendored reference data (``kg.reference_data``) and the ontology: role, sector, lifecycle,
deadline-anchor and risk-subdomain concepts are looked up in the ontology graph by their ``skos:notation`` or
reference id, so a code the ontology lacks fails the build instead of minting a dangling term. Every instance IRI
comes from ``kg.iris``; no blank nodes, so the same input gives the same triples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

import ontology
from kg import iris
from kg.reference_data import (
    Authority,
    DeadlineRule,
    Instrument,
    Obligation,
    Provision,
    ReferenceData,
    RiskLink,
    Source,
    TriggerRule,
    cached_reference,
)
from ontology.namespaces import DCTERMS, ELI, ODRL2, OG, OWL, RDF, RDFS, SKOS, TIME, XSD


class RegulationGraphError(ValueError):
    """The reference data names something the ontology or the article rules cannot express."""


# Step 0. Mappings from the reference's free text to ontology concepts, first match wins.

_STATUS_RULES: tuple[tuple[str, URIRef], ...] = (
    (r"^in force", OG.StatusInForce),
    (r"^UNVERIFIED", OG.StatusUnverified),
    (r"^published", OG.StatusPublishedGuidance),
    (r"^issued \(policy period", OG.StatusIssuedPolicy),  # its text says "per draft": test before drafts
    (r"^on the \d{4} legislative plan|^draft", OG.StatusDraft),
)

_BINDING_RULES: tuple[tuple[str, URIRef], ...] = (
    (r"^non-binding", OG.BindingForceNonBinding),
    (r"^binding", OG.BindingForceBinding),
    (r"^policy guidance", OG.BindingForcePolicyGuidance),
    (r"^not yet in force", OG.BindingForceNotYetInForce),
    (r"^(unknown|unverified)", OG.BindingForceUnverified),
)

_CONFIDENCE = {"high": OG.ConfidenceHigh, "medium": OG.ConfidenceMedium, "low": OG.ConfidenceLow}

_DEONTIC = {
    "obligation": (OG.DeonticObligation, ODRL2.Duty),
    "prohibition": (OG.DeonticProhibition, ODRL2.Prohibition),
    "permission": (OG.DeonticPermission, ODRL2.Permission),
}

_TIME_UNITS = {"day": TIME.unitDay, "month": TIME.unitMonth, "year": TIME.unitYear, "hour": TIME.unitHour}

_AUTHORITY_CODES = {"BJ_CAC": "CAC-BJ"}
"""Event authority codes that differ from the reference id (``../shared/spec/events.md``)."""

_ISSUER_ALIASES = {
    "State Council": "STATE_COUNCIL",
    "MOST (per seed 003)": "MOST",
    "General Office of the Beijing Municipal People's Government": "BJ_GOV",
    "Beijing Municipal People's Congress (16th, 2nd session)": "BJ_MPC",
    "Beijing Municipal People's Congress Standing Committee (15th, 45th meeting)": "BJ_MPCSC",
    "Beijing Municipal People's Congress Standing Committee (16th)": "BJ_MPCSC",
}
"""Issuing-body texts of instruments.yaml that name a catalogued authority in other words."""

_UNCATALOGUED_ISSUERS = frozenset({"MARA", "CAS", "CASS", "CAE", "CAST", "CMC Science and Technology Commission"})
"""Co-issuers of the Ethics Review Measures that bodies_actors_sectors.yaml does not catalogue."""

_PREFIXES = (("og", OG), ("odrl", ODRL2), ("skos", SKOS), ("dcterms", DCTERMS), ("time", TIME))

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH_YEAR = re.compile(
    r"(January|February|March|April|May|June|July|August|September|October|November|December) ([0-9]{4})\b"
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _leading_day(text: str) -> date | None:
    """A date the reference gives with a remark ("2024-02-29 (technical document)", "January 2026 (per seed
    003)"): the leading ISO date, or the first day of a leading month, so time-bound checks can use it."""
    if _ISO_DATE.match(text):
        return date.fromisoformat(text[:10])
    month = _MONTH_YEAR.match(text)
    if month:
        return date(int(month.group(2)), _MONTHS.index(month.group(1)) + 1, 1)
    return None


_RMB_RANGE = re.compile(r"RMB\s*([0-9][0-9,]*)\s*-\s*([0-9][0-9,]*)(\s*million)?")
_ARTICLE_LABEL = re.compile(r"Art\. (?P<num>[0-9]+)(?:\((?P<item>[0-9]+)\)| para (?P<para>[0-9]+))?")
_ARTICLE_FRAGMENT = re.compile(r"A(?P<num>[0-9]+)(?:-(?P<sub>[0-9]+))?")
_OTHER_FRAGMENTS = (
    (re.compile(r"S(?P<num>[0-9]+(?:-[0-9]+)*)"), re.compile(r"(?:Section|Clause) (?P<num>[0-9.]+)")),
    (re.compile(r"P(?P<num>[0-9]+)"), re.compile(r"Part (?P<num>[0-9]+)")),
    (re.compile(r"Annex-(?P<num>[A-Z])"), re.compile(r"Annex (?P<num>[A-Z])")),
)

_DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """``17`` → 十七, ``21`` → 二十一, ``105`` → 一百零五: article numbers as Chinese law writes them."""
    if not 0 < n < 10000:
        raise ValueError(f"out of range: {n}")
    if n < 20:
        return ("十" + (_DIGITS[n - 10] if n > 10 else "")) if n >= 10 else _DIGITS[n]
    parts: list[str] = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero:
                parts.append("零")
            parts.append(_DIGITS[digit] + unit)
            zero = False
        elif parts:
            zero = True
    return "".join(parts)


def _match(rules: Iterable[tuple[str, URIRef]], text: str, what: str) -> URIRef:
    for pattern, concept in rules:
        if re.search(pattern, text):
            return concept
    raise RegulationGraphError(f"no {what} concept for {text!r}")


_CAVEAT: Final = re.compile(r"^(?P<number>.+?) \((?P<caveat>[^()]*confirm[^()]*)\)$")
"""A document number the reference doubts, e.g. "CAC Order No. 18 (number unconfirmed)"."""


def document_number(text: str) -> tuple[str, str | None]:
    """The number itself (og:documentNumber, an eli:id_local) and the reference's doubt about it, if it states one
    (a note beside it, not part of the identifier)."""
    found = _CAVEAT.match(text)
    return (found["number"], found["caveat"]) if found else (text, None)


def instrument_status(text: str) -> URIRef:
    return _match(_STATUS_RULES, text, "instrument status")


def binding_force(text: str) -> URIRef:
    return _match(_BINDING_RULES, text, "binding force")


def confidence(text: str) -> URIRef:
    """The lowest level a confidence text names: "medium (plan) / low (date)" is low, the cautious reading."""
    levels = re.findall(r"\b(high|medium|low)\b", text)
    if not levels:
        raise RegulationGraphError(f"no confidence level in {text!r}")
    return _CONFIDENCE[min(levels, key=("low", "medium", "high").index)]


def authority_code(authority_id: str) -> str:
    return _AUTHORITY_CODES.get(authority_id, authority_id)


def fine_range(penalty_text: str) -> tuple[Decimal, Decimal] | None:
    """The one RMB range a penalty text states; ``None`` when it states none, several or a 'million' one."""
    matches = _RMB_RANGE.findall(penalty_text)
    ranges = {(low, high) for low, high, million in matches if not million}
    if len(matches) != penalty_text.count("RMB") or len(ranges) != 1 or any(m[2] for m in matches):
        return None
    low, high = (Decimal(x.replace(",", "")) for x in next(iter(ranges)))
    return (low, high) if low <= high else None


def article_labels(provision: Provision) -> tuple[str, str, str | None]:
    """(article number, English label, Chinese label or None) of a provision, checked against its fragment."""
    fragment, label = provision.fragment, provision.label_en
    if (frag := _ARTICLE_FRAGMENT.fullmatch(fragment)) is not None:
        lab = _ARTICLE_LABEL.fullmatch(label)
        sub = lab and (lab["item"] or lab["para"])
        if lab is None or lab["num"] != frag["num"] or sub != frag["sub"]:
            raise RegulationGraphError(f"label {label!r} does not match fragment {fragment!r}")
        zh = f"第{chinese_numeral(int(lab['num']))}条"
        if lab["item"]:
            zh += f"第（{chinese_numeral(int(lab['item']))}）项"
        elif lab["para"]:
            zh += f"第{chinese_numeral(int(lab['para']))}款"
        return label.removeprefix("Art. "), label, zh
    for fragment_rule, label_rule in _OTHER_FRAGMENTS:
        if (frag := fragment_rule.fullmatch(fragment)) and (lab := label_rule.fullmatch(label)):
            if frag["num"].replace("-", ".") != lab["num"]:
                raise RegulationGraphError(f"label {label!r} does not match fragment {fragment!r}")
            return lab["num"], label, _other_label_zh(fragment[0], lab["num"])
    raise RegulationGraphError(f"cannot read fragment {fragment!r} with label {label!r}")


def _other_label_zh(kind: str, number: str) -> str:
    """Our Chinese rendering of a standard's clause (GB/T 1.1: a top-level number is a 章, a dotted one a 条), an
    annex (附录) or a part of a policy document (第五部分)."""
    if kind == "S":
        return f"第{number}章" if "." not in number else f"第{number}条"
    if kind == "A":
        return f"附录{number}"
    return f"第{chinese_numeral(int(number))}部分"


@dataclass(frozen=True)
class _Vocabulary:
    """Ontology concepts the reference names by code, looked up once per build."""

    graph: Graph

    def concept(self, scheme: URIRef, code: str, by: URIRef = SKOS.notation) -> URIRef:
        found = [s for s in self.graph.subjects(by, None) if str(self.graph.value(s, by)) == code]
        found = [s for s in found if (s, SKOS.inScheme, scheme) in self.graph]
        if len(found) != 1 or not isinstance(found[0], URIRef):
            raise RegulationGraphError(f"{len(found)} concepts of {scheme} with {by} {code!r}")
        return found[0]

    def role(self, actor_id: str) -> URIRef:
        found = [
            s
            for s in self.graph.subjects(SKOS.notation, Literal(actor_id))
            if (s, RDF.type, OWL.Class) in self.graph or (s, RDFS.subClassOf, None) in self.graph
        ]
        if len(found) != 1 or not isinstance(found[0], URIRef):
            raise RegulationGraphError(f"no single role class with skos:notation {actor_id!r}: {found}")
        return found[0]

    def role_class(self, name: str) -> URIRef:
        """An og: role class by its local name, which must be a class of the ontology."""
        role = URIRef(f"{OG}{name}")
        if (role, RDF.type, OWL.Class) not in self.graph:
            raise RegulationGraphError(f"og:{name} is not a role class of the ontology")
        return role

    def stage(self, name: str, ref: ReferenceData) -> URIRef:
        stage = next((s for s in ref.lifecycle_stages if s.name == name), None)
        if stage is None:
            raise RegulationGraphError(f"unknown lifecycle stage {name!r}")
        return self.concept(OG.LifecycleStages, stage.id)


class _Builder:
    def __init__(self, ref: ReferenceData, vocabulary: _Vocabulary) -> None:
        self.ref = ref
        self.vocab = vocabulary
        self.g = Graph()
        for prefix, namespace in _PREFIXES:
            self.g.bind(prefix, namespace)
        self.articles: dict[URIRef, Provision] = {}

    def add(self, s: URIRef, p: URIRef, o: Node) -> None:
        self.g.add((s, p, o))

    def labels(self, node: URIRef, en: str, zh: str | None = None) -> None:
        for lang, text in (("en", en), ("zh", zh)):
            if text:
                self.add(node, RDFS.label, Literal(text, lang=lang))
                self.add(node, SKOS.prefLabel, Literal(text, lang=lang))

    def notes(self, node: URIRef, *texts: str | None) -> None:
        for text in texts:
            if text:
                self.add(node, SKOS.note, Literal(text))

    def sources(self, node: URIRef, keys: Iterable[str]) -> None:
        for key in keys:
            self.add(node, OG.hasSource, iris.source(key))

    # Step 1. Authorities and sources: what everything else points at.

    def authority(self, body: Authority) -> None:
        node = iris.authority(authority_code(body.id))
        self.add(node, RDF.type, OG.Authority)
        self.labels(node, body.name_en, body.name_zh)
        self.add(node, SKOS.notation, Literal(authority_code(body.id)))
        self.add(node, DCTERMS.identifier, Literal(body.id))
        self.add(node, OG.level, Literal(body.level))
        self.add(node, SKOS.definition, Literal(body.description, lang="en"))
        self.add(node, OG.hasConfidence, _CONFIDENCE[body.confidence])
        self.notes(node, f"Role in the catalogue: {body.role_in_catalogue}")
        self.sources(node, body.sources)

    def source(self, source: Source) -> None:
        node = iris.source(source.key)
        self.add(node, RDF.type, OG.Source)
        self.add(node, DCTERMS.identifier, Literal(source.key))
        self.add(node, RDFS.label, Literal(f"{source.key} — {source.section}", lang="en"))
        self.add(node, DCTERMS.description, Literal(source.description))
        self.notes(node, source.used_for)

    # Step 2. Instruments with their dates, amendments and sectors.

    def instrument(self, inst: Instrument) -> None:
        node = iris.instrument(inst.id)
        status = instrument_status(inst.status)
        self.add(node, RDF.type, OG.Instrument)
        name_en = inst.name_en
        if status == OG.StatusUnverified and "unverified" not in name_en.lower():
            name_en += " — UNVERIFIED"
        self.labels(node, name_en, inst.name_zh)
        if status == OG.StatusUnverified:
            definition = f"An unverified instrument known only from the sources cited; status: {inst.status}."
            self.add(node, SKOS.definition, Literal(definition, lang="en"))
        self.add(node, DCTERMS.identifier, Literal(inst.id))
        self.add(node, OG.shortName, Literal(inst.short_name))
        if inst.document_number:
            number, caveat = document_number(inst.document_number)
            self.add(node, OG.documentNumber, Literal(number))
            if caveat:
                self.notes(node, f"Document number {number}: {caveat}")
        self.add(node, OG.instrumentType, Literal(inst.instrument_type))
        self.add(node, OG.catalogueRole, Literal(inst.catalogue_role))
        self.issuers(node, inst)
        self.dates(node, inst.adopted_date, inst.promulgation_date, inst.effective_date)
        self.add(node, OG.hasInstrumentStatus, status)
        self.add(node, OG.statusText, Literal(inst.status))
        self.add(node, OG.hasBindingForce, binding_force(inst.binding_force))
        # og:bindingForceText has rdfs:domain og:Obligation: on an instrument it would entail og:Obligation.
        self.notes(node, f"Binding force (reference text): {inst.binding_force}")
        beijing = inst.id.startswith("BJ-")
        if beijing != (inst.jurisdiction_level == "municipal"):
            level = inst.jurisdiction_level
            raise RegulationGraphError(f"{inst.id}: id prefix and jurisdiction_level {level!r} differ")
        jurisdiction = OG.JurisdictionCNBJ if beijing else OG.JurisdictionCN
        self.add(node, OG.hasJurisdiction, jurisdiction)
        self.add(node, ELI.jurisdiction, jurisdiction)  # og:hasJurisdiction is not eli's: organisations have one too
        for url in inst.official_urls:
            address, _, remark = url.partition(" ")
            self.add(node, OG.officialUrl, Literal(address, datatype=XSD.anyURI))
            if remark:
                self.notes(node, f"Official URL {address}: {remark.strip()}")
        for amendment in inst.amendments:
            amended = iris.amendment(inst.id, amendment.date_adopted)
            self.add(node, OG.hasAmendment, amended)
            self.add(amended, RDF.type, OG.Amendment)
            label = f"Amendment of {inst.short_name}, {amendment.date_adopted}"
            self.add(amended, RDFS.label, Literal(label, lang="en"))
            self.dates(amended, amendment.date_adopted, None, amendment.effective_date)
            self.notes(amended, amendment.summary, f"Adopted by: {amendment.body}")
            self.add(amended, OG.hasConfidence, _CONFIDENCE[amendment.confidence])
            self.sources(amended, amendment.sources)
        self.add(node, OG.hasConfidence, confidence(inst.confidence))
        if inst.confidence not in _CONFIDENCE:
            self.notes(node, f"Confidence (reference text): {inst.confidence}")
        self.sources(node, inst.sources)
        self.notes(node, inst.notes)
        if inst.drafting_body:
            self.notes(node, "Drafted by: " + "; ".join(inst.drafting_body))
        for sector in self.ref.sectors:
            if inst.id in sector.instrument_links:
                self.add(node, OG.hasSector, self.vocab.concept(OG.Sectors, sector.id, DCTERMS.identifier))

    def issuers(self, node: URIRef, inst: Instrument) -> None:
        known = {a.id.upper(): a.id for a in self.ref.authorities}
        uncatalogued = []
        for body in inst.issuing_body:
            if body in _UNCATALOGUED_ISSUERS:
                uncatalogued.append(body)
                continue
            authority_id = known.get(body.upper()) or _ISSUER_ALIASES.get(body)
            if authority_id is None:
                raise RegulationGraphError(f"{inst.id}: issuing body {body!r} is not a catalogued authority")
            self.add(node, OG.isIssuedBy, iris.authority(authority_code(authority_id)))
            if body in _ISSUER_ALIASES:
                self.notes(node, f"Issuing body (reference text): {body}")
        if uncatalogued:
            others = ", ".join(uncatalogued)
            self.notes(node, f"Also issued by bodies not catalogued as authorities: {others}")

    def dates(self, node: URIRef, adopted: str | None, promulgated: str | None, effective: str | None) -> None:
        for text, prop, word in (
            (adopted, OG.adoptedOn, "adopted"),
            (promulgated, OG.promulgatedOn, "promulgated"),
            (effective, OG.effectiveOn, "effective"),
        ):
            if text is None:
                continue
            if _ISO_DATE.fullmatch(text):
                self.add(node, prop, Literal(date.fromisoformat(text), datatype=XSD.date))
                continue
            self.add(node, OG.dateText, Literal(f"{word}: {text}"))
            day = _leading_day(text)
            if day is not None:
                self.add(node, prop, Literal(day, datatype=XSD.date))
                if not _ISO_DATE.match(text):
                    self.notes(node, f"The {word} date {text!r} is read as its first day, {day.isoformat()}.")

    # Step 3. Articles, minted once however many obligations cite them.

    def article(self, provision: Provision) -> URIRef:
        node = iris.article(provision.instrument, provision.fragment)
        seen = self.articles.get(node)
        if seen is not None:
            if (seen.label_en, seen.amended_number) != (provision.label_en, provision.amended_number):
                raise RegulationGraphError(f"{node}: cited as {seen} and as {provision}")
            return node
        self.articles[node] = provision
        number, en, zh = article_labels(provision)
        instrument = iris.instrument(provision.instrument)
        self.add(node, RDF.type, OG.Article)
        self.add(node, OG.isArticleOf, instrument)
        self.add(instrument, OG.hasArticle, node)
        self.add(node, OG.articleNumber, Literal(number))
        self.add(node, RDFS.label, Literal(en, lang="en"))
        if zh:
            self.add(node, RDFS.label, Literal(zh, lang="zh"))
        if provision.amended_number is not None:
            self.notes(
                node,
                f"Numbered as in the 2017 text; Art. {provision.amended_number} of the text as amended on "
                "2025-10-28 (effective 2026-01-01).",
            )
        if provision.note and "number" in provision.note:  # a doubt about the number itself, as the reference has it
            self.notes(node, f"{provision.label_en}: {provision.note}.")
        return node

    # Step 4. Obligations with their legal basis, roles, penalties and deadlines.

    def requirement(self, node: URIRef, ob: Obligation, trigger: TriggerRule) -> None:
        """The role an obligation's trigger requires: of every organisation it binds, or (``trigger.narrows``) of
        those it binds through the one broader role the trigger narrows."""
        role = self.vocab.role_class(trigger.role)
        if trigger.narrows is None:
            self.add(node, OG.requiresRole, role)
            self.notes(node, f"Applies only to organisations that are also {trigger.role}: {trigger.text}")
            return
        broader = self.vocab.role_class(trigger.narrows)
        if broader not in {self.vocab.role(actor) for actor in ob.binds}:
            raise RegulationGraphError(f"{ob.id}: its trigger narrows og:{trigger.narrows}, a role it does not bind")
        if (role, RDFS.subClassOf, broader) not in self.vocab.graph:
            raise RegulationGraphError(f"{ob.id}: og:{trigger.role} is not a subclass of og:{trigger.narrows}")
        self.add(node, OG.requiresNarrowerRole, role)
        self.notes(node, f"Applies to a {trigger.narrows} only when it is also {trigger.role}: {trigger.text}")

    def obligation(self, ob: Obligation) -> None:
        node = iris.obligation(ob.id)
        curated = self.ref.provisions_of(ob.id)
        deontic, odrl_class = _DEONTIC[ob.deontic_type]
        self.add(node, RDF.type, OG.Obligation)
        self.add(node, RDF.type, odrl_class)
        self.add(node, SKOS.notation, Literal(ob.id))
        self.labels(node, curated.title, curated.title_zh)  # the id is its skos:notation
        self.add(node, OG.hasInstrument, iris.instrument(ob.instrument))
        self.add(node, OG.articleReference, Literal(ob.articles))
        for provision in curated.provisions:
            self.add(node, OG.hasLegalBasis, self.article(provision))
            if provision.note:
                self.notes(node, f"{provision.label_en} ({provision.instrument}): {provision.note}")
        for cited in curated.unlinked_instruments:
            self.add(node, OG.citesInstrument, iris.instrument(cited))
        self.notes(node, curated.note)
        self.add(node, OG.hasDeonticKind, deontic)
        for actor in ob.binds:
            self.add(node, OG.bindsRole, self.vocab.role(actor))
        for trigger in self.ref.triggers_of(ob.id):
            self.requirement(node, ob, trigger)
        self.add(node, OG.triggerText, Literal(ob.trigger))
        self.add(node, OG.actionText, Literal(ob.action))
        self.add(node, OG.evidenceText, Literal(ob.evidence))
        self.add(node, OG.deadlineText, Literal(ob.deadline_or_periodicity))
        self.timing(node, ob.id, self.ref.deadlines_of(ob.id))
        for body in ob.competent_bodies:
            self.add(node, OG.hasCompetentAuthority, iris.authority(authority_code(body)))
        self.penalty(node, ob)
        self.add(node, OG.hasBindingForce, binding_force(ob.binding_force))
        self.add(node, OG.bindingForceText, Literal(ob.binding_force))
        self.add(node, OG.hasConfidence, _CONFIDENCE[ob.confidence])
        self.sources(node, ob.sources)
        for stage in ob.lifecycle_stage:
            self.add(node, OG.hasLifecycleStage, self.vocab.stage(stage, self.ref))
        self.notes(node, ob.notes)
        self.add(node, OG.isMachineCheckable, Literal(False))
        self.risk_subdomains(node, ob.id, self.ref.risk_subdomains_of(ob.id))

    def penalty(self, obligation: URIRef, ob: Obligation) -> None:
        node = iris.penalty(ob.id)
        self.add(obligation, OG.hasPenalty, node)
        self.add(node, RDF.type, OG.Penalty)
        self.add(node, RDFS.label, Literal(f"Penalty for {ob.id}", lang="en"))
        self.add(node, RDFS.label, Literal(f"{ob.id} 罚则", lang="zh"))
        self.add(node, OG.penaltyText, Literal(ob.penalty))
        if (fines := fine_range(ob.penalty)) is not None:
            self.add(node, OG.minimumFineCNY, Literal(fines[0], datatype=XSD.decimal))
            self.add(node, OG.maximumFineCNY, Literal(fines[1], datatype=XSD.decimal))

    def timing(self, obligation: URIRef, obligation_id: str, rules: Iterable[DeadlineRule]) -> None:
        deadlines = 0
        periodicities = 0
        for rule in rules:
            if rule.kind == "deadline":
                if rule.anchor is None:
                    raise RegulationGraphError(f"{obligation_id}: a deadline needs an anchor")
                node = iris.deadline(obligation_id) if deadlines == 0 else iris.deadline_at(obligation_id, rule.anchor)
                deadlines += 1
                self.add(obligation, OG.hasDeadline, node)
                self.add(node, RDF.type, OG.Deadline)
                self.add(node, OG.isRelativeTo, self.vocab.concept(OG.DeadlineAnchors, rule.anchor))
            else:
                if rule.anchor is not None or periodicities:
                    raise RegulationGraphError(f"{obligation_id}: one periodicity, without an anchor")
                node = iris.periodicity(obligation_id)
                periodicities += 1
                self.add(obligation, OG.hasPeriodicity, node)
                self.add(node, RDF.type, OG.Periodicity)
            self.add(node, RDFS.label, Literal(f"{obligation_id}: {rule.text}", lang="en"))
            self.add(node, RDFS.label, Literal(f"{obligation_id}：{rule.text_zh}", lang="zh"))
            self.notes(node, rule.note)
            if rule.counting is not None:
                self.add(node, OG.isCountedIn, self.vocab.concept(OG.DayCountingRules, rule.counting))
            if rule.counted_from is not None:
                self.add(node, OG.countsFrom, Literal(rule.counted_from, datatype=XSD.date))
                self.notes(node, rule.counted_from_basis)
            if rule.amount is not None and rule.unit is not None:
                duration = iris.duration_of(node)
                self.add(node, OG.hasDuration, duration)
                self.add(duration, RDF.type, TIME.Duration)
                self.add(duration, TIME.numericDuration, Literal(Decimal(rule.amount), datatype=XSD.decimal))
                self.add(duration, TIME.unitType, _TIME_UNITS[rule.unit])

    # Step 5. The editorial risk classification: each link reified, with its own source, confidence and reason,
    # so it is never read as a fact of law nor mixed with the obligation's own confidence and sources.

    def risk_subdomains(self, obligation: URIRef, obligation_id: str, links: Iterable[RiskLink]) -> None:
        for link in links:
            subdomain = self.vocab.concept(OG.AIRiskTaxonomy, link.notation)
            self.add(obligation, OG.hasRiskSubdomain, subdomain)
            statement = iris.risk_link(obligation_id, link.notation)
            self.add(statement, RDF.type, RDF.Statement)
            self.add(statement, RDF.subject, obligation)
            self.add(statement, RDF.predicate, OG.hasRiskSubdomain)
            self.add(statement, RDF.object, subdomain)
            label = f"{obligation_id} addresses MIT AI risk subdomain {link.notation} (editorial classification)"
            self.add(statement, RDFS.label, Literal(label, lang="en"))
            label_zh = f"{obligation_id} 涉及MIT人工智能风险子领域 {link.notation}（编辑分类）"
            self.add(statement, RDFS.label, Literal(label_zh, lang="zh"))
            self.add(statement, OG.hasConfidence, _CONFIDENCE[self.ref.risk.confidence])
            self.sources(statement, [self.ref.risk.source.key])
            self.notes(statement, f'{link.rationale} Cites the obligation\'s text: "{link.cites}"')


def build_regulation_graph(reference: ReferenceData | None = None) -> Graph:
    """Every instrument, article, authority, source and obligation of the reference data, as one graph."""
    ref = reference or cached_reference()
    builder = _Builder(ref, _Vocabulary(ontology.load_ontology()))
    for body in ref.authorities:
        builder.authority(body)
    for source in (*ref.sources, ref.risk.source):
        builder.source(source)
    for inst in ref.instruments:
        builder.instrument(inst)
    for ob in ref.obligations:
        builder.obligation(ob)
    return builder.g


def regulation_turtle() -> bytes:
    """The regulation graph as Turtle, for the store loader (``kg.build``)."""
    return build_regulation_graph().serialize(format="turtle", encoding="utf-8")

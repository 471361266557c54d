"""The regulation graph holds every instrument and obligation of the reference data, and no invented law."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rdflib import BNode, Graph, Literal, URIRef

import ontology
from kg import iris
from kg.reference_data import (
    REFERENCE_DIR,
    ReferenceData,
    ReferenceDataError,
    TriggerRule,
    cached_reference,
    load_reference,
)
from kg.regulations import (
    RegulationGraphError,
    build_regulation_graph,
    chinese_numeral,
    confidence,
    fine_range,
    regulation_turtle,
)
from kg.workdays import add_working_days
from ontology import namespaces
from ontology.namespaces import DCTERMS, OG, RDF, RDFS, SKOS

OBLIGATIONS_WITHOUT_ARTICLE = frozenset({"ETH-04", "ASGF-01", "AGC-01", "AGC-02", "AGC-03"})
"""Their reference `articles` text names no numbered provision ("not specified in seed", "article number not
confirmed", framework sections named by topic): they are the only obligations without og:hasLegalBasis."""

LEGAL = "https://w3id.org/obligraph/legal/"


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return cached_reference()


@pytest.fixture(scope="module")
def graph(ref: ReferenceData) -> Graph:
    return build_regulation_graph(ref)


@pytest.fixture(scope="module")
def onto() -> Graph:
    return ontology.load_ontology()


def _one(graph: Graph, s: Any, p: URIRef) -> Any:
    values = list(graph.objects(s, p))
    assert len(values) == 1, (s, p, values)
    return values[0]


# Counts and completeness


def test_graph_has_exactly_23_instruments_and_77_obligations(graph: Graph) -> None:
    assert len(set(graph.subjects(RDF.type, OG.Instrument))) == 23
    assert len(set(graph.subjects(RDF.type, OG.Obligation))) == 77


def test_every_reference_obligation_is_complete(graph: Graph, ref: ReferenceData) -> None:
    for ob in ref.obligations:
        node = iris.obligation(ob.id)
        assert (node, SKOS.notation, Literal(ob.id)) in graph
        assert (node, OG.hasInstrument, iris.instrument(ob.instrument)) in graph
        assert len(set(graph.objects(node, OG.hasCompetentAuthority))) >= 1, ob.id
        assert len(set(graph.objects(node, OG.hasConfidence))) == 1, ob.id
        assert len(set(graph.objects(node, OG.hasBindingForce))) == 1, ob.id
        assert set(graph.objects(node, OG.hasSource)) == {iris.source(k) for k in ob.sources}, ob.id
        assert len(set(graph.objects(node, OG.hasDeonticKind))) == 1, ob.id
        assert len(set(graph.objects(node, OG.bindsRole))) == len(ob.binds) >= 1, ob.id
        curated = ref.provisions_of(ob.id)
        titles = {Literal(curated.title, lang="en"), Literal(curated.title_zh, lang="zh")}
        assert set(graph.objects(node, RDFS.label)) == titles, ob.id


def test_every_obligation_has_an_article_unless_none_is_specified(graph: Graph, ref: ReferenceData) -> None:
    linked = set(graph.subjects(OG.hasLegalBasis, None))
    without = {ob.id for ob in ref.obligations if iris.obligation(ob.id) not in linked}
    assert without == OBLIGATIONS_WITHOUT_ARTICLE
    for ob_id in OBLIGATIONS_WITHOUT_ARTICLE:
        assert ref.provisions_of(ob_id).note, f"{ob_id}: say why no provision is linked"


def test_counts_by_deontic_type_and_confidence_equal_the_meta(graph: Graph, ref: ReferenceData) -> None:
    obligations = set(graph.subjects(RDF.type, OG.Obligation))
    deontic = Counter(_deontic(graph, o) for o in obligations)
    assert (
        deontic
        == Counter(ref.obligation_counts.by_deontic_type)
        == {
            "obligation": 69,
            "prohibition": 6,
            "permission": 2,
        }
    )
    levels = {OG.ConfidenceHigh: "high", OG.ConfidenceMedium: "medium", OG.ConfidenceLow: "low"}
    by_confidence = Counter(levels[_one(graph, o, OG.hasConfidence)] for o in obligations)
    expected = {"high": 55, "medium": 17, "low": 5}
    assert by_confidence == Counter(ref.obligation_counts.by_confidence) == expected


def _deontic(graph: Graph, node: Any) -> str:
    kinds = {
        OG.DeonticObligation: ("obligation", namespaces.ODRL2.Duty),
        OG.DeonticProhibition: ("prohibition", namespaces.ODRL2.Prohibition),
        OG.DeonticPermission: ("permission", namespaces.ODRL2.Permission),
    }
    name, odrl_class = kinds[_one(graph, node, OG.hasDeonticKind)]
    assert (node, RDF.type, odrl_class) in graph
    return name


def test_obligations_per_instrument_equal_the_reference_meta(graph: Graph, ref: ReferenceData) -> None:
    by_instrument = Counter(
        str(_one(graph, inst, DCTERMS.identifier))
        for ob in graph.subjects(RDF.type, OG.Obligation)
        for inst in graph.objects(ob, OG.hasInstrument)
    )
    assert by_instrument == Counter(ref.obligation_counts.by_instrument)


# No invented law


def _mentioned(text: str) -> set[str]:
    """Every number the text names, with ranges ("Arts. 24-27", "4(2)-(5)", "9.1-9.2") expanded."""
    text = re.sub(r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b", " ", text)
    numbers = set(re.findall(r"(?<![0-9.])[0-9]+(?:\.[0-9]+)*", text))
    for a, b in re.findall(r"([0-9]+(?:\.[0-9]+)?)\)?\s*[-–]\s*\(?([0-9]+(?:\.[0-9]+)?)", text):
        head_a, _, tail_a = a.rpartition(".")
        head_b, _, tail_b = b.rpartition(".")
        if head_a == head_b and 0 < int(tail_b) - int(tail_a) <= 20:
            numbers |= {f"{head_a}.{n}" if head_a else str(n) for n in range(int(tail_a), int(tail_b) + 1)}
    return numbers


def _fragment_numbers(fragment: str) -> list[str]:
    if m := re.fullmatch(r"A([0-9]+)(?:-([0-9]+))?", fragment):
        return [n for n in m.groups() if n]
    if m := re.fullmatch(r"S([0-9-]+)", fragment):
        return [m[1].replace("-", ".")]
    if m := re.fullmatch(r"P([0-9]+)", fragment):
        return [m[1]]
    raise AssertionError(f"unknown fragment {fragment}")


def test_no_invented_article_every_fragment_number_is_in_the_raw_articles_text(ref: ReferenceData) -> None:
    for record in ref.provisions:
        raw = ref.obligation(record.obligation).articles
        mentioned = _mentioned(raw)
        for provision in record.provisions:
            if m := re.fullmatch(r"Annex-([A-Z])", provision.fragment):
                assert f"Annex {m[1]}" in raw, (record.obligation, provision.fragment, raw)
                continue
            for number in _fragment_numbers(provision.fragment):
                assert number in mentioned, (record.obligation, provision.fragment, raw)
            if provision.amended_number is not None:
                assert str(provision.amended_number) in mentioned, (record.obligation, raw)
        for instrument_id in record.unlinked_instruments:
            assert instrument_id not in {p.instrument for p in record.provisions}


def test_the_number_check_expands_ranges_but_not_dates() -> None:
    assert {"24", "25", "26", "27"} <= _mentioned("Arts. 24-27")
    assert {"2", "3", "4", "5"} <= _mentioned("Art. 4(2)-(5)")
    assert {"9.1", "9.2"} <= _mentioned("Sections 9.1-9.2")
    assert "10" not in _mentioned("CAC announcement of 2025-07-18")
    assert "17" not in _mentioned("Art. 21 (2017 text)")


def test_graph_legal_basis_is_exactly_the_curated_provisions(graph: Graph, ref: ReferenceData) -> None:
    for record in ref.provisions:
        expected = {iris.article(p.instrument, p.fragment) for p in record.provisions}
        assert set(graph.objects(iris.obligation(record.obligation), OG.hasLegalBasis)) == expected


def test_cross_references_point_at_the_other_instrument(graph: Graph) -> None:
    basis = set(graph.objects(iris.obligation("DSL-02"), OG.hasLegalBasis))
    assert basis == {
        iris.article("CN-DSL", "A29"),
        iris.article("CN-NDSMR-2024", "A10"),
        iris.article("CN-NDSMR-2024", "A11"),
    }
    gai12 = set(graph.objects(iris.obligation("GAI-12"), OG.hasLegalBasis))
    assert {iris.article("CN-ALGO-2022", f"A{n}") for n in (24, 25, 26, 27)} <= gai12


def test_amended_csl_number_is_a_note_not_a_second_article(graph: Graph) -> None:
    assert set(graph.objects(iris.obligation("CSL-01"), OG.hasLegalBasis)) == {iris.article("CN-CSL", "A21")}
    notes = [str(n) for n in graph.objects(iris.article("CN-CSL", "A21"), SKOS.note)]
    assert any("Art. 23" in n for n in notes)


# Instruments, articles and authorities


def _instrument(graph: Graph, instrument_id: str, p: URIRef) -> Any:
    return _one(graph, iris.instrument(instrument_id), p)


def test_instrument_statuses(graph: Graph) -> None:
    assert _instrument(graph, "BJ-AI-INDUSTRY-REGS-DRAFT", OG.hasInstrumentStatus) == OG.StatusDraft
    assert _instrument(graph, "SEED-AI-GOV-CODE-2026", OG.hasInstrumentStatus) == OG.StatusUnverified
    assert _instrument(graph, "CN-PIPL", OG.hasInstrumentStatus) == OG.StatusInForce
    assert _instrument(graph, "CN-CSL", OG.hasInstrumentStatus) == OG.StatusInForce
    assert _instrument(graph, "CN-TC260-ASGF-2024", OG.hasInstrumentStatus) == OG.StatusPublishedGuidance
    assert _instrument(graph, "BJ-AGI-MEASURES-2023", OG.hasInstrumentStatus) == OG.StatusIssuedPolicy
    assert _instrument(graph, "BJ-AGI-MEASURES-2023", OG.hasBindingForce) == OG.BindingForcePolicyGuidance
    assert _instrument(graph, "BJ-AI-INDUSTRY-REGS-DRAFT", OG.hasBindingForce) == OG.BindingForceNotYetInForce
    assert _instrument(graph, "SEED-AI-GOV-CODE-2026", OG.hasBindingForce) == OG.BindingForceUnverified
    assert _instrument(graph, "CN-TC260-003-2024", OG.hasBindingForce) == OG.BindingForceNonBinding


def test_the_ai_governance_code_says_it_is_unverified(graph: Graph) -> None:
    node = iris.instrument("SEED-AI-GOV-CODE-2026")
    label = str(_one(graph, node, RDFS.label))
    assert "AI Governance Code 2026" in label and "UNVERIFIED" in label.upper()
    assert "unverified" in str(_one(graph, node, SKOS.definition)).lower()


def test_instruments_have_english_and_chinese_titles(graph: Graph, ref: ReferenceData) -> None:
    for inst in ref.instruments:
        labels = _labels(graph, iris.instrument(inst.id))
        assert "en" in labels, inst.id
        if inst.name_zh:
            assert labels.get("zh") == inst.name_zh, inst.id


def test_plain_dates_are_typed_and_free_text_dates_are_kept(graph: Graph) -> None:
    effective = _instrument(graph, "CN-GENAI-2023", OG.effectiveOn)
    assert isinstance(effective, Literal) and str(effective) == "2023-08-15"
    assert str(effective.datatype).endswith("#date")
    texts = {str(t) for t in graph.objects(iris.instrument("CN-GENAI-2023"), OG.dateText)}
    assert "promulgated: 2023-07-10 (published 2023-07-13)" in texts


def test_article_iris_sit_under_the_jurisdiction_path(graph: Graph) -> None:
    articles = set(graph.subjects(RDF.type, OG.Article))
    assert articles
    for article in articles:
        instrument = _one(graph, article, OG.isArticleOf)
        assert (instrument, OG.hasArticle, article) in graph
        beijing = str(_one(graph, instrument, DCTERMS.identifier)).startswith("BJ-")
        assert str(article).startswith(f"{LEGAL}cn-bj/" if beijing else f"{LEGAL}cn/"), article
        assert str(article).startswith(f"{instrument}#")
    assert iris.article("BJ-STIC-REGS-2024", "A61-2") in articles


def _labels(graph: Graph, node: URIRef) -> dict[str | None, str]:
    return {lit.language: str(lit) for lit in graph.objects(node, RDFS.label) if isinstance(lit, Literal)}


def test_article_labels_in_english_and_chinese(graph: Graph) -> None:
    assert _labels(graph, iris.article("CN-GENAI-2023", "A17")) == {"en": "Art. 17", "zh": "第十七条"}
    item = _labels(graph, iris.article("CN-GENAI-2023", "A4-1"))
    assert item == {"en": "Art. 4(1)", "zh": "第四条第（一）项"}
    para = _labels(graph, iris.article("CN-CSL", "A24-1"))
    assert para == {"en": "Art. 24 para 1", "zh": "第二十四条第一款"}
    assert _labels(graph, iris.article("CN-TC260-003-2024", "S5-1")) == {"en": "Section 5.1", "zh": "第5.1条"}
    assert _labels(graph, iris.article("CN-GB45438-2025", "S5")) == {"en": "Clause 5", "zh": "第5章"}
    assert _labels(graph, iris.article("CN-GB45438-2025", "Annex-E")) == {"en": "Annex E", "zh": "附录E"}
    assert _labels(graph, iris.article("BJ-AGI-MEASURES-2023", "P5")) == {"en": "Part 5", "zh": "第五部分"}
    articles = {article for article in graph.subjects(RDF.type, OG.Article) if isinstance(article, URIRef)}
    assert all(_labels(graph, article).keys() == {"en", "zh"} for article in articles)  # lang: ZH on every label


@pytest.mark.parametrize(
    ("n", "zh"),
    [(1, "一"), (10, "十"), (17, "十七"), (20, "二十"), (21, "二十一"), (105, "一百零五"), (110, "一百一十")],
)
def test_chinese_numerals(n: int, zh: str) -> None:
    assert chinese_numeral(n) == zh


def test_authorities_and_the_beijing_cac_code(graph: Graph, ref: ReferenceData) -> None:
    authorities = set(graph.subjects(RDF.type, OG.Authority))
    assert len(authorities) == len(ref.authorities) == 30
    cac_bj = iris.authority("CAC-BJ")
    assert _one(graph, cac_bj, SKOS.notation) == Literal("CAC-BJ")
    assert _one(graph, cac_bj, DCTERMS.identifier) == Literal("BJ_CAC")
    assert (iris.obligation("ALG-09"), OG.hasCompetentAuthority, cac_bj) in graph
    assert iris.authority("BJ_CAC") not in authorities


def test_sources_are_nodes_with_their_use(graph: Graph, ref: ReferenceData) -> None:
    keys = [s.key for s in ref.sources] + [ref.risk.source.key]  # SOURCES.md and the editorial classification
    assert set(graph.subjects(RDF.type, OG.Source)) == {iris.source(k) for k in keys}
    used = set(graph.objects(None, OG.hasSource))
    assert used <= set(graph.subjects(RDF.type, OG.Source))
    assert "CSL Arts. 8, 21" in str(_one(graph, iris.source("S-01"), SKOS.note))


# Deadlines and penalties


def test_alg09_deadline_is_10_working_days_after_service_launch(graph: Graph) -> None:
    deadline = iris.deadline("ALG-09")
    assert (iris.obligation("ALG-09"), OG.hasDeadline, deadline) in graph
    assert _one(graph, deadline, OG.isRelativeTo) == OG.AnchorServiceLaunch
    assert _one(graph, deadline, OG.isCountedIn) == OG.WorkingDays
    duration = _one(graph, deadline, OG.hasDuration)
    assert isinstance(duration, URIRef)
    assert (duration, RDF.type, namespaces.TIME.Duration) in graph
    assert _one(graph, duration, namespaces.TIME.unitType) == namespaces.TIME.unitDay
    amount = _one(graph, duration, namespaces.TIME.numericDuration)
    assert isinstance(amount, Literal) and amount.toPython() == Decimal(10)


def test_periods_set_by_later_rules_count_from_the_day_those_took_effect(graph: Graph) -> None:
    """PIPL-06's 30 working days come from the CAC announcement of 2025-07-18 (handlers already above 1 million by
    2025-08-29); DSL-03's yearly period from NDSMR Art. 33 (in force 2025-01-01). Each says so, with its basis."""
    for node, day in ((iris.deadline("PIPL-06"), date(2025, 7, 18)), (iris.periodicity("DSL-03"), date(2025, 1, 1))):
        counts_from = _one(graph, node, OG.countsFrom)
        assert isinstance(counts_from, Literal) and counts_from.toPython() == day
        assert any(day.isoformat() in str(note) for note in graph.objects(node, SKOS.note))
    assert add_working_days(date(2025, 7, 18), 30) == date(2025, 8, 29)  # the announcement's date for those above


def test_a_narrower_trigger_requires_the_role_that_derives_it(graph: Graph) -> None:
    """PIPL-06 and NDSMR-02 bind personal information handlers, as the reference says, and require the role of
    their trigger's threshold (kg/reference/triggers.yaml), so they apply to those handlers only; GAI-12 binds
    generative AI service providers whose services have public-opinion attributes, NDSMR-01 data processors that
    provide generative AI services."""
    assert set(graph.objects(iris.obligation("PIPL-06"), OG.requiresRole)) == {
        OG.PersonalInformationHandlerAboveOfficerThreshold
    }
    assert set(graph.objects(iris.obligation("NDSMR-02"), OG.requiresRole)) == {
        OG.PersonalInformationHandlerOfTenMillionOrMore
    }
    assert OG.PersonalInformationHandler in set(graph.objects(iris.obligation("NDSMR-02"), OG.bindsRole))
    assert set(graph.objects(iris.obligation("GAI-12"), OG.requiresRole)) == {
        OG.PublicOpinionGenerativeAIServiceProvider
    }
    assert set(graph.objects(iris.obligation("NDSMR-01"), OG.requiresRole)) == {OG.GenerativeAIServiceProvider}
    assert {s for s, _, _ in graph.triples((None, OG.requiresRole, None))} == {
        iris.obligation(key) for key in ("PIPL-06", "NDSMR-02", "GAI-12", "NDSMR-01")
    }


def test_a_trigger_may_narrow_one_bound_role_only(graph: Graph, onto: Graph) -> None:
    """DS-09 binds deep synthesis providers and technical supporters, as the reference says; its public-opinion
    condition narrows the providers only (og:requiresNarrowerRole), so it requires nothing of every organisation.
    PIPL-05's quantity narrows the handlers it binds, not the CII operators."""
    ds09 = iris.obligation("DS-09")
    assert set(graph.objects(ds09, OG.bindsRole)) == {OG.DeepSynthesisProvider, OG.DeepSynthesisTechnicalSupporter}
    assert set(graph.objects(ds09, OG.requiresNarrowerRole)) == {OG.PublicOpinionDeepSynthesisProvider}
    assert (OG.PublicOpinionDeepSynthesisProvider, RDFS.subClassOf, OG.DeepSynthesisProvider) in onto
    pipl05 = iris.obligation("PIPL-05")  # CII operators, and handlers of PI of 1,000,000 people or more
    assert set(graph.objects(pipl05, OG.bindsRole)) == {OG.CIIOperator, OG.PersonalInformationHandler}
    assert set(graph.objects(pipl05, OG.requiresNarrowerRole)) == {OG.PersonalInformationHandlerAboveOfficerThreshold}
    assert {s for s, _, _ in graph.triples((None, OG.requiresNarrowerRole, None))} == {ds09, pipl05}


def test_a_trigger_that_narrows_a_role_the_obligation_does_not_bind_is_refused() -> None:
    reference = cached_reference()
    wrong = reference.model_copy(
        update={
            "triggers": (
                TriggerRule(
                    obligation="DS-09",
                    role="PublicOpinionGenerativeAIServiceProvider",
                    narrows="GenerativeAIServiceProvider",
                    text="Deep synthesis service provider",
                ),
            )
        }
    )
    with pytest.raises(RegulationGraphError, match="narrows og:GenerativeAIServiceProvider, a role it does not bind"):
        build_regulation_graph(wrong)


def test_gai12_needs_assessment_before_launch_and_filing_after(graph: Graph) -> None:
    deadlines = graph.objects(iris.obligation("GAI-12"), OG.hasDeadline)
    anchors = {_one(graph, d, OG.isRelativeTo) for d in deadlines}
    assert anchors == {OG.AnchorBeforeLaunch, OG.AnchorServiceLaunch}


def test_periodicities(graph: Graph) -> None:
    def period(ob_id: str) -> tuple[Any, Any]:
        node = _one(graph, iris.obligation(ob_id), OG.hasPeriodicity)
        duration = _one(graph, node, OG.hasDuration)
        amount = _one(graph, duration, namespaces.TIME.numericDuration)
        return amount.toPython(), _one(graph, duration, namespaces.TIME.unitType)

    assert period("DSL-03") == (1, namespaces.TIME.unitYear)
    assert period("PIPL-10") == (1, namespaces.TIME.unitYear)
    assert period("CSL-05") == (1, namespaces.TIME.unitYear)
    assert period("PIPL-08") == (2, namespaces.TIME.unitYear)
    assert period("AGC-03") == (6, namespaces.TIME.unitMonth)


def test_pipl06_officer_report_is_30_working_days_after_the_threshold_and_after_a_change(graph: Graph) -> None:
    """The reference: 'within 30 working days of reaching 1 million …; material changes within 30 working days'."""
    deadlines = {
        _one(graph, deadline, OG.isRelativeTo): deadline
        for deadline in graph.objects(iris.obligation("PIPL-06"), OG.hasDeadline)
    }
    assert set(deadlines) == {OG.AnchorThresholdReached, OG.AnchorServiceChange}
    for deadline in deadlines.values():
        assert _one(graph, deadline, OG.isCountedIn) == OG.WorkingDays


def test_fines_only_from_one_unambiguous_range() -> None:
    assert fine_range("on refusal or serious cases suspension and fine RMB 10,000-100,000") == (10000, 100000)
    assert fine_range("RMB 50,000-500,000; serious RMB 500,000-2,000,000") is None
    assert fine_range("serious RMB 1-10 million") is None
    assert fine_range("up to RMB 1 million (persons RMB 10,000-100,000)") is None
    assert fine_range("Not stated.") is None


def test_every_obligation_has_a_penalty_node(graph: Graph) -> None:
    for ob in graph.subjects(RDF.type, OG.Obligation):
        penalty = _one(graph, ob, OG.hasPenalty)
        assert (penalty, RDF.type, OG.Penalty) in graph
        assert _one(graph, penalty, OG.penaltyText)


def test_deadlines_penalties_and_risk_links_are_labelled_in_english_and_chinese(graph: Graph) -> None:
    """What a Chinese dashboard shows of an obligation's timing reads in Chinese (the deadline's own words rendered
    from ``deadlines.yaml``'s ``text_zh``)."""
    timings = [*graph.subjects(RDF.type, OG.Deadline), *graph.subjects(RDF.type, OG.Periodicity)]
    assert len(timings) == 33
    links = list(graph.subjects(RDF.predicate, OG.hasRiskSubdomain))
    penalties = list(graph.subjects(RDF.type, OG.Penalty))
    assert len(penalties) == 77 and links
    for node in [*timings, *penalties, *links]:
        assert isinstance(node, URIRef)
        labels = _labels(graph, node)
        assert set(labels) == {"en", "zh"}, node
        obligation_id = re.findall(r"\b[A-Z]{2,6}-\d{2}\b", labels["en"])[0]  # the first id: its own
        assert labels["zh"].startswith(obligation_id) and re.search(r"[\u4e00-\u9fff]", labels["zh"]), labels
    alg09 = _labels(graph, iris.deadline("ALG-09"))
    assert alg09["zh"].startswith("ALG-09：") and "十个工作日" in alg09["zh"], alg09
    assert _labels(graph, iris.penalty("ALG-09")) == {"en": "Penalty for ALG-09", "zh": "ALG-09 罚则"}


def test_confidence_text_with_two_levels_reads_the_lower() -> None:
    assert confidence("medium (plan inclusion) / low (first-reading date)") == OG.ConfidenceLow


# The graph and the ontology


def test_og_properties_are_used_within_their_named_domain(graph: Graph, onto: Graph) -> None:
    """No og: triple entails a wrong type (og:bindingForceText on an instrument would type it Obligation)."""

    def supers(cls: Any) -> set[Any]:
        found, todo = {cls}, [cls]
        while todo:
            for parent in onto.objects(todo.pop(), RDFS.subClassOf):
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        return found

    for s, p, _ in graph:
        domain = onto.value(p, RDFS.domain)
        if str(p).startswith(str(OG)) and isinstance(domain, URIRef):
            types = set().union(*(supers(t) for t in graph.objects(s, RDF.type)))
            assert domain in types, (s, p, domain)


def test_every_og_term_the_graph_uses_exists_in_the_ontology(graph: Graph, onto: Graph) -> None:
    defined = {s for s in onto.subjects() if isinstance(s, URIRef) and str(s).startswith(str(OG))}
    used = {p for p in graph.predicates() if str(p).startswith(str(OG))}
    used |= {o for o in graph.objects() if isinstance(o, URIRef) and str(o).startswith(str(OG))}
    assert used - defined == set()


def test_bound_roles_carry_the_actor_notation(graph: Graph, onto: Graph, ref: ReferenceData) -> None:
    for ob in ref.obligations:
        roles = graph.objects(iris.obligation(ob.id), OG.bindsRole)
        notations = {str(_one(onto, role, SKOS.notation)) for role in roles}
        assert notations == set(ob.binds), ob.id


def test_no_blank_nodes_and_the_same_input_gives_the_same_triples(graph: Graph, ref: ReferenceData) -> None:
    assert not any(isinstance(term, BNode) for triple in graph for term in triple)
    assert set(build_regulation_graph(ref)) == set(graph)


def test_turtle_round_trips(graph: Graph) -> None:
    parsed = Graph().parse(data=regulation_turtle(), format="turtle")
    assert len(parsed) == len(graph)


# Reference loading


def test_bad_reference_data_names_the_file_and_the_record(tmp_path: Path) -> None:
    directory = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, directory)
    path = directory / "obligations.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("deontic_type: permission", "deontic_type: maybe", 1), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"obligations\.yaml, record 'LBL-06'"):
        load_reference(directory)


def test_an_unknown_article_instrument_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, directory)
    path = directory / "articles.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("instrument: CN-DSL,", "instrument: CN-DSLX,", 1), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"articles\.yaml, record 'DSL-01'.*CN-DSLX"):
        load_reference(directory)


def test_a_document_number_the_reference_doubts_is_the_number_with_the_doubt_beside_it(graph: Graph) -> None:
    measures = iris.instrument("BJ-AGI-MEASURES-2023")
    assert set(graph.objects(measures, OG.documentNumber)) == {Literal("京政办发〔2023〕15号")}
    notes = [str(note) for note in graph.objects(measures, SKOS.note)]
    assert any(note.startswith("Document number 京政办发〔2023〕15号: per a republished copy") for note in notes)
    assert set(graph.objects(iris.instrument("CN-PIPL"), OG.documentNumber)) == {
        Literal("Presidential Order No. 91 (2021)")
    }, "a year in brackets is part of the number"


def test_an_instrument_cited_without_an_article_is_linked_from_its_obligation(graph: Graph) -> None:
    """No article is named, so no og:hasLegalBasis; the instrument itself is still reachable from the duty."""
    cited = {
        (str(s).rsplit("/", 1)[-1], str(o).rsplit("/", 1)[-1]) for s, o in graph.subject_objects(OG.citesInstrument)
    }
    assert {("PIPL-04", "xborder-2024"), ("PIPL-06", "pio-notice-2025"), ("ALG-10", "pubop-sa-2018")} <= cited
    for _, instrument in graph.subject_objects(OG.citesInstrument):
        assert (instrument, RDF.type, OG.Instrument) in graph


def test_an_article_carries_the_references_doubt_about_its_number(graph: Graph) -> None:
    notes = {str(n) for n in graph.objects(iris.article("CN-ETHICS-2023", "A25"), SKOS.note)}
    assert "Art. 25: article number medium." in notes
    csl = {str(n) for n in graph.objects(iris.article("CN-CSL", "A47"), SKOS.note)}
    assert "Art. 47: amended number inferred from the +2 shift." in csl
    assert not set(graph.objects(iris.article("CN-PIPL", "A38"), SKOS.note))


@pytest.mark.parametrize("name", ["SOURCES.md", "bodies_actors_sectors.yaml", "instruments.yaml", "obligations.yaml"])
def test_the_reference_copies_are_the_checked_reference(name: str) -> None:
    """``kg/reference`` holds copies of ``../shared/reference`` (beside the curated files of its own), so that the
    package builds without it; a copy that drifted would be checked, and built, instead of the reference."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "reference" / name
    assert shared.is_file(), f"{shared} is missing: CI runs with ../shared beside the clone"
    copy = Path(__file__).resolve().parents[1] / "kg" / "reference" / name
    assert copy.read_bytes() == shared.read_bytes(), f"kg/reference/{name} differs from ../shared/reference/{name}"

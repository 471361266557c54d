"""The ontology, its generated closed namespace and its meta-shapes.

The ontology must parse, be consistent for HermiT (and become inconsistent when it should), meet its
meta-shapes (and fail them when a rule is broken), cover the actor ids of the reference and every code of
the events contract (shared/spec/events.md), and stay in step with ``ontology/namespaces.py``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import owlready2
import pyshacl
import pytest
import yaml
from rdflib import BNode, Graph, Literal, URIRef
from rdflib import namespace as rdf_namespace
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS, TIME
from rdflib.term import Node

# rdflib.namespace.XSD is used through its module: pytest's collection probes module-level objects, and
# XSD warns on every unknown attribute.
from ontology import OG_NS, ONTOLOGY_DIR, ONTOLOGY_FILES, generate_namespaces, load_ontology
from ontology.namespaces import AIRO, DPV, ELI, OG, ORG, PROV, VS
from shapes import META_SHAPES, SHAPES_DIR, load_meta_shapes

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "kg" / "reference" / "bodies_actors_sectors.yaml"
ONTOLOGY_IRI = URIRef(OG_NS.rstrip("#"))
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)

# Role classes that the reference has no actor id for (TERMS.md: derived from thresholds and GenAI Art. 17, and
# NDSMR Art. 28's 10 million people, and DEEPSYN Art. 19's public-opinion providers).
ROLES_WITHOUT_REFERENCE_ID = frozenset(
    {
        OG.PersonalInformationHandlerAboveOfficerThreshold,
        OG.PersonalInformationHandlerAboveAuditThreshold,
        OG.PublicOpinionGenerativeAIServiceProvider,
        OG.PublicOpinionDeepSynthesisProvider,
        OG.PersonalInformationHandlerOfTenMillionOrMore,
    }
)

# The codes of the events contract (shared/spec/events.md), by the concept scheme that must hold them.
EVENT_CODES: dict[URIRef, tuple[str, ...]] = {
    OG.Sectors: (
        "finance",
        "healthcare",
        "education",
        "transportation",
        "public-administration",
        "information",
        "scientific-research",
        "manufacturing",
        "agriculture",
    ),
    OG.Capabilities: (
        "text-generation",
        "image-generation",
        "audio-generation",
        "video-generation",
        "virtual-scene-generation",
        "face-or-voice-editing",
        "recommendation",
        "automated-decision",
        "biometric-identification",
    ),
    OG.EvidenceKinds: (
        # filing.completed
        "algorithm",
        "generative-ai-service",
        # assessment.completed
        "security",
        "risk",
        "pi-impact",
        "ethics-review",
        "data-export-security",
        # disclosure.published
        "transparency-report",
        "training-data-summary",
        "algorithm-principles",
        # control.implemented: system kinds, then organisation kinds
        "explicit-content-label",
        "implicit-content-label",
        "complaint-channel",
        "real-identity-verification",
        "audit-trail",
        "recommendation-opt-out",
        "minor-protection",
        "pi-protection-officer",
        "ethics-committee",
        "incident-response-plan",
    ),
    OG.AssessmentOutcomes: ("passed", "failed", "conditional"),
    OG.TransferMechanisms: ("security-assessment", "standard-contract", "certification"),
    OG.Jurisdictions: ("CN", "CN-BJ"),
}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology()


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def _og_terms(graph: Graph) -> set[URIRef]:
    return {
        subject
        for subject in graph.subjects(RDF.type, None)
        if isinstance(subject, URIRef) and str(subject).startswith(OG_NS)
    }


def _descendants(graph: Graph, cls: URIRef) -> set[Node]:
    return {node for node in graph.transitive_subjects(RDFS.subClassOf, cls) if node is not None} - {cls}


def _role_classes(graph: Graph) -> set[Node]:
    return (_descendants(graph, OG.RegulatedActor) | {OG.AnyOrganisationOrIndividual}) - {OG.Organisation}


def _concepts(graph: Graph, scheme: URIRef) -> dict[str, Node]:
    return {str(graph.value(c, SKOS.notation)): c for c in graph.subjects(SKOS.inScheme, scheme)}


def _literal(graph: Graph, subject: Node, predicate: URIRef, language: str) -> list[str]:
    return [str(o) for o in graph.objects(subject, predicate) if isinstance(o, Literal) and o.language == language]


# Parsing and structure


def test_ontology_files_are_the_turtle_of_the_folder() -> None:
    assert tuple(sorted(ONTOLOGY_DIR.glob("*.ttl"))) == ONTOLOGY_FILES
    assert {path.name for path in ONTOLOGY_FILES} >= {"obligraph.ttl", "alignments.ttl", "taxonomies.ttl"}


def test_ontology_header(ontology: Graph) -> None:
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal("0.1.0")
    assert ontology.value(ONTOLOGY_IRI, URIRef("http://purl.org/vocab/vann/preferredNamespacePrefix")) == (
        Literal("og")
    )
    assert not list(ontology.triples((None, OWL.imports, None))), "no owl:imports: the graph is built offline"


def test_term_names_follow_the_case_convention(ontology: Graph) -> None:
    for term in _og_terms(ontology):
        name = str(term).removeprefix(OG_NS)
        is_property = any(
            (term, RDF.type, kind) in ontology
            for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
        )
        is_plain_individual = (term, RDF.type, OWL.NamedIndividual) in ontology and (
            term,
            RDF.type,
            SKOS.Concept,
        ) not in ontology
        assert name[0].islower() if is_property or is_plain_individual else name[0].isupper(), name


def test_every_axiom_target_is_declared(ontology: Graph) -> None:
    """Classes and properties the axioms point at, ours or external, are declared (OWL 2 DL typing)."""
    for predicate in (RDFS.subClassOf, RDFS.domain, RDFS.range, RDFS.subPropertyOf, OWL.inverseOf):
        for target in ontology.objects(None, predicate):
            if isinstance(target, BNode) or str(target).startswith(str(rdf_namespace.XSD)):
                continue
            assert any((target, RDF.type, kind) in ontology for kind in TERM_TYPES), (predicate, target)


def test_punned_role_properties_have_no_class_range(ontology: Graph) -> None:
    """og:bindsRole and og:assignedRole point at role classes used as individuals (OWL 2 punning)."""
    for prop in (OG.bindsRole, OG.assignedRole):
        assert (prop, RDF.type, OWL.ObjectProperty) in ontology
        assert ontology.value(prop, RDFS.range) is None


def test_alignments(ontology: Graph) -> None:
    expected = {
        (OG.Instrument, RDFS.subClassOf, ELI.LegalResource),
        (OG.Article, RDFS.subClassOf, ELI.LegalResourceSubdivision),
        (OG.Obligation, RDFS.subClassOf, DPV.Rule),
        (OG.Authority, RDFS.subClassOf, ORG.Organization),
        (OG.AISystem, RDFS.subClassOf, AIRO.AISystem),
        (OG.Evidence, RDFS.subClassOf, PROV.Entity),
        (OG.hasArticle, RDFS.subPropertyOf, ELI.has_part),
        (OG.isArticleOf, OWL.inverseOf, OG.hasArticle),
        (OG.RegulatedActor, RDFS.subClassOf, PROV.Agent),
        (OG.Deadline, RDFS.subClassOf, TIME.TemporalDuration),
    }
    assert expected <= set(ontology)


def test_no_alignment_says_more_than_the_vocabulary_means(ontology: Graph) -> None:
    """Claims that would entail nonsense: a person bound as a regulated actor is no org:Organization (a group of
    people); an organisation's jurisdiction is not a legal resource's (eli:jurisdiction); an article that states a
    duty is no DPV legal basis (which justifies processing); a deadline is a duration, not a time position."""
    for claim in (
        (OG.RegulatedActor, RDFS.subClassOf, ORG.Organization),
        (OG.hasJurisdiction, RDFS.subPropertyOf, ELI.jurisdiction),
        (OG.hasLegalBasis, RDFS.subPropertyOf, URIRef(f"{DPV._NS}hasLegalBasis")),
        (OG.Deadline, RDFS.subClassOf, TIME.TemporalEntity),
    ):
        assert claim not in ontology, claim


# Reasoning (HermiT through owlready2)


def _reason(graph: Graph, path: Path) -> None:
    """Run HermiT over the graph; raises OwlReadyInconsistentOntologyError when it is inconsistent.

    owlready2 reads N-Triples, not Turtle. xsd:date (ranges of og:launchedOn and the like, and every date
    in instance data) is not in the OWL 2 datatype map, so HermiT is told to ignore unsupported datatypes
    rather than refuse the ontology.
    """
    graph.serialize(path, format="nt", encoding="utf-8")
    world = owlready2.World()
    try:
        world.get_ontology(path.as_uri()).load()
        owlready2.sync_reasoner_hermit(world, debug=0, ignore_unsupported_datatypes=True)
    finally:
        world.close()


def _sample_abox(graph: Graph) -> Graph:
    """A few instances in the shape the KG writes them, including role classes used as individuals."""
    data = _copy(graph)
    ex = "https://example.org/"
    obligation, article = URIRef(ex + "obligation/GAI-12"), URIRef(ex + "legal/cn/genai-2023#A17")
    organisation, system = URIRef(ex + "org/1"), URIRef(ex + "org/1/system/chat")
    assignment, violation = URIRef(ex + "org/1/role/1"), URIRef(ex + "violation/1")
    data += [
        (obligation, RDF.type, OG.Obligation),
        (obligation, RDF.type, URIRef("http://www.w3.org/ns/odrl/2/Duty")),
        (obligation, OG.bindsRole, OG.PublicOpinionGenerativeAIServiceProvider),
        (obligation, OG.hasLegalBasis, article),
        (obligation, OG.hasDeonticKind, OG.DeonticObligation),
        (obligation, OG.requiresEvidence, OG.EvidenceAlgorithmFiling),
        (obligation, OG.hasRiskSubdomain, OG.RiskSubdomain3_1),
        (organisation, RDF.type, OG.Organisation),
        (organisation, RDF.type, OG.GenerativeAIServiceProvider),
        (organisation, OG.hasAISystem, system),
        (system, OG.hasCapability, OG.CapabilityTextGeneration),
        (assignment, RDF.type, OG.RoleAssignment),
        (assignment, OG.assignedRole, OG.GenerativeAIServiceProvider),
        (assignment, OG.isAssignedTo, organisation),
        (assignment, OG.hasReason, system),
        (violation, RDF.type, OG.Violation),
        (violation, OG.isViolationOf, obligation),
        (violation, OG.concernsOrganisation, organisation),
        (violation, OG.hasFocusNode, system),
        (violation, OG.hasSeverity, SH.Violation),
        (violation, OG.hasViolationStatus, OG.ViolationOpen),
        (system, OG.launchedOn, Literal("2026-03-01", datatype=rdf_namespace.XSD.date)),
    ]
    return data


def test_hermit_finds_the_ontology_consistent(ontology: Graph, tmp_path: Path) -> None:
    _reason(ontology, tmp_path / "ontology.nt")


def test_hermit_finds_the_ontology_with_instances_consistent(ontology: Graph, tmp_path: Path) -> None:
    _reason(_sample_abox(ontology), tmp_path / "abox.nt")


def test_hermit_detects_a_contradiction(ontology: Graph, tmp_path: Path) -> None:
    """og:Instrument and og:Authority are disjoint: one node cannot be both, so the check can fail."""
    broken = _copy(ontology)
    thing = URIRef("https://example.org/both")
    broken += [(thing, RDF.type, OG.Instrument), (thing, RDF.type, OG.Authority)]
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        _reason(broken, tmp_path / "broken.nt")


# Meta-shapes


def test_meta_shapes_location() -> None:
    assert META_SHAPES.is_file()
    assert META_SHAPES.parent == SHAPES_DIR / "meta"


def test_ontology_conforms_to_meta_shapes(ontology: Graph) -> None:
    conforms, _, text = pyshacl.validate(ontology, shacl_graph=load_meta_shapes())
    assert conforms, text


OGM = "https://w3id.org/obligraph/shapes/meta#"
VANN_PREFIX = URIRef("http://purl.org/vocab/vann/preferredNamespacePrefix")


def _break(graph: Graph) -> None:
    """One breakage per rule, each at its own term (see BROKEN_RULES)."""
    graph.remove((OG.Obligation, SKOS.definition, None))
    graph.add((OG.Penalty, SKOS.definition, Literal("A second definition.", lang="en")))
    graph.remove((OG.NetworkOperator, RDFS.label, None))
    graph.add((OG.NetworkOperator, RDFS.label, Literal("Network operator", lang="en")))
    graph.remove((OG.Instrument, RDFS.label, None))
    graph.remove((OG.Source, SKOS.prefLabel, None))
    graph.add((OG.hasArticle, RDFS.label, Literal("has part", lang="en")))
    graph.remove((OG.hasSource, VS.term_status, None))
    graph.set((OG.hasPenalty, VS.term_status, Literal("experimental")))
    graph.remove((OG.DeonticPermission, SKOS.notation, None))
    graph.remove((OG.ViolationOpen, SKOS.inScheme, None))
    graph.add((OG.Deadline, RDFS.comment, URIRef(OG_NS + "Deadlne")))
    # An external declaration without a label is not held to our rules.
    graph.remove((PROV.Entity, RDFS.label, None))


BROKEN_RULES = {
    "definition-missing": ("EnglishDefinition", OG.Obligation),
    "definition-twice": ("EnglishDefinition", OG.Penalty),
    "zh-label-missing": ("ChineseLabel", OG.NetworkOperator),
    "label-missing": ("EnglishLabel", OG.Instrument),
    "label-twice": ("EnglishLabel", OG.hasArticle),
    "pref-label-missing": ("EnglishPrefLabel", OG.Source),
    "status-missing": ("TermStatus", OG.hasSource),
    "status-unknown": ("TermStatus", OG.hasPenalty),
    "notation-missing": ("ConceptNotation", OG.DeonticPermission),
    "scheme-missing": ("ConceptScheme", OG.ViolationOpen),
    "term-undeclared": ("DeclaredTerms", ONTOLOGY_IRI),
}


@pytest.fixture(scope="module")
def broken_results(ontology: Graph) -> Iterator[set[tuple[str, Node]]]:
    broken = _copy(ontology)
    _break(broken)
    conforms, report, _ = pyshacl.validate(broken, shacl_graph=load_meta_shapes())
    assert not conforms
    yield {
        (str(report.value(result, SH.sourceShape)).removeprefix(OGM), report.value(result, SH.focusNode))
        for result in report.subjects(RDF.type, SH.ValidationResult)
    }


@pytest.mark.parametrize("case", sorted(BROKEN_RULES))
def test_meta_shapes_catch_a_broken_rule(case: str, broken_results: set[tuple[str, Node]]) -> None:
    assert BROKEN_RULES[case] in broken_results


def test_meta_shapes_report_nothing_else(broken_results: set[tuple[str, Node]]) -> None:
    """In particular, external declarations (prov:Entity without a label) are not held to our rules."""
    assert broken_results == set(BROKEN_RULES.values())


# The generated namespace module


def test_namespaces_module_is_up_to_date() -> None:
    assert generate_namespaces.main(["--check"]) == 0, "run python -m ontology.generate_namespaces"


def test_namespace_covers_every_term(ontology: Graph) -> None:
    assert {str(term) for term in _og_terms(ontology)} == {OG_NS + name for name in OG.__annotations__}


def test_namespace_is_closed() -> None:
    assert OG.Obligation == URIRef(OG_NS + "Obligation")
    with pytest.raises(AttributeError):
        _ = OG.Obligaton
    with pytest.raises(AttributeError):
        _ = ELI.has_parts


def test_generation_refuses_an_undeclared_term(ontology: Graph) -> None:
    broken = _copy(ontology)
    broken.add((OG.Obligation, RDFS.seeAlso, URIRef(OG_NS + "Obligaton")))
    with pytest.raises(generate_namespaces.GenerationError, match="Obligaton"):
        generate_namespaces.render(broken)


def test_every_concept_is_labelled_once_in_english_and_once_in_chinese(ontology: Graph) -> None:
    """A Chinese dashboard shows codes (risk subdomains, lifecycle stages, statuses, anchors …) by their labels."""
    concepts = set(ontology.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) >= 116
    for concept in concepts:
        for predicate in (RDFS.label, SKOS.prefLabel):
            english = _literal(ontology, concept, predicate, "en")
            chinese = _literal(ontology, concept, predicate, "zh")
            assert len(english) == 1 and len(chinese) == 1, (concept, predicate, english, chinese)
            assert re.search(r"[\u4e00-\u9fff]", chinese[0]), (concept, chinese)
        assert _literal(ontology, concept, RDFS.label, "zh") == _literal(ontology, concept, SKOS.prefLabel, "zh")


def test_every_concept_and_role_is_defined_in_english_and_in_chinese(ontology: Graph) -> None:
    """``Concept.definition(lang: ZH)`` on a dashboard: the Chinese renders the English, articles included."""
    defined = set(ontology.subjects(RDF.type, SKOS.Concept)) | _role_classes(ontology)
    assert len(defined) >= 116 + 31
    for term in defined:
        english = _literal(ontology, term, SKOS.definition, "en")
        chinese = _literal(ontology, term, SKOS.definition, "zh")
        assert len(english) == 1 and len(chinese) == 1, (term, english, chinese)
        assert re.search(r"[\u4e00-\u9fff]", chinese[0]), (term, chinese)
        if re.search(r"\bArts?\.", english[0]):
            assert re.search(r"第[一二三四五六七八九十百零]+条", chinese[0]), (term, chinese)


# Role classes and the reference


def test_every_reference_actor_maps_to_one_role_class(ontology: Graph) -> None:
    actors = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))["actor_types"]
    assert len(actors) == 29
    roles = _role_classes(ontology)
    for actor in actors:
        classes = [c for c in ontology.subjects(SKOS.notation, Literal(actor["id"])) if c in roles]
        assert len(classes) == 1, actor["id"]
        if actor["name_zh"]:
            assert _literal(ontology, classes[0], RDFS.label, "zh") == [actor["name_zh"]], actor["id"]
            assert (classes[0], OG.isNamedInChineseLaw, Literal(True)) in ontology


def test_every_role_class_carries_its_reference_id(ontology: Graph) -> None:
    actor_ids = {a["id"] for a in yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))["actor_types"]}
    for role in _role_classes(ontology) - ROLES_WITHOUT_REFERENCE_ID:
        notations = {str(n) for n in ontology.objects(role, SKOS.notation)}
        assert len(notations) == 1 and notations <= actor_ids, role
    for role in ROLES_WITHOUT_REFERENCE_ID:
        assert role in _role_classes(ontology)
        assert ontology.value(role, SKOS.notation) is None


def test_role_hierarchy(ontology: Graph) -> None:
    assert OG.RegulatedActor in _descendants(ontology, OG.AnyOrganisationOrIndividual)
    assert OG.Organisation in _descendants(ontology, OG.AnyOrganisationOrIndividual)
    assert OG.PersonalInformationHandlerAboveAuditThreshold in _descendants(
        ontology, OG.PersonalInformationHandlerAboveOfficerThreshold
    )
    assert {OG.DeepSynthesisProvider, OG.GenerativeAIServiceProvider} <= _descendants(ontology, OG.AIGCServiceProvider)


# Taxonomies


def test_risk_taxonomy_has_7_domains_and_24_subdomains(ontology: Graph) -> None:
    concepts = _concepts(ontology, OG.AIRiskTaxonomy)
    domains = {n for n in concepts if re.fullmatch(r"[1-7]", n)}
    subdomains = {n for n in concepts if re.fullmatch(r"[1-7]\.[1-9]", n)}
    assert len(domains) == 7
    assert len(subdomains) == 24
    assert set(concepts) == domains | subdomains
    for notation in subdomains:
        domain = notation.split(".")[0]
        assert ontology.value(concepts[notation], SKOS.broader) == concepts[domain], notation
    for notation in domains:
        assert ontology.value(concepts[notation], SKOS.broader) is None
    assert _literal(ontology, concepts["7.6"], RDFS.label, "en") == ["Multi-agent risks"]
    assert concepts["7.6"] == OG.RiskSubdomain7_6


def test_lifecycle_stages_are_the_oecd_stages(ontology: Graph) -> None:
    assert set(_concepts(ontology, OG.LifecycleStages)) == {
        "plan_design",
        "collect_process_data",
        "build_use_model",
        "verify_validate",
        "deploy",
        "operate_monitor",
    }


@pytest.mark.parametrize(
    ("scheme", "code"),
    [(scheme, code) for scheme, codes in EVENT_CODES.items() for code in codes],
    ids=lambda value: str(value).removeprefix(OG_NS),
)
def test_every_event_code_is_a_concept(ontology: Graph, scheme: URIRef, code: str) -> None:
    assert code in _concepts(ontology, scheme)


def test_every_concept_is_a_top_concept_of_its_scheme_or_has_a_broader_one(ontology: Graph) -> None:
    """So a SKOS browser can walk each scheme from its top concepts."""
    for scheme in ontology.subjects(RDF.type, SKOS.ConceptScheme):
        for concept in ontology.subjects(SKOS.inScheme, scheme):
            broader = set(ontology.objects(concept, SKOS.broader))
            top = set(ontology.objects(concept, SKOS.topConceptOf))
            assert (top == {scheme}) != bool(broader), (concept, top, broader)
            assert all((parent, SKOS.inScheme, scheme) in ontology for parent in broader), concept


def test_notations_are_unique_within_a_scheme(ontology: Graph) -> None:
    for scheme in ontology.subjects(RDF.type, SKOS.ConceptScheme):
        notations = [str(ontology.value(c, SKOS.notation)) for c in ontology.subjects(SKOS.inScheme, scheme)]
        assert len(notations) == len(set(notations)), scheme


# Package boundaries


def _imported_modules(package: Path) -> set[str]:
    modules: set[str] = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


OUR_PACKAGES = frozenset({"obligraph", "ontology", "kg", "shapes", "api", "ingest"})


def test_ontology_imports_nothing_else_of_ours() -> None:
    assert _imported_modules(ONTOLOGY_DIR) & OUR_PACKAGES <= {"ontology"}


def test_shapes_import_only_the_ontology() -> None:
    assert _imported_modules(SHAPES_DIR) & OUR_PACKAGES <= {"ontology", "shapes"}

"""The editorial risk classification (``kg/reference/risk_subdomains.yaml``) in the regulation graph.

Mapped obligations link their MIT AI Risk Repository subdomains; every link says, on a reified statement, that it
is obligraph's classification (source ``OG-RISK``, confidence low) and why; the obligations' own sources and
confidence are untouched; a bad entry is refused at load time with the file and the entry named.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

import ontology
from kg import iris
from kg.reference_data import (
    REFERENCE_DIR,
    ReferenceData,
    ReferenceDataError,
    cached_reference,
    load_reference,
    risk_subdomain_notations,
)
from kg.regulations import build_regulation_graph
from ontology.namespaces import OG, RDF, RDFS, SKOS

EDITORIAL = iris.source("OG-RISK")


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return cached_reference()


@pytest.fixture(scope="module")
def graph(ref: ReferenceData) -> Graph:
    return build_regulation_graph(ref)


def _links(graph: Graph, obligation_id: str) -> set[URIRef]:
    return {o for o in graph.objects(iris.obligation(obligation_id), OG.hasRiskSubdomain) if isinstance(o, URIRef)}


@pytest.mark.parametrize(
    ("obligation_id", "expected"),
    [
        ("GAI-07", {OG.RiskSubdomain2_1}),  # protection of user inputs and usage records
        ("LBL-01", {OG.RiskSubdomain3_1}),  # explicit labels on AI-generated content
        ("GAI-06", {OG.RiskSubdomain5_1}),  # minors' over-reliance on generative AI
        ("GAI-02", {OG.RiskSubdomain1_1, OG.RiskSubdomain2_1, OG.RiskSubdomain3_1, OG.RiskSubdomain6_1}),
    ],
)
def test_mapped_obligations_link_their_risk_subdomains(graph: Graph, obligation_id: str, expected: set[URIRef]) -> None:
    assert _links(graph, obligation_id) == expected


def test_only_classified_obligations_link_a_subdomain_and_filings_stay_unmapped(
    graph: Graph, ref: ReferenceData
) -> None:
    classified = {c.obligation for c in ref.risk.classifications}
    for ob in ref.obligations:
        notations = {link.notation for link in ref.risk_subdomains_of(ob.id)}
        expected = {OG[f"RiskSubdomain{n.replace('.', '_')}"] for n in notations}
        assert _links(graph, ob.id) == expected, ob.id
        assert bool(expected) == (ob.id in classified), ob.id
    assert _links(graph, "GAI-12") == set()  # a filing duty names no harm: left unmapped, not guessed


def test_every_link_is_a_statement_with_the_editorial_source_low_confidence_and_a_reason(
    graph: Graph, ref: ReferenceData
) -> None:
    links = [(s, o) for s, _, o in graph.triples((None, OG.hasRiskSubdomain, None))]
    assert len(links) == sum(len(c.subdomains) for c in ref.risk.classifications) > 0
    statements = set(graph.subjects(RDF.type, RDF.Statement))
    assert len(statements) == len(links)
    for obligation, subdomain in links:
        (statement,) = set(graph.subjects(RDF.subject, obligation)) & set(graph.subjects(RDF.object, subdomain))
        assert (statement, RDF.predicate, OG.hasRiskSubdomain) in graph
        assert set(graph.objects(statement, OG.hasConfidence)) == {OG.ConfidenceLow}
        assert set(graph.objects(statement, OG.hasSource)) == {EDITORIAL}
        assert "Cites the obligation's text" in str(graph.value(statement, SKOS.note))
    note = str(graph.value(iris.risk_link("GAI-07", "2.1"), SKOS.note))
    assert "not unlawfully retain input information and usage records that can identify users" in note


def test_the_editorial_source_says_what_it_is_and_the_obligations_keep_their_own(
    graph: Graph, ref: ReferenceData
) -> None:
    assert (EDITORIAL, RDF.type, OG.Source) in graph
    label = str(graph.value(EDITORIAL, RDFS.label))
    assert "obligraph editorial classification against the MIT AI Risk Repository domain taxonomy" in label
    lbl01 = iris.obligation("LBL-01")
    assert EDITORIAL not in set(graph.objects(lbl01, OG.hasSource))
    assert set(graph.objects(lbl01, OG.hasConfidence)) == {OG.ConfidenceHigh}  # the law's confidence, as before


def test_linked_concepts_are_subdomains_of_the_ontology_taxonomy(graph: Graph) -> None:
    onto = ontology.load_ontology()
    for subdomain in set(graph.objects(None, OG.hasRiskSubdomain)):
        assert (subdomain, SKOS.inScheme, OG.AIRiskTaxonomy) in onto
        assert (subdomain, SKOS.broader, None) in onto
    assert len(risk_subdomain_notations()) == 24
    assert (OG.RiskSubdomain7_6, SKOS.notation, Literal("7.6")) in onto


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "- obligation: GAI-07\n",
            "- obligation: GAI-99\n",
            r"risk_subdomains\.yaml, record 'GAI-99': obligation names unknown 'GAI-99'",
        ),
        (
            'notation: "2.1"',
            'notation: "2.9"',
            r"risk_subdomains\.yaml, record 'PIPL-01': notation names unknown '2\.9'",
        ),
        ('notation: "3.1"', 'notation: "3"', r"risk_subdomains\.yaml, record 'ALG-04': notation names unknown '3'"),
        (
            "cites: Label generated content",
            "cites: Label all outputs",
            r"record 'GAI-08': 3\.1 cites 'Label all outputs'",
        ),
        ("\nconfidence: low", "\nconfidence: certain", r"risk_subdomains\.yaml, record 'confidence'"),
        ("  key: OG-RISK\n", "  key: S-01\n", r"risk_subdomains\.yaml, record 'source': key 'S-01' is already"),
    ],
    ids=["unknown-obligation", "unknown-subdomain", "whole-domain", "quote-not-in-text", "bad-confidence", "key-taken"],
)
def test_a_bad_classification_entry_is_refused_naming_the_file_and_the_entry(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    directory = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, directory)
    path = directory / "risk_subdomains.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message):
        load_reference(directory)


def test_a_duplicate_link_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, directory)
    path = directory / "risk_subdomains.yaml"
    text = path.read_text(encoding="utf-8")
    link = (
        '  - notation: "5.1"\n    cites: nor use algorithms to induce internet addiction\n'
        "    rationale: Bars using algorithms to make minors addicted to the service.\n"
    )
    assert link in text
    path.write_text(text.replace(link, link + link, 1), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"risk_subdomains\.yaml, record 'ALG-07': notations \['5\.1'\]"):
        load_reference(directory)

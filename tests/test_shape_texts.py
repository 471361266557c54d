"""What a dashboard shows of the shapes and role rules reads in English and in Chinese: each has one label and one
comment in each language, and each message of each check one text in each (the issue asks ``sh:message`` in both)."""

from __future__ import annotations

import re

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

import shapes
from ontology.namespaces import OG, SH

CJK = re.compile(r"[\u4e00-\u9fff]")
ARTICLE_ZH = re.compile(r"第[一二三四五六七八九十百零]+条")
OBLIGATION_ID = re.compile(r"\b[A-Z]{2,6}-\d{2}\b")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return shapes.load_obligation_shapes()


def _texts(graph: Graph, subject: Node, predicate: URIRef) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for value in graph.objects(subject, predicate):
        assert isinstance(value, Literal), f"{subject} {predicate}: {value!r} is not a literal"
        found.setdefault(value.language or "", []).append(str(value))
    return found


def _described(graph: Graph) -> list[Node]:
    """The obligation shapes, the role rules and the shape that holds the rules."""
    obligation_shapes = set(graph.subjects(OG.checksObligation, None))
    rules = set(graph.subjects(RDF.type, SH.SPARQLRule))
    holders = set(graph.subjects(SH.rule, None))
    return sorted(obligation_shapes | rules | holders, key=str)


def test_the_shapes_and_rules_are_all_found(graph: Graph) -> None:
    described = _described(graph)
    assert len(set(graph.subjects(RDF.type, SH.SPARQLRule))) == 17
    assert len(set(graph.subjects(OG.checksObligation, None))) >= 27
    assert len(described) >= 43


def test_each_label_and_comment_is_given_once_in_english_and_once_in_chinese(graph: Graph) -> None:
    for subject in _described(graph):
        for predicate in (RDFS.label, RDFS.comment):
            texts = _texts(graph, subject, predicate)
            if predicate == RDFS.comment and not texts and (subject, SH.rule, None) in graph:
                continue  # the shape that only holds the rules has a label and no comment
            assert sorted(texts) == ["en", "zh"], f"{subject} {predicate}: languages {sorted(texts)}"
            (english,), (chinese,) = texts["en"], texts["zh"]
            assert CJK.search(chinese), f"{subject} {predicate}@zh is not Chinese: {chinese}"
            assert not CJK.search(english), f"{subject} {predicate}@en holds Chinese: {english}"
            missing = set(OBLIGATION_ID.findall(english)) - set(OBLIGATION_ID.findall(chinese))
            assert not missing, f"{subject} {predicate}@zh drops {missing}"


def test_each_comment_cites_its_article_or_says_its_source_is_unverified(graph: Graph) -> None:
    """The AGC shapes and rules rest on seed 003's "AI Governance Code 2026", which has no articles and no official
    text: their comments say so instead, in both languages."""
    for subject in _described(graph):
        texts = _texts(graph, subject, RDFS.comment)
        if not texts:
            continue
        english, chinese = texts["en"][0], texts["zh"][0]
        if re.search(r"\bArts?\.", english):
            assert ARTICLE_ZH.search(chinese), f"{subject}: the Chinese comment cites no article"
        else:
            assert "unverified" in english.lower(), f"{subject}: the English comment cites no article"
            assert "未经核实" in chinese, f"{subject}: the Chinese comment does not say the source is unverified"


def test_each_message_is_given_once_in_english_and_once_in_chinese(graph: Graph) -> None:
    constraints = list(graph.objects(None, SH.sparql))
    assert len(constraints) >= 34
    for constraint in constraints:
        texts = _texts(graph, constraint, SH.message)
        assert sorted(texts) == ["en", "zh"] and len(texts["en"]) == len(texts["zh"]) == 1, constraint
        placeholders = set(re.findall(r"\{\?\w+\}", texts["en"][0]))
        assert placeholders == set(re.findall(r"\{\?\w+\}", texts["zh"][0])), f"{constraint}: placeholders differ"

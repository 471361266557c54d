"""The role rules of ``shapes/roles.ttl`` through the real pipeline, and pyshacl deriving the same roles.

Each case is an event history of ORG-1; after the pipeline applied it, the derived graph must type ORG-1
with the expected roles (and every broader one), each with an assignment whose reasons are the facts that
produced it (systems, or the organisation itself) and whose rules are the rules that fired. The
differential test runs random organisation histories through the pipeline and through pyshacl, as of the
same day, and compares the whole derived graphs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyshacl import validate
from rdflib import RDF, RDFS, Graph, Literal, URIRef

import kg.pipeline
import ontology
import shapes
from kg import iris
from kg.events import parse_event
from kg.iris import Graphs
from kg.pipeline import Pipeline
from kg.roles import ROLES_DIGEST, compile_rules, role_update
from kg.store import Store
from ontology.namespaces import OG, SH
from tests.support.event_strategies import organisation_histories
from tests.support.parsed_once import sparql_parsed_once
from tests.support.shape_cases import DEFAULT_ORG, clear, focus_key, forget_judged_moments
from tests.support.union_branches import constant_objects_in_unions

ORG = iris.organisation(DEFAULT_ORG)
START = datetime.fromisoformat("2026-03-02T09:00:00+08:00")
LAUNCH = START.date().isoformat()
# Roles every regulated actor has; they carry no assignment of their own.
TOP_ROLES = frozenset({OG.RegulatedActor, OG.AnyOrganisationOrIndividual})


def rules_by_name() -> dict[str, URIRef]:
    """``generative-ai-service-provider`` → the rule IRI (names as the rules are named in shapes/roles.ttl)."""
    return {str(rule.rule).rsplit("#rule-", 1)[1]: rule.rule for rule in compile_rules(shapes.load_obligation_shapes())}


RULES = rules_by_name()


# Events of ORG-1 (times are filled in: one minute apart from START unless an event sets its own).
def registered(**data: Any) -> dict[str, Any]:
    return {"type": "organisation.registered", "data": {"name": "Acme", "jurisdiction": "CN-BJ", **data}}


def updated(**data: Any) -> dict[str, Any]:
    return {"type": "organisation.updated", "data": data}


def deployed(system: str, *capabilities: str, **data: Any) -> dict[str, Any]:
    fields = {"systemId": system, "name": system, "capabilities": list(capabilities), "launchedOn": LAUNCH}
    return {"type": "aisystem.deployed", "data": {**fields, **data}}


def retired(system: str, on: str) -> dict[str, Any]:
    return {"type": "aisystem.retired", "time": f"{on}T12:00:00+08:00", "data": {"systemId": system, "retiredOn": on}}


def internal(system: str, *capabilities: str, **data: Any) -> dict[str, Any]:
    return deployed(system, *capabilities, publicFacing=False, **data)


def transfer(transfer_id: str, **data: Any) -> dict[str, Any]:
    fields = {"transferId": transfer_id, "destination": "SG", "startedOn": LAUNCH}
    return {"type": "transfer.started", "data": {**fields, **data}}


def transfer_ended(transfer_id: str, on: str) -> dict[str, Any]:
    data = {"transferId": transfer_id, "endedOn": on}
    return {"type": "transfer.ended", "time": f"{on}T12:00:00+08:00", "data": data}


@dataclass(frozen=True)
class Expected:
    """A role ORG-1 must have: the facts it rests on ("organisation" or "system:<id>") and the rules that fired."""

    reasons: frozenset[str]
    rules: frozenset[str]


def _as_set(value: str | Sequence[str]) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


def role(reasons: str | Sequence[str], rules: str | Sequence[str]) -> Expected:
    return Expected(_as_set(reasons), _as_set(rules))


@dataclass(frozen=True)
class RoleCase:
    name: str
    events: tuple[Mapping[str, Any], ...]
    roles: Mapping[URIRef, Expected] = field(default_factory=dict)
    absent: frozenset[URIRef] = frozenset()
    as_of: date | None = None  # re-validate everyone as of this day afterwards (the clock)


S1, S2 = "system:S1", "system:S2"
T1 = "transfer:T1"
PUBLIC_TEXT_GENERATOR = (registered(), deployed("S1", "text-generation"))
GENAI_ROLES = frozenset(
    {
        OG.GenerativeAIServiceProvider,
        OG.AIGCServiceProvider,
        OG.AlgorithmicRecommendationProvider,
        OG.DeepSynthesisProvider,
        OG.NetworkOperator,
    }
)

CASES = [
    # Network operator (CSL Art. 76(3)).
    RoleCase(
        "public-facing system makes a network operator",
        (registered(), deployed("S1", "biometric-identification")),
        {OG.NetworkOperator: role(S1, "network-operator")},
        absent=frozenset({OG.AlgorithmicRecommendationProvider, OG.AIGCServiceProvider}),
    ),
    RoleCase(
        "internal system makes no network operator",
        (registered(), internal("S1", "biometric-identification")),
        absent=frozenset({OG.NetworkOperator}),
    ),
    # Algorithmic recommendation (ALGO Art. 2; Arts. 24, 27).
    RoleCase(
        "public recommender makes an algorithmic recommendation provider",
        (registered(), deployed("S1", "recommendation")),
        {OG.AlgorithmicRecommendationProvider: role(S1, "algorithmic-recommendation-provider")},
        absent=frozenset({OG.PublicOpinionAlgorithmicRecommendationProvider, OG.GenerativeAIServiceProvider}),
    ),
    RoleCase(
        "public automated decisions make an algorithmic recommendation provider",
        (registered(), deployed("S1", "automated-decision")),
        {OG.AlgorithmicRecommendationProvider: role(S1, "algorithmic-recommendation-provider")},
    ),
    RoleCase(
        "public biometric identification is no algorithmic recommendation",
        (registered(), deployed("S1", "biometric-identification", "face-or-voice-editing")),
        absent=frozenset({OG.AlgorithmicRecommendationProvider}),
    ),
    RoleCase(
        "internal recommender is no algorithmic recommendation provider",
        (registered(), internal("S1", "recommendation", publicOpinionAttributes=True)),
        absent=frozenset({OG.AlgorithmicRecommendationProvider, OG.PublicOpinionAlgorithmicRecommendationProvider}),
    ),
    RoleCase(
        "public recommender with public-opinion attributes",
        (registered(), deployed("S1", "recommendation", publicOpinionAttributes=True)),
        {
            OG.PublicOpinionAlgorithmicRecommendationProvider: role(
                S1, "public-opinion-algorithmic-recommendation-provider"
            ),
            OG.AlgorithmicRecommendationProvider: role(S1, "algorithmic-recommendation-provider"),
        },
        absent=frozenset({OG.PublicOpinionGenerativeAIServiceProvider}),
    ),
    # Generative AI (GenAI Arts. 2, 22, 17), deep synthesis (DEEPSYN Art. 23), AIGC (Labeling Art. 2).
    RoleCase(
        "public text generator",
        PUBLIC_TEXT_GENERATOR,
        {
            OG.GenerativeAIServiceProvider: role(S1, "generative-ai-service-provider"),
            OG.AIGCServiceProvider: role(S1, ["generative-ai-service-provider", "deep-synthesis-provider"]),
            OG.AlgorithmicRecommendationProvider: role(S1, "algorithmic-recommendation-provider"),
            OG.DeepSynthesisProvider: role(S1, "deep-synthesis-provider"),
            OG.NetworkOperator: role(S1, "network-operator"),
            OG.DataProcessor: role(S1, "data-processor"),
        },
        absent=frozenset({OG.PublicOpinionGenerativeAIServiceProvider, OG.LargeScaleGenerativeAIProvider}),
    ),
    RoleCase(
        "internal text generator provides no public service",
        (registered(), internal("S1", "text-generation")),
        {OG.DataProcessor: role(S1, "data-processor")},
        absent=GENAI_ROLES,
    ),
    RoleCase(
        "public text generator with public-opinion attributes",
        (registered(), deployed("S1", "text-generation", publicOpinionAttributes=True)),
        {
            OG.PublicOpinionGenerativeAIServiceProvider: role(S1, "public-opinion-generative-ai-service-provider"),
            OG.GenerativeAIServiceProvider: role(S1, "generative-ai-service-provider"),
            OG.PublicOpinionAlgorithmicRecommendationProvider: role(
                S1, "public-opinion-algorithmic-recommendation-provider"
            ),
        },
    ),
    RoleCase(
        "public-opinion recommender is no generative AI provider",
        (registered(), deployed("S1", "recommendation", publicOpinionAttributes=True)),
        absent=frozenset({OG.PublicOpinionGenerativeAIServiceProvider, OG.GenerativeAIServiceProvider}),
    ),
    RoleCase(
        "public face editor with public-opinion attributes",
        (registered(), deployed("S1", "face-or-voice-editing", publicOpinionAttributes=True)),
        {
            OG.PublicOpinionDeepSynthesisProvider: role(S1, "public-opinion-deep-synthesis-provider"),
            OG.DeepSynthesisProvider: role(S1, "deep-synthesis-provider"),
        },
        absent=frozenset({OG.PublicOpinionGenerativeAIServiceProvider, OG.GenerativeAIServiceProvider}),
    ),
    RoleCase(
        "internal face editor with public-opinion attributes provides no deep synthesis service",
        (registered(), internal("S1", "face-or-voice-editing", publicOpinionAttributes=True)),
        absent=frozenset({OG.PublicOpinionDeepSynthesisProvider, OG.DeepSynthesisProvider}),
    ),
    RoleCase(
        "public face editor is a deep synthesis provider, not a generative AI provider",
        (registered(), deployed("S1", "face-or-voice-editing")),
        {
            OG.DeepSynthesisProvider: role(S1, "deep-synthesis-provider"),
            OG.AIGCServiceProvider: role(S1, "deep-synthesis-provider"),
        },
        absent=frozenset(
            {
                OG.GenerativeAIServiceProvider,
                OG.AlgorithmicRecommendationProvider,
                OG.PublicOpinionDeepSynthesisProvider,
            }
        ),
    ),
    RoleCase(
        "AIGC reasons accumulate over two systems and two rules",
        (registered(), deployed("S1", "video-generation"), deployed("S2", "face-or-voice-editing")),
        {
            OG.AIGCServiceProvider: role([S1, S2], ["generative-ai-service-provider", "deep-synthesis-provider"]),
            OG.GenerativeAIServiceProvider: role(S1, "generative-ai-service-provider"),
            OG.DeepSynthesisProvider: role([S1, S2], "deep-synthesis-provider"),
        },
    ),
    RoleCase(
        "public recommender is no AIGC provider",
        (registered(), deployed("S1", "recommendation")),
        absent=frozenset({OG.DeepSynthesisProvider, OG.AIGCServiceProvider}),
    ),
    # Time: a system is live from its launch day until its retirement day.
    RoleCase(
        "retired text generator loses its roles on the next validation",
        (*PUBLIC_TEXT_GENERATOR, retired("S1", "2026-04-01")),
        absent=GENAI_ROLES | {OG.DataProcessor, OG.RegulatedActor, OG.AnyOrganisationOrIndividual},
    ),
    RoleCase(
        "retirement announced for later keeps the roles until that day",
        (*PUBLIC_TEXT_GENERATOR, {**retired("S1", "2026-04-01"), "time": "2026-03-20T12:00:00+08:00"}),
        {OG.GenerativeAIServiceProvider: role(S1, "generative-ai-service-provider")},
    ),
    RoleCase(
        "retirement day reached by the clock",
        (*PUBLIC_TEXT_GENERATOR, {**retired("S1", "2026-04-01"), "time": "2026-03-20T12:00:00+08:00"}),
        absent=GENAI_ROLES,
        as_of=date(2026, 4, 1),
    ),
    RoleCase(
        "system launching next month has no role yet",
        (registered(), deployed("S1", "text-generation", launchedOn="2026-04-01")),
        absent=GENAI_ROLES | {OG.DataProcessor},
    ),
    RoleCase(
        "launch day reached by the clock",
        (registered(), deployed("S1", "text-generation", launchedOn="2026-04-01")),
        {OG.GenerativeAIServiceProvider: role(S1, "generative-ai-service-provider")},
        as_of=date(2026, 4, 1),
    ),
    RoleCase(
        "turned internal, the public-service roles go",
        (*PUBLIC_TEXT_GENERATOR, {"type": "aisystem.updated", "data": {"systemId": "S1", "publicFacing": False}}),
        {OG.DataProcessor: role(S1, "data-processor")},
        absent=GENAI_ROLES,
    ),
    # Data processors (DSL Arts. 21, 27, 30) and CII operators (CSL Art. 31).
    RoleCase(
        "personal information alone makes a data processor",
        (registered(personalInformationSubjects=5),),
        {OG.DataProcessor: role("organisation", "data-processor")},
    ),
    RoleCase(
        "a system and personal information: both are reasons",
        (registered(personalInformationSubjects=5), internal("S1", "recommendation")),
        {OG.DataProcessor: role(["organisation", S1], "data-processor")},
    ),
    RoleCase(
        "no system and no personal information: no role at all",
        (registered(personalInformationSubjects=0, sectors=["finance", "healthcare"]),),
        absent=frozenset({OG.DataProcessor, OG.RegulatedActor, OG.AnyOrganisationOrIndividual}),
    ),
    RoleCase(
        "important-data processor",
        (registered(importantDataProcessor=True),),
        {
            OG.ImportantDataProcessor: role("organisation", "important-data-processor"),
            OG.DataProcessor: role("organisation", "important-data-processor"),
        },
    ),
    RoleCase(
        "important-data processor with a system: data processor for both reasons",
        (registered(importantDataProcessor=True), internal("S1", "recommendation")),
        {OG.DataProcessor: role(["organisation", S1], ["important-data-processor", "data-processor"])},
    ),
    RoleCase(
        "not an important-data processor",
        (registered(importantDataProcessor=False),),
        absent=frozenset({OG.ImportantDataProcessor, OG.DataProcessor}),
    ),
    RoleCase(
        "no longer an important-data processor",
        (registered(importantDataProcessor=True), updated(importantDataProcessor=False)),
        absent=frozenset({OG.ImportantDataProcessor, OG.DataProcessor}),
    ),
    RoleCase(
        "exporting important data makes an important-data processor",
        (registered(), transfer("T1", importantData=True)),
        {
            OG.ImportantDataProcessor: role(T1, "important-data-processor"),
            OG.DataProcessor: role(T1, ["important-data-processor", "data-processor"]),
        },
        absent=frozenset({OG.PersonalInformationHandler}),
    ),
    RoleCase(
        "reported and exporting: both are reasons",
        (registered(importantDataProcessor=True), transfer("T1", importantData=True)),
        {OG.ImportantDataProcessor: role(["organisation", T1], "important-data-processor")},
    ),
    RoleCase(
        "a transfer of no important data makes a data processor only",
        (registered(), transfer("T1", importantData=False)),
        {OG.DataProcessor: role(T1, "data-processor")},
        absent=frozenset({OG.ImportantDataProcessor, OG.PersonalInformationHandler}),
    ),
    RoleCase(
        "an export of important data that ended: no role",
        (registered(), transfer("T1", importantData=True), transfer_ended("T1", "2026-04-01")),
        absent=frozenset({OG.ImportantDataProcessor, OG.DataProcessor}),
    ),
    RoleCase(
        "an export of important data starting next month: no role yet",
        (registered(), transfer("T1", importantData=True, startedOn="2026-04-01")),
        absent=frozenset({OG.ImportantDataProcessor, OG.DataProcessor}),
    ),
    RoleCase(
        "an export of important data reached by the clock",
        (registered(), transfer("T1", importantData=True, startedOn="2026-04-01")),
        {OG.ImportantDataProcessor: role(T1, "important-data-processor")},
        as_of=date(2026, 4, 1),
    ),
    RoleCase(
        "CII operator is a network operator",
        (registered(ciiOperator=True),),
        {
            OG.CIIOperator: role("organisation", "cii-operator"),
            OG.NetworkOperator: role("organisation", "cii-operator"),
        },
    ),
    RoleCase(
        "CII operator with a public system: network operator for both reasons",
        (registered(ciiOperator=True), deployed("S1", "biometric-identification")),
        {OG.NetworkOperator: role(["organisation", S1], ["cii-operator", "network-operator"])},
    ),
    RoleCase(
        "not a CII operator",
        (registered(ciiOperator=False),),
        absent=frozenset({OG.CIIOperator, OG.NetworkOperator}),
    ),
    # Personal information handlers (PIPL Arts. 73, 52, 54).
    RoleCase(
        "one person's personal information makes a handler",
        (registered(personalInformationSubjects=1),),
        {OG.PersonalInformationHandler: role("organisation", "personal-information-handler")},
        absent=frozenset({OG.PersonalInformationHandlerAboveOfficerThreshold}),
    ),
    RoleCase(
        "a live system processing personal information makes a handler",
        (registered(), internal("S1", "recommendation", processesPersonalInformation=True)),
        {OG.PersonalInformationHandler: role(S1, "personal-information-handler")},
    ),
    RoleCase(
        "a live biometric-identification system makes a handler (sensitive personal information)",
        (registered(), internal("S1", "biometric-identification")),
        {OG.PersonalInformationHandler: role(S1, "personal-information-handler")},
    ),
    RoleCase(
        "a biometric-identification system declared to process no personal information makes no handler",
        (registered(), internal("S1", "biometric-identification", processesPersonalInformation=False)),
        absent=frozenset({OG.PersonalInformationHandler}),
    ),
    RoleCase(
        "a transfer of personal information makes a handler",
        (registered(), transfer("T1", personalInformationSubjects=5000)),
        {
            OG.PersonalInformationHandler: role(T1, "personal-information-handler"),
            OG.DataProcessor: role(T1, "data-processor"),
        },
        absent=frozenset({OG.PersonalInformationHandlerAboveOfficerThreshold, OG.ImportantDataProcessor}),
    ),
    RoleCase(
        "a transfer stated to carry no personal information makes no handler",
        (registered(), transfer("T1", personalInformationSubjects=0)),
        {OG.DataProcessor: role(T1, "data-processor")},
        absent=frozenset({OG.PersonalInformationHandler}),
    ),
    RoleCase(
        "an ended transfer of personal information: no handler",
        (registered(), transfer("T1", personalInformationSubjects=5000), transfer_ended("T1", "2026-04-01")),
        absent=frozenset({OG.PersonalInformationHandler, OG.DataProcessor}),
    ),
    RoleCase(
        "a transfer ending later keeps the handler until that day",
        (
            registered(),
            transfer("T1", personalInformationSubjects=5000),
            {**transfer_ended("T1", "2026-04-01"), "time": "2026-03-20T12:00:00+08:00"},
        ),
        {OG.PersonalInformationHandler: role(T1, "personal-information-handler")},
    ),
    RoleCase(
        "no personal information, no handler",
        (
            registered(personalInformationSubjects=0),
            internal("S1", "recommendation", processesPersonalInformation=False),
        ),
        absent=frozenset({OG.PersonalInformationHandler}),
    ),
    RoleCase(
        "retired system processing personal information: no handler",
        (
            registered(),
            internal("S1", "recommendation", processesPersonalInformation=True),
            retired("S1", "2026-04-01"),
        ),
        absent=frozenset({OG.PersonalInformationHandler}),
    ),
    RoleCase(
        "1,000,000 people reach the officer threshold",
        (registered(personalInformationSubjects=1_000_000),),
        {
            OG.PersonalInformationHandlerAboveOfficerThreshold: role(
                "organisation", "personal-information-handler-above-officer-threshold"
            ),
            OG.PersonalInformationHandler: role("organisation", "personal-information-handler"),
        },
        absent=frozenset({OG.PersonalInformationHandlerAboveAuditThreshold}),
    ),
    RoleCase(
        "999,999 people stay below the officer threshold",
        (registered(personalInformationSubjects=999_999),),
        {OG.PersonalInformationHandler: role("organisation", "personal-information-handler")},
        absent=frozenset({OG.PersonalInformationHandlerAboveOfficerThreshold}),
    ),
    RoleCase(
        "falling below the officer threshold",
        (registered(personalInformationSubjects=1_000_000), updated(personalInformationSubjects=10)),
        absent=frozenset({OG.PersonalInformationHandlerAboveOfficerThreshold}),
    ),
    RoleCase(
        "more than 10,000,000 people reach the audit threshold",
        (registered(personalInformationSubjects=10_000_001),),
        {
            OG.PersonalInformationHandlerAboveAuditThreshold: role(
                "organisation", "personal-information-handler-above-audit-threshold"
            ),
            OG.PersonalInformationHandlerAboveOfficerThreshold: role(
                "organisation", "personal-information-handler-above-officer-threshold"
            ),
        },
    ),
    RoleCase(
        "exactly 10,000,000 people stay below the audit threshold",
        (registered(personalInformationSubjects=10_000_000),),
        {
            OG.PersonalInformationHandlerAboveOfficerThreshold: role(
                "organisation", "personal-information-handler-above-officer-threshold"
            )
        },
        absent=frozenset({OG.PersonalInformationHandlerAboveAuditThreshold}),
    ),
    RoleCase(
        "exactly 10,000,000 people make a handler of 10 million or more (NDSMR Art. 28: 1000万人以上)",
        (registered(personalInformationSubjects=10_000_000),),
        {
            OG.PersonalInformationHandlerOfTenMillionOrMore: role(
                "organisation", "personal-information-handler-of-ten-million-or-more"
            ),
            OG.PersonalInformationHandlerAboveOfficerThreshold: role(
                "organisation", "personal-information-handler-above-officer-threshold"
            ),
        },
        absent=frozenset({OG.PersonalInformationHandlerAboveAuditThreshold}),
    ),
    RoleCase(
        "9,999,999 people stay below 10 million",
        (registered(personalInformationSubjects=9_999_999),),
        absent=frozenset({OG.PersonalInformationHandlerOfTenMillionOrMore}),
    ),
    RoleCase(
        "an export of 10,000,000 people makes a handler of 10 million or more while it lasts",
        (
            registered(personalInformationSubjects=5000),
            transfer("T1", personalInformationSubjects=10_000_000),
            {**transfer_ended("T1", "2026-05-01"), "time": "2026-03-20T12:00:00+08:00"},
        ),
        {
            OG.PersonalInformationHandlerOfTenMillionOrMore: role(
                T1, "personal-information-handler-of-ten-million-or-more"
            )
        },
    ),
    RoleCase(
        "an export of 1,000,000 people's personal information reaches the officer threshold",
        (registered(), transfer("T1", personalInformationSubjects=1_000_000)),
        {
            OG.PersonalInformationHandlerAboveOfficerThreshold: role(
                T1, "personal-information-handler-above-officer-threshold"
            ),
            OG.PersonalInformationHandler: role(T1, "personal-information-handler"),
        },
        absent=frozenset({OG.PersonalInformationHandlerAboveAuditThreshold}),
    ),
    RoleCase(
        "an export of more than 10,000,000 people reaches the audit threshold",
        (registered(personalInformationSubjects=5000), transfer("T1", personalInformationSubjects=10_000_001)),
        {
            OG.PersonalInformationHandlerAboveAuditThreshold: role(
                T1, "personal-information-handler-above-audit-threshold"
            ),
            OG.PersonalInformationHandlerAboveOfficerThreshold: role(
                T1, "personal-information-handler-above-officer-threshold"
            ),
            OG.PersonalInformationHandler: role(("organisation", T1), "personal-information-handler"),
        },
    ),
    RoleCase(
        "the organisation's own count and its export both reach the officer threshold",
        (registered(personalInformationSubjects=2_000_000), transfer("T1", personalInformationSubjects=1_500_000)),
        {
            OG.PersonalInformationHandlerAboveOfficerThreshold: role(
                ("organisation", T1), "personal-information-handler-above-officer-threshold"
            ),
        },
    ),
    RoleCase(
        "the officer threshold an export reached ends with the export",
        (
            registered(personalInformationSubjects=5000),
            transfer("T1", personalInformationSubjects=1_200_000),
            transfer_ended("T1", "2026-04-01"),
        ),
        {OG.PersonalInformationHandler: role("organisation", "personal-information-handler")},
        absent=frozenset({OG.PersonalInformationHandlerAboveOfficerThreshold}),
    ),
    RoleCase(
        "an export starting on a later day reaches the officer threshold on that day",
        (registered(), transfer("T1", personalInformationSubjects=1_200_000, startedOn="2026-05-01")),
        {
            OG.PersonalInformationHandlerAboveOfficerThreshold: role(
                T1, "personal-information-handler-above-officer-threshold"
            )
        },
        as_of=date(2026, 5, 1),
    ),
    # S&T activity institutions (Ethics Review Measures, medium confidence).
    RoleCase(
        "live automated-decision system makes an S&T activity institution",
        (registered(), internal("S1", "automated-decision")),
        {OG.STActivityInstitution: role(S1, "st-activity-institution")},
    ),
    RoleCase(
        "live system with public-opinion attributes makes an S&T activity institution",
        (registered(), internal("S1", "recommendation", publicOpinionAttributes=True)),
        {OG.STActivityInstitution: role(S1, "st-activity-institution")},
    ),
    RoleCase(
        "healthcare organisation with a live system: the system and the organisation are reasons",
        (registered(sectors=["healthcare"]), internal("S1", "image-generation")),
        {OG.STActivityInstitution: role(["organisation", S1], "st-activity-institution")},
    ),
    RoleCase(
        "research organisation with a live system",
        (registered(sectors=["scientific-research"]), internal("S1", "text-generation")),
        {OG.STActivityInstitution: role(["organisation", S1], "st-activity-institution")},
    ),
    RoleCase(
        "manufacturing organisation with a text generator is no S&T activity institution",
        (registered(sectors=["manufacturing"]), internal("S1", "text-generation", sectors=["healthcare"])),
        absent=frozenset({OG.STActivityInstitution}),
    ),
    RoleCase(
        "healthcare organisation without a system is no S&T activity institution",
        (registered(sectors=["healthcare"], personalInformationSubjects=100),),
        absent=frozenset({OG.STActivityInstitution}),
    ),
    # Seed 003 (unverified, low confidence).
    RoleCase(
        "live system in finance makes a high-impact sector deployer",
        (registered(sectors=["manufacturing"]), internal("S1", "automated-decision", sectors=["finance"])),
        {OG.HighImpactSectorAIDeployer: role(S1, "high-impact-sector-ai-deployer")},
    ),
    RoleCase(
        "education organisation with a live system makes a high-impact sector deployer",
        (registered(sectors=["education"]), internal("S1", "recommendation")),
        {OG.HighImpactSectorAIDeployer: role(["organisation", S1], "high-impact-sector-ai-deployer")},
    ),
    RoleCase(
        "transportation organisation without a system deploys no AI",
        (registered(sectors=["transportation"]),),
        absent=frozenset({OG.HighImpactSectorAIDeployer}),
    ),
    RoleCase(
        "system and organisation outside the high-impact sectors",
        (registered(sectors=["agriculture"]), internal("S1", "recommendation", sectors=["manufacturing"])),
        absent=frozenset({OG.HighImpactSectorAIDeployer}),
    ),
    RoleCase(
        "large-scale text generator makes a large-scale generative AI provider",
        (registered(), internal("S1", "text-generation", largeScale=True)),
        {OG.LargeScaleGenerativeAIProvider: role(S1, "large-scale-generative-ai-provider")},
    ),
    RoleCase(
        "large-scale recommender generates nothing",
        (registered(), deployed("S1", "recommendation", largeScale=True)),
        absent=frozenset({OG.LargeScaleGenerativeAIProvider}),
    ),
    RoleCase(
        "text generator not reported large-scale",
        (registered(), deployed("S1", "text-generation", largeScale=False)),
        absent=frozenset({OG.LargeScaleGenerativeAIProvider}),
    ),
]


@pytest.fixture(scope="module")
def hierarchy() -> Graph:
    return ontology.load_ontology()


def case_events(case: RoleCase) -> Iterator[dict[str, Any]]:
    for number, raw in enumerate(case.events):
        moment = START + timedelta(minutes=number)
        yield {
            "specversion": "1.0",
            "id": f"{case.name}#{number}",
            "source": "urn:test:roles",
            "subject": DEFAULT_ORG,
            "time": moment.isoformat(),
            **raw,
        }


def run(store: Store, pipeline: Pipeline, case: RoleCase) -> None:
    clear(store)
    for raw in case_events(case):
        result = pipeline.process([parse_event(raw)])
        assert not result.rejected, result.rejected[0].reason
    if case.as_of is not None:
        pipeline.revalidate(case.as_of)


def derived_graph(store: Store) -> Graph:
    graph = Graph()
    graph.parse(data=store.export_graph(Graphs.DERIVED, ox.RdfFormat.N_TRIPLES), format="nt")
    return graph


def role_types(graph: Graph) -> set[tuple[URIRef, URIRef]]:
    """(organisation, role) for every rdf:type the rules gave an organisation."""
    return {
        (URIRef(str(s)), URIRef(str(o)))
        for s, o in graph.subject_objects(RDF.type)
        if isinstance(s, URIRef) and o != OG.RoleAssignment
    }


def broader(hierarchy: Graph, role_class: URIRef) -> set[URIRef]:
    return {URIRef(str(c)) for c in hierarchy.transitive_objects(role_class, RDFS.subClassOf)} - {role_class}


def assert_well_formed(graph: Graph, hierarchy: Graph) -> None:
    """Every role comes with every broader role, and (but for the top two) with an assignment explaining it."""
    typed = role_types(graph)
    for organisation, role_class in typed:
        ancestors = {c for c in broader(hierarchy, role_class) if c.startswith(str(OG))}
        missing = {c for c in ancestors if (organisation, c) not in typed}
        assert not missing, f"{organisation} is a {role_class} but not {sorted(missing)}"
        if role_class in TOP_ROLES:
            continue
        assignment = iris.role_assignment(organisation, role_class.rsplit("#", 1)[1])
        assert (assignment, OG.assignedRole, role_class) in graph, f"{organisation}: no assignment of {role_class}"
        assert (assignment, OG.isAssignedTo, organisation) in graph
        assert set(graph.objects(assignment, OG.hasReason)), f"{assignment} has no reason"
        assert set(graph.objects(assignment, OG.isDerivedByRule)), f"{assignment} names no rule"
    for explained in graph.subjects(RDF.type, OG.RoleAssignment):
        assigned_to, assigned_role = graph.value(explained, OG.isAssignedTo), graph.value(explained, OG.assignedRole)
        assert (assigned_to, assigned_role) in typed, f"{explained} assigns a role the organisation lacks"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_role_rule(case: RoleCase, store: Store, pipeline: Pipeline, hierarchy: Graph) -> None:
    run(store, pipeline, case)
    graph = derived_graph(store)
    roles = {role_class for organisation, role_class in role_types(graph) if organisation == ORG}
    for role_class, expected in case.roles.items():
        assert role_class in roles, f"not a {role_class}: {sorted(roles)}"
        assignment = iris.role_assignment(ORG, role_class.rsplit("#", 1)[1])
        reasons = {focus_key(str(reason)) for reason in graph.objects(assignment, OG.hasReason)}
        assert reasons == expected.reasons, f"reasons of {role_class}"
        rules = {URIRef(str(rule)) for rule in graph.objects(assignment, OG.isDerivedByRule)}
        assert rules == {RULES[name] for name in expected.rules}, f"rules of {role_class}"
    assert not roles & case.absent, f"unexpected roles: {sorted(roles & case.absent)}"
    assert_well_formed(graph, hierarchy)


def _role_writes(pipeline: Pipeline, day: date) -> list[str]:
    """The updates a clock pass as of ``day`` sends for the roles, recorded as the pipeline sends them."""
    sent: list[str] = []

    def recording(main: Store, changed: Mapping[URIRef, set[bytes]]) -> list[str]:
        operations = role_update(main, changed)
        sent.extend(operations)
        return operations

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kg.pipeline, "role_update", recording)
        pipeline.revalidate(day)
    return sent


def test_unchanged_roles_are_not_rewritten_and_changed_ones_replace_the_old(store: Store, pipeline: Pipeline) -> None:
    clear(store)
    for raw in case_events(RoleCase("history", (registered(), deployed("chat", "text-generation")))):
        assert not pipeline.process([parse_event(raw)]).rejected
    before = derived_graph(store)
    assert (ORG, RDF.type, OG.GenerativeAIServiceProvider) in before
    assert _role_writes(pipeline, START.date()) == [], "roles unchanged, yet written again"
    assert set(derived_graph(store)) == set(before)

    retire = {"type": "aisystem.retired", "data": {"systemId": "chat", "retiredOn": LAUNCH}}
    event = {**next(case_events(RoleCase("retire", (retire,)))), "id": "retire", "time": "2026-03-03T09:00:00+08:00"}
    assert not pipeline.process([parse_event(event)]).rejected
    after = derived_graph(store)
    assert (ORG, RDF.type, OG.GenerativeAIServiceProvider) not in after
    assert not set(after.subjects(OG.isAssignedTo, ORG)), "a retired system's assignments stayed behind"
    assert _role_writes(pipeline, date(2026, 3, 3)) == []


def test_roles_stored_without_a_digest_are_rewritten_once_without_duplicates(store: Store, pipeline: Pipeline) -> None:
    """A store written before digests were kept (or by a bulk load) holds roles and no digest: the next validation
    replaces them with the same triples and a digest, and the one after writes nothing."""
    clear(store)
    for raw in case_events(RoleCase("history", (registered(), deployed("feed", "recommendation")))):
        assert not pipeline.process([parse_event(raw)]).rejected
    before = set(derived_graph(store))
    store.update(f"DELETE WHERE {{ GRAPH <{Graphs.META}> {{ ?org {ROLES_DIGEST.n3()} ?digest }} }}")
    assert _role_writes(pipeline, START.date()) != []
    assert set(derived_graph(store)) == before
    assert _role_writes(pipeline, START.date()) == []


def test_every_rule_is_exercised_by_a_case() -> None:
    fired = {name for case in CASES for expected in case.roles.values() for name in expected.rules}
    assert fired == set(RULES)


def test_every_rule_cites_its_basis_and_confidence() -> None:
    graph = shapes.load_obligation_shapes()
    attached = set(graph.objects(None, SH.rule))
    for rule in RULES.values():
        assert rule in attached, f"{rule} is not attached to obs:RoleRules"
        assert graph.value(rule, RDF.type) == SH.SPARQLRule
        labels = {label.language for label in graph.objects(rule, RDFS.label) if isinstance(label, Literal)}
        assert "en" in labels, f"{rule}: an English label"
        comment = next((c for c in graph.objects(rule, RDFS.comment) if getattr(c, "language", None) == "en"), None)
        assert comment, f"{rule}: an English comment citing its basis"
        confidence = graph.value(rule, OG.hasConfidence)
        assert confidence in {OG.ConfidenceHigh, OG.ConfidenceMedium, OG.ConfidenceLow}, rule
        if confidence != OG.ConfidenceHigh:
            word = "medium" if confidence == OG.ConfidenceMedium else "low"
            assert f"{word} confidence" in str(comment).lower(), rule
        construct = str(graph.value(rule, SH.construct))
        assert construct.count("og:validationContext og:asOf ?asOf .") == 1, rule
        assert f"og:isDerivedByRule obs:{rule.rsplit('#', 1)[1]} ." in construct, f"{rule} names another rule"


# The differential test: random organisations, the pipeline against pyshacl as of the same day.
as_of_days = st.dates(date(2019, 6, 1), date(2031, 6, 30))
populations = st.lists(
    st.integers(0, 10_000).flatmap(lambda n: organisation_histories(subject=f"ORG-R{n}", max_steps=8)),
    min_size=1,
    max_size=4,
    unique_by=lambda history: history[0]["subject"],
)


@pytest.fixture(scope="module")
def shapes_graph() -> Graph:
    return shapes.load_obligation_shapes()


@pytest.fixture(scope="module")
def prepared_queries() -> Iterator[None]:
    with sparql_parsed_once():
        yield


def pyshacl_derived(store: Store, day: date, shapes_graph: Graph) -> Graph:
    """What pyshacl's rules add to the exported organisations graph as of ``day``."""
    data = Graph()
    data.parse(data=store.export_graph(Graphs.ORGANISATIONS, ox.RdfFormat.N_TRIPLES), format="nt")
    data.add((OG.validationContext, OG.asOf, Literal(day)))
    before = set(data)
    validate(data, shacl_graph=shapes_graph, advanced=True, inference="none", inplace=True)
    added = Graph()
    for triple in set(data) - before:
        added.add(triple)
    return added


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(histories=populations, day=as_of_days)
def test_pyshacl_derives_the_roles_the_engine_derives(
    histories: list[list[dict[str, Any]]],
    day: date,
    store: Store,
    pipeline: Pipeline,
    hierarchy: Graph,
    shapes_graph: Graph,
    prepared_queries: None,
) -> None:
    clear(store)
    for history in histories:
        result = pipeline.process([parse_event(raw) for raw in history])
        assert not result.rejected, result.rejected[0].reason
    forget_judged_moments(store)  # roles as of ``day`` itself, which may come before the events
    pipeline.revalidate(day)
    engine = derived_graph(store)
    reference = pyshacl_derived(store, day, shapes_graph)
    assert role_types(engine) == role_types(reference)
    assert set(engine) == set(reference)
    assert_well_formed(engine, hierarchy)


def test_no_rule_matches_a_constant_object_inside_a_union_branch() -> None:
    """shapes/roles.ttl's header: Oxigraph starts such a branch from the constant and scans every match for every
    organisation. Measured 2026-12-04 (500 organisations): the PI-handler rule with ``og:processesPersonalInformation
    true`` in a branch took 700 ms, with the value matched and filtered 41 ms."""
    focus = [(URIRef(iris.organisation("A")), date(2026, 1, 1))]
    constants = {
        (str(rule.rule).rsplit("#", 1)[1], predicate, obj)
        for rule in compile_rules(shapes.load_obligation_shapes())
        for predicate, obj in constant_objects_in_unions(rule.query_for(focus))
    }
    assert not constants, f"match a variable and FILTER it instead: {sorted(constants)}"

"""The code lists of the event contract (``shared/spec/events.md``, "Types and their data").

Each list is a ``Literal`` so that type checkers see the codes and the JSON schema offers them as an enum;
the tuple beside it is the same list as data, for messages, strategies and tests. Authority codes are not
repeated here: they are the enforcement bodies of ``kg/reference/bodies_actors_sectors.yaml``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final, Literal, get_args

import yaml

Capability = Literal[
    "text-generation",
    "image-generation",
    "audio-generation",
    "video-generation",
    "virtual-scene-generation",
    "face-or-voice-editing",
    "recommendation",
    "automated-decision",
    "biometric-identification",
]
SectorCode = Literal[
    "finance",
    "healthcare",
    "education",
    "transportation",
    "public-administration",
    "information",
    "scientific-research",
    "manufacturing",
    "agriculture",
    "professional-services",
    "automotive",
]
FilingKind = Literal["algorithm", "generative-ai-service"]
AssessmentKind = Literal["security", "risk", "pi-impact", "ethics-review", "data-export-security"]
AssessmentOutcome = Literal["passed", "failed", "conditional"]
DisclosureKind = Literal["transparency-report", "training-data-summary", "algorithm-principles"]
SystemControlKind = Literal[
    "explicit-content-label",
    "implicit-content-label",
    "complaint-channel",
    "real-identity-verification",
    "audit-trail",
    "recommendation-opt-out",
    "minor-protection",
]
OrganisationControlKind = Literal["pi-protection-officer", "ethics-committee", "incident-response-plan"]
ControlKind = Literal[SystemControlKind, OrganisationControlKind]
TransferMechanism = Literal["security-assessment", "standard-contract", "certification"]

CAPABILITIES: Final[tuple[str, ...]] = get_args(Capability)
SECTORS: Final[tuple[str, ...]] = get_args(SectorCode)
FILING_KINDS: Final[tuple[str, ...]] = get_args(FilingKind)
ASSESSMENT_KINDS: Final[tuple[str, ...]] = get_args(AssessmentKind)
ASSESSMENT_OUTCOMES: Final[tuple[str, ...]] = get_args(AssessmentOutcome)
DISCLOSURE_KINDS: Final[tuple[str, ...]] = get_args(DisclosureKind)
SYSTEM_CONTROL_KINDS: Final[tuple[str, ...]] = get_args(SystemControlKind)
ORGANISATION_CONTROL_KINDS: Final[tuple[str, ...]] = get_args(OrganisationControlKind)
CONTROL_KINDS: Final[tuple[str, ...]] = SYSTEM_CONTROL_KINDS + ORGANISATION_CONTROL_KINDS
TRANSFER_MECHANISMS: Final[tuple[str, ...]] = get_args(TransferMechanism)

# ISO 3166-2:CN (2017 edition): the 34 province-level divisions, including Hong Kong, Macao and Taiwan.
CN_SUBDIVISIONS: Final[frozenset[str]] = frozenset(
    f"CN-{code}"
    for code in (
        *("AH", "BJ", "CQ", "FJ", "GD", "GS", "GX", "GZ", "HA", "HB", "HE", "HI"),
        *("HK", "HL", "HN", "JL", "JS", "JX", "LN", "MO", "NM", "NX", "QH", "SC"),
        *("SD", "SH", "SN", "SX", "TJ", "TW", "XJ", "XZ", "YN", "ZJ"),
    )
)

_BODIES_FILE: Final = Path(__file__).resolve().parent.parent / "reference" / "bodies_actors_sectors.yaml"
# Reference ids that events spell differently (events.md writes the Beijing CAC office as ``CAC-BJ``).
_EVENT_SPELLING: Final = {"BJ_CAC": "CAC-BJ"}


@cache
def authority_codes() -> tuple[str, ...]:
    """Authority codes events may name, in reference order: read once, on first use, from the reference.

    A missing or broken reference file raises (``OSError``, ``yaml.YAMLError``, ``KeyError``): that is a
    broken deployment, not a bad event, so it must not dead-letter the event that happened to trigger it.
    """
    bodies = yaml.safe_load(_BODIES_FILE.read_text(encoding="utf-8"))["enforcement_bodies"]
    return tuple(_EVENT_SPELLING.get(body["id"], body["id"]) for body in bodies)

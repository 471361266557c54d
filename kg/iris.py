"""The one module that mints instance IRIs (ontology terms live in ``ontology.namespaces``).

Legal provisions get article-structured IRIs under a jurisdiction path, as W3C DPV does for the GDPR:
``https://w3id.org/obligraph/legal/cn/genai-2023`` is an instrument, ``…/cn/genai-2023#A17`` its Art. 17,
``…#A4-1`` Art. 4(1), ``…#A24-1`` Art. 24 para 1; ``…/cn-bj/…`` holds Beijing's municipal instruments.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from rdflib import URIRef

BASE: Final = "https://w3id.org/obligraph/"


class Graphs:
    """Named graphs that keep the kinds of data apart."""

    ONTOLOGY: Final = f"{BASE}graph/ontology"
    REGULATIONS: Final = f"{BASE}graph/regulations"
    ORGANISATIONS: Final = f"{BASE}graph/organisations"
    VIOLATIONS: Final = f"{BASE}graph/violations"
    SHAPES: Final = f"{BASE}graph/shapes"
    DERIVED: Final = f"{BASE}graph/derived"
    EVENTS: Final = f"{BASE}graph/events"
    OUTBOX: Final = f"{BASE}graph/outbox"
    META: Final = f"{BASE}graph/meta"

    ALL: Final = (ONTOLOGY, REGULATIONS, SHAPES, ORGANISATIONS, DERIVED, VIOLATIONS, EVENTS, OUTBOX, META)


IDENTIFIER: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What an organisation, system or transfer id may be (the events contract): 1–64 of ``A-Z a-z 0-9 . _ -``, so
an IRI minted from it is always valid."""


def is_identifier(text: str) -> bool:
    """Whether ``text`` can be an id; one that cannot names nothing in the graph (and would break a query's IRI)."""
    return IDENTIFIER.fullmatch(text) is not None


_JURISDICTION_PATH: Final = {"BJ": "cn-bj"}


def instrument(instrument_id: str) -> URIRef:
    """``CN-GENAI-2023`` → ``…/legal/cn/genai-2023``; ``BJ-STIC-REGS-2024`` → ``…/legal/cn-bj/stic-regs-2024``."""
    head, _, rest = instrument_id.partition("-")
    if head in _JURISDICTION_PATH:
        return URIRef(f"{BASE}legal/{_JURISDICTION_PATH[head]}/{rest.lower()}")
    if head == "CN":
        return URIRef(f"{BASE}legal/cn/{rest.lower()}")
    return URIRef(f"{BASE}legal/cn/{instrument_id.lower()}")


def article(instrument_id: str, fragment: str) -> URIRef:
    """An article (or part, section, paragraph) of an instrument, e.g. fragment ``A24-1``."""
    if not re.fullmatch(r"[A-Za-z0-9.\-]+", fragment):
        raise ValueError(f"not an article fragment: {fragment!r}")
    return URIRef(f"{instrument(instrument_id)}#{fragment}")


def obligation(obligation_id: str) -> URIRef:
    return URIRef(f"{BASE}obligation/{obligation_id}")


def authority(code: str) -> URIRef:
    return URIRef(f"{BASE}authority/{code}")


def source(key: str) -> URIRef:
    return URIRef(f"{BASE}source/{key}")


def penalty(obligation_id: str) -> URIRef:
    return URIRef(f"{BASE}obligation/{obligation_id}/penalty")


def deadline(obligation_id: str) -> URIRef:
    return URIRef(f"{BASE}obligation/{obligation_id}/deadline")


def organisation(org_id: str) -> URIRef:
    return URIRef(f"{BASE}org/{org_id}")


def ai_system(org_id: str, system_id: str) -> URIRef:
    return URIRef(f"{BASE}org/{org_id}/system/{system_id}")


def violation(org_id: str, obligation_id: str, focus_node: str) -> URIRef:
    """Deterministic from (organisation, obligation, focus node): replays mint the same IRI."""
    digest = hashlib.sha256(f"{org_id}\x1f{obligation_id}\x1f{focus_node}".encode()).hexdigest()[:20]
    return URIRef(f"{BASE}violation/{digest}")


def build_record() -> URIRef:
    """The meta-graph node that records which build of the fixed graphs the store holds."""
    return URIRef(f"{BASE}meta/build")


def build_fingerprint_predicate() -> URIRef:
    return URIRef(f"{BASE}meta#inputFingerprint")


def amendment(instrument_id: str, adopted_on: str) -> URIRef:
    """An amending act, by the instrument it amends and its adoption date: ``…/csl/amendment/2025-10-28``."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", adopted_on):
        raise ValueError(f"not an ISO date: {adopted_on!r}")
    return URIRef(f"{instrument(instrument_id)}/amendment/{adopted_on}")


def deadline_at(obligation_id: str, anchor: str) -> URIRef:
    """A further deadline of an obligation that has several (ALG-09); the first one is ``deadline``."""
    if not re.fullmatch(r"[a-z][a-z0-9\-]*", anchor):
        raise ValueError(f"not an anchor notation: {anchor!r}")
    return URIRef(f"{deadline(obligation_id)}/{anchor}")


def risk_link(obligation_id: str, notation: str) -> URIRef:
    """The reified statement that an obligation addresses a risk subdomain (``…/obligation/GAI-07/risk/2.1``),
    which carries the editorial classification's source, confidence and rationale."""
    if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", notation):
        raise ValueError(f"not a risk taxonomy notation: {notation!r}")
    return URIRef(f"{obligation(obligation_id)}/risk/{notation}")


def periodicity(obligation_id: str) -> URIRef:
    return URIRef(f"{BASE}obligation/{obligation_id}/periodicity")


def duration_of(node: URIRef) -> URIRef:
    """The time:Duration of a deadline or periodicity node, as a fragment of that node."""
    if "#" in node:
        raise ValueError(f"already has a fragment: {node}")
    return URIRef(f"{node}#duration")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def event(source: str, event_id: str) -> URIRef:
    """An applied event, named by its idempotency key (source, id)."""
    return URIRef(f"{BASE}event/{_digest(source, event_id)}")


def transfer(org_id: str, transfer_id: str) -> URIRef:
    return URIRef(f"{BASE}org/{org_id}/transfer/{transfer_id}")


def evidence(org_id: str, source: str, event_id: str) -> URIRef:
    """Evidence reported by one event: a replay mints the same node, a new report a new one."""
    return URIRef(f"{BASE}org/{org_id}/evidence/{_digest(source, event_id)}")


def control(org_id: str, kind: str, system_id: str | None) -> URIRef:
    """A safeguard is state: one node per (organisation, kind, system)."""
    scope = f"/{system_id}" if system_id else ""
    return URIRef(f"{BASE}org/{org_id}/control/{kind}{scope}")


def due_date(owner: URIRef, obligation_id: str, anchor: str) -> URIRef:
    return URIRef(f"{owner}/due/{obligation_id}/{anchor}")


def role_assignment(org: URIRef, role_local_name: str) -> URIRef:
    return URIRef(f"{org}/role/{role_local_name}")


def organisation_id(organisation_iri: str) -> str:
    """The organisation id an organisation IRI was minted from."""
    prefix = f"{BASE}org/"
    if not organisation_iri.startswith(prefix):
        raise ValueError(f"not an organisation IRI: {organisation_iri}")
    return organisation_iri[len(prefix) :].split("/", 1)[0]


def obligation_id(obligation_iri: str) -> str:
    """The reference id (``GAI-12``) an obligation IRI was minted from."""
    prefix = f"{BASE}obligation/"
    if not obligation_iri.startswith(prefix):
        raise ValueError(f"not an obligation IRI: {obligation_iri}")
    return obligation_iri[len(prefix) :]


def violation_id(violation_iri: str) -> str:
    """The short, stable id of a violation (the digest its IRI ends with)."""
    return violation_iri.rsplit("/", 1)[-1]


def violation_episode(violation_iri: URIRef, number: int) -> URIRef:
    return URIRef(f"{violation_iri}/episode/{number}")


def consumer_position(group: str, topic: str, partition: int) -> URIRef:
    """Where a consumer group stands in one partition of a topic (``kg.positions``); names are percent-encoded."""
    from urllib.parse import quote

    return URIRef(f"{BASE}meta/position/{quote(group, safe='')}/{quote(topic, safe='')}/{int(partition)}")


def outbox_dead_letter(group: str, topic: str, partition: int, offset: int) -> URIRef:
    """A dead letter waiting in the outbox (``kg.outbox``): one per consumed record, so a replay writes the same."""
    from urllib.parse import quote

    return URIRef(
        f"{BASE}outbox/dead-letter/{quote(group, safe='')}/{quote(topic, safe='')}/{int(partition)}/{int(offset)}"
    )

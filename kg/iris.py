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
    META: Final = f"{BASE}graph/meta"

    ALL: Final = (ONTOLOGY, REGULATIONS, ORGANISATIONS, VIOLATIONS, META)


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

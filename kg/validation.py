"""The validation engine: which obligations each organisation breaks, as of a date.

Incremental by construction: it validates only the organisations it is given, and for each obligation shape
only the organisations typed with a role the obligation binds (roles are derived first, see ``kg.roles``).
Many organisations share one query per shape, each with its own as-of date, so a batch of events costs a
few dozen queries however large the graph is. pyshacl, run over the same shapes, is the reference
(``tests/test_differential.py``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import pyoxigraph as ox
from rdflib import URIRef

from kg.checks import Check
from kg.iris import BASE
from kg.parallel import selected
from kg.store import Row, Store

ORGANISATION_BASE = f"{BASE}org/"

_PLACEHOLDER = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Finding:
    """One SHACL result: ``focus`` breaks ``obligation_id`` (the organisation itself, or one of its nodes)."""

    organisation: URIRef
    obligation: URIRef
    obligation_id: str
    focus: URIRef
    shape: URIRef
    severity: URIRef
    templates: Mapping[str, str]
    bindings: Row

    @property
    def key(self) -> tuple[URIRef, str, URIRef]:
        return (self.organisation, self.obligation_id, self.focus)

    @cached_property
    def messages(self) -> Mapping[str, str]:
        """The shape's messages filled from the solution; made when asked, since only the findings that open a
        violation need them (most repeat a violation already open)."""
        return {lang: _fill(text, self.bindings) for lang, text in self.templates.items()}


class Validator:
    """Runs compiled checks for a set of organisations, each as of its own date."""

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = tuple(checks)
        self.queries_run = 0
        """Check queries run so far (one per check a batch's organisations call for)."""

    def validate(
        self, store: Store, focus: Mapping[URIRef, date], only: Mapping[URIRef, frozenset[URIRef]] | None = None
    ) -> dict[URIRef, list[Finding]]:
        """Findings per organisation of ``focus``, judged on ``store`` (a workspace holding them); an organisation
        in ``only`` is judged on those obligations alone (``kg.deltas``)."""
        findings: dict[URIRef, list[Finding]] = {organisation: [] for organisation in focus}
        if not focus:
            return findings
        types = _types(store, focus)
        only = only or {}
        iri: dict[str, URIRef] = {}  # one URIRef per IRI (rdflib checks each new one)
        runs = []
        for check in self.checks:
            targets = [
                (org, day)
                for org, day in focus.items()
                if types.get(org, frozenset()) & check.roles and (org not in only or check.obligation in only[org])
            ]
            if targets:
                runs.append((check, check.query_for(targets)))
        self.queries_run += len(runs)
        for (check, _), rows in zip(runs, selected(store, [query for _, query in runs]), strict=True):
            for bindings in rows:
                this = bindings.get("this")
                if not isinstance(this, ox.NamedNode):
                    continue
                value = bindings.get("value")
                organisation = iri.get(this.value) or iri.setdefault(this.value, URIRef(this.value))
                focus_node = organisation
                if isinstance(value, ox.NamedNode):
                    focus_node = iri.get(value.value) or iri.setdefault(value.value, URIRef(value.value))
                findings[organisation].append(
                    Finding(
                        organisation=organisation,
                        obligation=check.obligation,
                        obligation_id=check.obligation_id,
                        focus=focus_node,
                        shape=check.shape,
                        severity=check.severity,
                        templates=check.messages,
                        bindings=bindings,
                    )
                )
        return findings


def _types(store: Store, focus: Mapping[URIRef, date]) -> dict[URIRef, frozenset[URIRef]]:
    values = " ".join(org.n3() for org in focus)
    rows = store.select(f"SELECT ?org ?type WHERE {{ VALUES ?org {{ {values} }} ?org a ?type }}")
    types: dict[URIRef, set[URIRef]] = defaultdict(set)
    for row in rows:
        org, kind = row["org"], row["type"]
        if isinstance(org, ox.NamedNode) and isinstance(kind, ox.NamedNode):
            types[URIRef(org.value)].add(URIRef(kind.value))
    return {org: frozenset(kinds) for org, kinds in types.items()}


def _fill(template: str, bindings: Mapping[str, object]) -> str:
    """SHACL message templates: ``{?var}`` / ``{$var}`` become the solution's value (the lexical form)."""

    def value(match: re.Match[str]) -> str:
        term = bindings.get(match.group(1))
        if term is None:
            return match.group(0)
        text = str(getattr(term, "value", term))
        if isinstance(term, ox.NamedNode) and text.startswith(ORGANISATION_BASE):
            return text.rsplit("/", 1)[-1]  # an organisation's own node reads better by its id
        return text

    return _PLACEHOLDER.sub(value, template)

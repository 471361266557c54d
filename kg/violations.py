"""Violations as persistent entities with a lifecycle, and the change events they emit.

A violation is named by (organisation, obligation, focus node), so replays mint the same IRI. It is open or
resolved; each open→resolved period is an episode, so a violation that re-opens keeps its history. Every
change is also returned as a ``ViolationChange`` for publishing (``violation.opened`` / ``violation.resolved``
CloudEvents, ``../shared/spec/events.md``), with an id deterministic from (violation, episode, kind) so a
consumer can de-duplicate what an at-least-once publisher repeats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pyoxigraph as ox
from rdflib import Literal as Lit
from rdflib import URIRef

from kg import iris
from kg.iris import Graphs
from kg.store import Store
from kg.validation import Finding
from ontology.namespaces import OG, RDF, SH, XSD

VIOLATIONS = f"<{Graphs.VIOLATIONS}>"
SOURCE = "urn:obligraph:validator"


@dataclass(frozen=True)
class Cause:
    """Why an organisation was validated: an event (its IRI and id) or the clock."""

    at: datetime
    event: URIRef | None = None
    event_id: str | None = None

    @property
    def label(self) -> str:
        return self.event_id if self.event_id is not None else "clock"


@dataclass(frozen=True)
class ViolationChange:
    kind: Literal["opened", "resolved"]
    violation_id: str
    episode: int
    organisation: str
    obligation: str
    focus_node: str
    message: str
    severity: str
    at: datetime
    by: str

    def to_cloudevent(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "violationId": self.violation_id,
            "organisation": self.organisation,
            "obligation": self.obligation,
            "focusNode": self.focus_node,
            "message": self.message,
            "severity": self.severity,
        }
        if self.kind == "opened":
            data |= {"detectedAt": self.at.isoformat(), "causedBy": self.by}
        else:
            data |= {"resolvedAt": self.at.isoformat(), "resolvedBy": self.by}
        return {
            "specversion": "1.0",
            "id": f"{self.violation_id}-{self.episode}-{self.kind}",
            "source": SOURCE,
            "type": f"violation.{self.kind}",
            "time": self.at.isoformat(),
            "subject": self.organisation,
            "datacontenttype": "application/json",
            "data": data,
        }


@dataclass(frozen=True)
class _Current:
    organisation: URIRef
    open: bool
    episodes: int


def _dt(moment: datetime) -> str:
    return Lit(moment.isoformat(), datatype=XSD.dateTime).n3()


def _severity_name(severity: URIRef) -> str:
    return str(severity).rsplit("#", 1)[-1]


class ViolationLedger:
    """Reconciles fresh findings with the stored violations of the organisations just validated."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def reconcile(
        self, findings: Mapping[URIRef, Sequence[Finding]], causes: Mapping[URIRef, Cause]
    ) -> tuple[list[str], list[ViolationChange]]:
        """The update operations that bring the stored violations in line, and the changes they make."""
        if not findings:
            return [], []
        current = self._current(findings.keys())
        grouped: dict[tuple[URIRef, str, URIRef], list[Finding]] = defaultdict(list)
        for organisation_findings in findings.values():
            for finding in organisation_findings:
                grouped[finding.key].append(finding)
        operations: list[str] = []
        changes: list[ViolationChange] = []
        for key, group in sorted(grouped.items()):
            organisation, obligation_id, focus = key
            violation = iris.violation(iris.organisation_id(organisation), obligation_id, str(focus))
            existing = current.pop(violation, None)
            if existing is not None and existing.open:
                continue
            episode = (existing.episodes if existing else 0) + 1
            cause = causes[organisation]
            operations.append(self._open(violation, group, episode, cause, fresh=existing is None))
            changes.append(self._change("opened", violation, group[0], _message(group), episode, cause))
        for violation, existing in sorted(current.items()):
            if existing.open:
                cause = causes[existing.organisation]
                operations.append(self._resolve(violation, existing.episodes, cause))
                changes.append(self._resolved_change(violation, existing.episodes, cause))
        return operations, changes

    def _current(self, organisations: Iterable[URIRef]) -> dict[URIRef, _Current]:
        values = " ".join(org.n3() for org in organisations)
        rows = self.store.select(
            f"SELECT ?v ?org ?status (COUNT(?episode) AS ?episodes) WHERE {{ VALUES ?org {{ {values} }} "
            f"GRAPH {VIOLATIONS} {{ ?v {OG.concernsOrganisation.n3()} ?org ; {OG.hasViolationStatus.n3()} ?status "
            f"OPTIONAL {{ ?v {OG.hasEpisode.n3()} ?episode }} }} }} GROUP BY ?v ?org ?status"
        )
        current = {}
        for row in rows:
            iri, org, status, episodes = row["v"], row["org"], row["status"], row["episodes"]
            assert isinstance(iri, ox.NamedNode) and isinstance(org, ox.NamedNode)
            assert isinstance(status, ox.NamedNode) and isinstance(episodes, ox.Literal)
            current[URIRef(iri.value)] = _Current(
                URIRef(org.value), status.value == str(OG.ViolationOpen), int(episodes.value)
            )
        return current

    def _open(self, violation: URIRef, group: Sequence[Finding], episode: int, cause: Cause, fresh: bool) -> str:
        first = group[0]
        episode_node = iris.violation_episode(violation, episode)
        severity = SH.Violation if any(f.severity == SH.Violation for f in group) else SH.Warning
        messages = " ".join(
            f"{OG.message.n3()} {Lit(text, lang=lang).n3()} ;" for lang, text in _messages_by_lang(group).items()
        )
        caused = (
            f"{OG.isCausedBy.n3()} {cause.event.n3()}" if cause.event is not None else f"{OG.openedByClock.n3()} true"
        )
        shapes = " ".join(f"{OG.isDetectedByShape.n3()} {f.shape.n3()} ;" for f in group)
        reset = (
            ""
            if fresh
            else (
                f"DELETE {{ GRAPH {VIOLATIONS} {{ {violation.n3()} ?p ?o }} }} WHERE {{ GRAPH {VIOLATIONS} {{ "
                f"{violation.n3()} ?p ?o FILTER(?p IN ({OG.hasViolationStatus.n3()}, {OG.openedAt.n3()}, "
                f"{OG.resolvedAt.n3()}, {OG.isCausedBy.n3()}, {OG.isResolvedBy.n3()}, {OG.openedByClock.n3()}, "
                f"{OG.resolvedByClock.n3()}, {OG.message.n3()}, {OG.hasSeverity.n3()}, "
                f"{OG.isDetectedByShape.n3()})) }} }} ;\n"
            )
        )
        return reset + (
            f"INSERT DATA {{ GRAPH {VIOLATIONS} {{ {violation.n3()} {RDF.type.n3()} {OG.Violation.n3()} ; "
            f"{OG.isViolationOf.n3()} {first.obligation.n3()} ; "
            f"{OG.concernsOrganisation.n3()} {first.organisation.n3()} ; {OG.hasFocusNode.n3()} {first.focus.n3()} ; "
            f"{OG.hasViolationStatus.n3()} {OG.ViolationOpen.n3()} ; {OG.openedAt.n3()} {_dt(cause.at)} ; "
            f"{messages} {shapes} {OG.hasSeverity.n3()} {severity.n3()} ; {caused} ; "
            f"{OG.hasEpisode.n3()} {episode_node.n3()} . "
            f"{episode_node.n3()} {RDF.type.n3()} {OG.ViolationEpisode.n3()} ; {OG.openedAt.n3()} {_dt(cause.at)} ; "
            f"{caused} . }} }}"
        )

    def _resolve(self, violation: URIRef, episode: int, cause: Cause) -> str:
        episode_node = iris.violation_episode(violation, episode)
        resolved = (
            f"{OG.isResolvedBy.n3()} {cause.event.n3()}"
            if cause.event is not None
            else f"{OG.resolvedByClock.n3()} true"
        )
        return (
            f"DELETE DATA {{ GRAPH {VIOLATIONS} {{ {violation.n3()} {OG.hasViolationStatus.n3()} "
            f"{OG.ViolationOpen.n3()} }} }} ;\n"
            f"INSERT DATA {{ GRAPH {VIOLATIONS} {{ {violation.n3()} {OG.hasViolationStatus.n3()} "
            f"{OG.ViolationResolved.n3()} ; {OG.resolvedAt.n3()} {_dt(cause.at)} ; {resolved} . "
            f"{episode_node.n3()} {OG.resolvedAt.n3()} {_dt(cause.at)} ; {resolved} . }} }}"
        )

    def _change(
        self,
        kind: Literal["opened"],
        violation: URIRef,
        finding: Finding,
        message: str,
        episode: int,
        cause: Cause,
    ) -> ViolationChange:
        return ViolationChange(
            kind=kind,
            violation_id=iris.violation_id(violation),
            episode=episode,
            organisation=iris.organisation_id(finding.organisation),
            obligation=finding.obligation_id,
            focus_node=str(finding.focus),
            message=message,
            severity=_severity_name(finding.severity),
            at=cause.at,
            by=cause.label,
        )

    def _resolved_change(self, violation: URIRef, episode: int, cause: Cause) -> ViolationChange:
        row = self.store.select(
            f"SELECT ?org ?obligation ?focus ?message ?severity WHERE {{ GRAPH {VIOLATIONS} {{ "
            f"{violation.n3()} {OG.concernsOrganisation.n3()} ?org ; {OG.hasFocusNode.n3()} ?focus ; "
            f"{OG.isViolationOf.n3()} ?o ; {OG.hasSeverity.n3()} ?severity "
            f'OPTIONAL {{ {violation.n3()} {OG.message.n3()} ?message FILTER(lang(?message) = "en") }} }} '
            f"?o <http://www.w3.org/2004/02/skos/core#notation> ?obligation }}"
        )[0]
        return ViolationChange(
            kind="resolved",
            violation_id=iris.violation_id(violation),
            episode=episode,
            organisation=iris.organisation_id(URIRef(_value(row["org"]))),
            obligation=_value(row["obligation"]),
            focus_node=_value(row["focus"]),
            message=_value(row.get("message")),
            severity=_severity_name(URIRef(_value(row["severity"]))),
            at=cause.at,
            by=cause.label,
        )


def _value(term: object) -> str:
    return "" if term is None else str(getattr(term, "value", term))


def _messages_by_lang(group: Sequence[Finding]) -> dict[str, str]:
    texts: dict[str, list[str]] = defaultdict(list)
    for finding in group:
        for lang, text in finding.messages.items():
            if text not in texts[lang]:
                texts[lang].append(text)
    return {lang: " ".join(parts) for lang, parts in texts.items()}


def _message(group: Sequence[Finding]) -> str:
    return _messages_by_lang(group).get("en", "")

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


Status = Literal["open", "resolved", "all"]


def list_violations(store: Store, organisation_id: str | None = None, status: Status = "open") -> list[dict[str, Any]]:
    """Violations as plain data (the CLI's JSON, the API's source), newest first, with history and trace."""
    filters = []
    if organisation_id is not None:
        filters.append(f"FILTER(?org = {iris.organisation(organisation_id).n3()})")
    if status != "all":
        wanted = OG.ViolationOpen if status == "open" else OG.ViolationResolved
        filters.append(f"FILTER(?status = {wanted.n3()})")
    rows = store.select(
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        "SELECT ?v ?org ?status ?obligation ?focus ?opened ?resolved ?severity ?en ?zh ?cause ?causeId ?clock "
        "?resolver ?resolverId ?resolvedByClock ?article ?authority ?penalty ?shape WHERE { "
        f"GRAPH {VIOLATIONS} {{ ?v a {OG.Violation.n3()} ; {OG.concernsOrganisation.n3()} ?org ; "
        f"{OG.hasViolationStatus.n3()} ?status ; {OG.isViolationOf.n3()} ?o ; {OG.hasFocusNode.n3()} ?focus ; "
        f"{OG.openedAt.n3()} ?opened ; {OG.hasSeverity.n3()} ?severity . "
        f"OPTIONAL {{ ?v {OG.resolvedAt.n3()} ?resolved }} "
        f'OPTIONAL {{ ?v {OG.message.n3()} ?en FILTER(lang(?en) = "en") }} '
        f'OPTIONAL {{ ?v {OG.message.n3()} ?zh FILTER(lang(?zh) = "zh") }} '
        f"OPTIONAL {{ ?v {OG.openedByClock.n3()} ?clock }} "
        f"OPTIONAL {{ ?v {OG.resolvedByClock.n3()} ?resolvedByClock }} "
        f"OPTIONAL {{ ?v {OG.isDetectedByShape.n3()} ?shape }} {' '.join(filters)} }} "
        "?o skos:notation ?obligation . "
        f"OPTIONAL {{ GRAPH {VIOLATIONS} {{ ?v {OG.isCausedBy.n3()} ?cause }} ?cause {OG.eventId.n3()} ?causeId }} "
        f"OPTIONAL {{ GRAPH {VIOLATIONS} {{ ?v {OG.isResolvedBy.n3()} ?resolver }} "
        f"?resolver {OG.eventId.n3()} ?resolverId }} "
        f"OPTIONAL {{ ?o {OG.hasLegalBasis.n3()} ?article }} "
        f"OPTIONAL {{ ?o {OG.hasCompetentAuthority.n3()}/skos:notation ?authority }} "
        f"OPTIONAL {{ ?o {OG.hasPenalty.n3()}/{OG.penaltyText.n3()} ?penalty }} "
        "} ORDER BY DESC(?opened) ?v"
    )
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        iri = _value(row["v"])
        entry = by_id.get(iri)
        if entry is None:
            resolved = row.get("resolved")
            entry = by_id[iri] = {
                "id": iris.violation_id(iri),
                "organisation": iris.organisation_id(_value(row["org"])),
                "obligation": _value(row["obligation"]),
                "status": "open" if _value(row["status"]) == str(OG.ViolationOpen) else "resolved",
                "focusNode": _value(row["focus"]),
                "openedAt": _value(row["opened"]),
                "resolvedAt": _value(resolved) if resolved is not None else None,
                "message": _value(row.get("en")),
                "messageZh": _value(row.get("zh")),
                "severity": _severity_name(URIRef(_value(row["severity"]))),
                "causedBy": _value(row.get("causeId")) if row.get("causeId") is not None else "clock",
                "resolvedBy": _resolver(row),
                "trace": {"shapes": [], "articles": [], "authorities": [], "penalty": _value(row.get("penalty"))},
            }
        trace = entry["trace"]
        for key, name in (("shapes", "shape"), ("articles", "article"), ("authorities", "authority")):
            value = row.get(name)
            if value is not None and _value(value) not in trace[key]:
                trace[key].append(_value(value))
    return list(by_id.values())


def _resolver(row: Mapping[str, object]) -> str | None:
    if row.get("resolverId") is not None:
        return _value(row["resolverId"])
    if row.get("resolvedByClock") is not None:
        return "clock"
    return None


def violation_history(store: Store, violation_id: str) -> list[dict[str, Any]]:
    """The episodes of one violation, oldest first: each open→resolved period and what caused it."""
    violation = URIRef(f"{iris.BASE}violation/{violation_id}")
    rows = store.select(
        f"SELECT ?episode ?opened ?resolved ?causeId ?resolverId WHERE {{ GRAPH {VIOLATIONS} {{ "
        f"{violation.n3()} {OG.hasEpisode.n3()} ?episode . ?episode {OG.openedAt.n3()} ?opened "
        f"OPTIONAL {{ ?episode {OG.resolvedAt.n3()} ?resolved }} }} "
        f"OPTIONAL {{ GRAPH {VIOLATIONS} {{ ?episode {OG.isCausedBy.n3()} ?cause }} "
        f"?cause {OG.eventId.n3()} ?causeId }} "
        f"OPTIONAL {{ GRAPH {VIOLATIONS} {{ ?episode {OG.isResolvedBy.n3()} ?resolver }} "
        f"?resolver {OG.eventId.n3()} ?resolverId }} "
        "} ORDER BY ?opened"
    )
    return [
        {
            "episode": int(_value(row["episode"]).rsplit("/", 1)[-1]),
            "openedAt": _value(row["opened"]),
            "resolvedAt": _value(row["resolved"]) if row.get("resolved") is not None else None,
            "causedBy": _value(row["causeId"]) if row.get("causeId") is not None else "clock",
            "resolvedBy": (
                _value(row["resolverId"])
                if row.get("resolverId") is not None
                else ("clock" if row.get("resolved") is not None else None)
            ),
        }
        for row in rows
    ]

"""Violations as persistent entities with a lifecycle, and the change events they emit.

A violation is named by (organisation, obligation, focus node), so replays mint the same IRI. It is open or
resolved; each open→resolved period is an episode, so a violation that re-opens keeps its history. Every
change is also returned as a ``ViolationChange`` for publishing (``violation.opened`` / ``violation.resolved``
CloudEvents, ``../shared/spec/events.md``), with an id deterministic from (violation, episode, kind) so a
consumer can de-duplicate what an at-least-once publisher repeats.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, cast

import pyoxigraph as ox
from rdflib import Literal as Lit
from rdflib import URIRef

from kg import iris, solutions
from kg.iris import BASE, Graphs
from kg.organisations import CHINA
from kg.store import Row, Store
from kg.validation import Finding
from ontology.namespaces import OG, SH, XSD

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


_KINDS: Final = ("opened", "resolved")
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9._~-]{1,200}")
"""Violation ids are digests (``kg.iris.violation``); they become IRIs in store queries, so nothing else passes."""


class NotAViolationChangeError(ValueError):
    """A record on the violations topic that is not a ``violation.opened`` / ``violation.resolved`` CloudEvent."""


def parse_violation_change(value: bytes | str | None) -> ViolationChange:
    """The inverse of ``ViolationChange.to_cloudevent`` (JSON, structured mode): the change a record carries.

    The episode is read from the CloudEvent id, ``{violationId}-{episode}-{kind}``.
    """
    if value is None:
        raise NotAViolationChangeError("the record has no value")
    try:
        event = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise NotAViolationChangeError(f"not valid JSON: {error}") from None
    if not isinstance(event, dict):
        raise NotAViolationChangeError(f"expected a JSON object (a CloudEvent), got {type(event).__name__}")
    if event.get("specversion") != "1.0":
        raise NotAViolationChangeError(f"specversion: expected '1.0', got {event.get('specversion')!r}")
    kind = _kind(event.get("type"))
    data = event.get("data")
    if not isinstance(data, dict):
        raise NotAViolationChangeError("data: expected an object")
    violation_id = _text(data, "violationId")
    if not _SAFE_ID.fullmatch(violation_id):
        raise NotAViolationChangeError(f"data.violationId: not a violation id: {violation_id[:80]!r}")
    at_field, by_field = ("detectedAt", "causedBy") if kind == "opened" else ("resolvedAt", "resolvedBy")
    return ViolationChange(
        kind=kind,
        violation_id=violation_id,
        episode=_episode(event.get("id"), violation_id, kind),
        organisation=_text(data, "organisation"),
        obligation=_text(data, "obligation"),
        focus_node=_text(data, "focusNode"),
        message=_text(data, "message", empty=True),
        severity=_text(data, "severity"),
        at=_instant(data, at_field),
        by=_text(data, by_field),
    )


def _kind(event_type: object) -> Literal["opened", "resolved"]:
    kind = event_type.removeprefix("violation.") if isinstance(event_type, str) else None
    if not isinstance(event_type, str) or not event_type.startswith("violation.") or kind not in _KINDS:
        raise NotAViolationChangeError(f"type: expected violation.opened or violation.resolved, got {event_type!r}")
    return cast(Literal["opened", "resolved"], kind)


def _text(data: Mapping[str, Any], name: str, *, empty: bool = False) -> str:
    value = data.get(name)
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise NotAViolationChangeError(f"data.{name}: expected {'a' if empty else 'a non-empty'} string")
    return value


def _episode(event_id: object, violation_id: str, kind: str) -> int:
    prefix, suffix = f"{violation_id}-", f"-{kind}"
    if not isinstance(event_id, str) or not event_id.startswith(prefix) or not event_id.endswith(suffix):
        raise NotAViolationChangeError(f"id: expected '{violation_id}-<episode>-{kind}', got {event_id!r}")
    number = event_id[len(prefix) : len(event_id) - len(suffix)]
    if not number.isascii() or not number.isdigit() or int(number) < 1:
        raise NotAViolationChangeError(f"id: the episode must be a positive number, got {number!r}")
    return int(number)


def _instant(data: Mapping[str, Any], name: str) -> datetime:
    value = _text(data, name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise NotAViolationChangeError(f"data.{name}: not an ISO 8601 date-time: {value[:80]!r}") from None
    if moment.tzinfo is None:
        raise NotAViolationChangeError(f"data.{name}: the date-time has no UTC offset: {value!r}")
    return moment


@dataclass(frozen=True)
class StoredViolation:
    """What reconciling needs of a stored violation: ``said`` is the digest of what it says (``statement_digest``),
    None when none was stored."""

    organisation: URIRef
    open: bool
    episodes: int
    said: int | None = None


META: Final = f"<{Graphs.META}>"
STATEMENT_DIGEST: Final = f"<{BASE}meta#statementDigest>"
"""What a violation says (its messages, the shapes that found it, its severity) as a 63-bit number, in the meta
graph: an open violation whose findings come to say something else (the label added, the audit trail still missing)
is restated, not left with the words it opened with. A small integer is stored inline, so reading it back with the
stored violations costs no lookup."""


def statement_digest(group: Sequence[Finding]) -> int:
    """The same number for findings that say the same: their messages in every language, shapes and severity."""
    said = [f"{lang}\t{text}" for lang, text in sorted(_messages_by_lang(group).items())]
    said += [*sorted({str(finding.shape) for finding in group}), str(_severity(group))]
    digest = hashlib.blake2b("\n".join(said).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


_T: Final = {
    name: f"<{OG[name]}>"
    for name in (
        "Violation", "ViolationEpisode", "ViolationOpen", "ViolationResolved", "isViolationOf", "concernsOrganisation",
        "hasFocusNode", "hasViolationStatus", "openedAt", "resolvedAt", "isCausedBy", "isResolvedBy", "openedByClock",
        "resolvedByClock", "message", "hasSeverity", "isDetectedByShape", "hasEpisode",
    )
}  # fmt: skip
"""The IRIs the ledger writes, as SPARQL terms once (rdflib's namespace lookup and ``n3()`` cost µs each)."""
_EPISODE_FIELDS: Final = ", ".join(
    _T[name]
    for name in (
        "hasViolationStatus", "openedAt", "resolvedAt", "isCausedBy", "isResolvedBy", "openedByClock",
        "resolvedByClock", "message", "hasSeverity", "isDetectedByShape",
    )
)  # fmt: skip


def _episode_fields(violation: str) -> str:
    """The pattern of a violation's per-episode fields, which a re-opening replaces."""
    return f"GRAPH {VIOLATIONS} {{ {violation} ?p ?o FILTER(?p IN ({_EPISODE_FIELDS})) }}"


def _dt(moment: datetime) -> str:
    return f'"{moment.isoformat()}"^^<{XSD.dateTime}>'


def _severity_name(severity: str) -> str:
    return severity.rsplit("#", 1)[-1]


class ViolationLedger:
    """Reconciles fresh findings with the stored violations of the organisations just validated."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def reconcile(
        self,
        findings: Mapping[URIRef, Sequence[Finding]],
        causes: Mapping[URIRef, Cause],
        stored: Mapping[URIRef, StoredViolation] | None = None,
        judged: Mapping[URIRef, frozenset[URIRef]] | None = None,
    ) -> tuple[list[str], list[ViolationChange]]:
        """The update operations that bring the stored violations in line, and the changes they make; ``stored``
        is what ``stored_violations`` read of the same organisations, when the caller read it ahead. An
        organisation in ``judged`` was judged on those obligations only, so its other violations stand."""
        if not findings:
            return [], []
        current = dict(stored) if stored is not None else self.stored_violations(findings.keys())
        if judged:
            current = self._judged_only(current, judged)
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
                said = statement_digest(group)
                if said != existing.said:
                    operations.append(self._restate(violation, group, said))
                continue
            episode = (existing.episodes if existing else 0) + 1
            cause = causes[organisation]
            operations.append(self._open(violation, group, episode, cause, fresh=existing is None))
            changes.append(self._change("opened", violation, group[0], _message(group), episode, cause))
        resolved = sorted(violation for violation, existing in current.items() if existing.open)
        details = self._details(resolved)
        for violation in resolved:
            existing = current[violation]
            cause = causes[existing.organisation]
            operations.append(self._resolve(violation, existing.episodes, cause))
            changes.append(self._resolved_change(violation, existing.episodes, cause, details[violation]))
        return operations, changes

    def _judged_only(
        self, current: dict[URIRef, StoredViolation], judged: Mapping[URIRef, frozenset[URIRef]]
    ) -> dict[URIRef, StoredViolation]:
        """``current`` without the open violations of obligations their organisation was not judged on. (A resolved
        one may stay: reconciling re-opens it only if a finding names it, and findings name judged obligations.)"""
        partial = [v for v, existing in current.items() if existing.open and existing.organisation in judged]
        if not partial:
            return current
        values = " ".join(f"<{violation}>" for violation in partial)
        rows = self.store.select_fields(
            f"SELECT ?v ?obligation WHERE {{ GRAPH {VIOLATIONS} {{ VALUES ?v {{ {values} }} "
            f"?v {_T['isViolationOf']} ?obligation }} }}"
        )
        obligation = {URIRef(solutions.iri(v)): URIRef(solutions.iri(o)) for v, o in rows}
        return {
            violation: existing
            for violation, existing in current.items()
            if violation not in obligation or obligation[violation] in judged[existing.organisation]
        }

    def stored_violations(self, organisations: Iterable[URIRef]) -> dict[URIRef, StoredViolation]:
        """The organisations' violations as the store holds them: status and number of episodes.

        The query names each organisation by its number and the status by a boolean, so the store decodes one IRI
        a row (the violation's) rather than three: on disk each decoding is a RocksDB lookup (measured, 500
        organisations of 10,000, ~5,500 violations: 321–337 ms before, 162–221 ms so)."""
        wanted = list(organisations)
        if not wanted:
            return {}
        values = solutions.numbered_values(wanted)
        rows = self.store.select_fields(
            f"SELECT ?v ?n ?open ?said (COUNT(?episode) AS ?episodes) WHERE {{ GRAPH {VIOLATIONS} {{ "
            f"VALUES (?n ?org) {{ {values} }} ?v {OG.concernsOrganisation.n3()} ?org ; "
            f"{OG.hasViolationStatus.n3()} ?status BIND(?status = {OG.ViolationOpen.n3()} AS ?open) "
            f"OPTIONAL {{ ?v {OG.hasEpisode.n3()} ?episode }} }} "
            f"OPTIONAL {{ GRAPH {META} {{ ?v {STATEMENT_DIGEST} ?said }} }} }} GROUP BY ?v ?n ?open ?said"
        )
        return {
            URIRef(solutions.iri(iri)): StoredViolation(
                wanted[int(number)], is_open == "true", int(episodes), int(said) if said else None
            )
            for iri, number, is_open, said, episodes in rows
        }

    def _open(self, violation: URIRef, group: Sequence[Finding], episode: int, cause: Cause, fresh: bool) -> str:
        first, v, t = group[0], f"<{violation}>", _T
        episode_node = f"<{iris.violation_episode(violation, episode)}>"
        caused = f"{t['isCausedBy']} <{cause.event}>" if cause.event is not None else f"{t['openedByClock']} true"
        reset = "" if fresh else f"DELETE {{ GRAPH {VIOLATIONS} {{ {v} ?p ?o }} }} WHERE {{ {_episode_fields(v)} }} ;\n"
        # a digest left by a violation whose record was dropped (a store cleared by hand) must not stand beside this
        reset += f"DELETE WHERE {{ GRAPH {META} {{ {v} {STATEMENT_DIGEST} ?said }} }} ;\n"
        return reset + (
            f"INSERT DATA {{ GRAPH {VIOLATIONS} {{ {v} a {t['Violation']} ; "
            f"{t['isViolationOf']} <{first.obligation}> ; {t['concernsOrganisation']} <{first.organisation}> ; "
            f"{t['hasFocusNode']} <{first.focus}> ; {t['hasViolationStatus']} {t['ViolationOpen']} ; "
            f"{t['openedAt']} {_dt(cause.at)} ; {_statement(group)} {caused} ; "
            f"{t['hasEpisode']} {episode_node} . "
            f"{episode_node} a {t['ViolationEpisode']} ; {t['openedAt']} {_dt(cause.at)} ; {caused} . }} "
            f"GRAPH {META} {{ {v} {STATEMENT_DIGEST} {statement_digest(group)} }} }}"
        )

    def _restate(self, violation: URIRef, group: Sequence[Finding], said: int) -> str:
        """An open violation's messages, shapes and severity replaced by what its findings say now; its episodes
        (when it opened, and why) stay."""
        v, t = f"<{violation}>", _T
        fields = ", ".join(t[name] for name in ("message", "isDetectedByShape", "hasSeverity"))
        return (
            f"DELETE {{ GRAPH {VIOLATIONS} {{ {v} ?p ?o }} }} "
            f"WHERE {{ GRAPH {VIOLATIONS} {{ {v} ?p ?o FILTER(?p IN ({fields})) }} }} ;\n"
            f"DELETE WHERE {{ GRAPH {META} {{ {v} {STATEMENT_DIGEST} ?said }} }} ;\n"
            f"INSERT DATA {{ GRAPH {VIOLATIONS} {{ {v} {_statement(group)[:-1]} . }} "
            f"GRAPH {META} {{ {v} {STATEMENT_DIGEST} {said} }} }}"
        )

    def _resolve(self, violation: URIRef, episode: int, cause: Cause) -> str:
        v, t = f"<{violation}>", _T
        episode_node = f"<{iris.violation_episode(violation, episode)}>"
        resolved = f"{t['isResolvedBy']} <{cause.event}>" if cause.event is not None else f"{t['resolvedByClock']} true"
        return (
            f"DELETE DATA {{ GRAPH {VIOLATIONS} {{ {v} {t['hasViolationStatus']} {t['ViolationOpen']} }} }} ;\n"
            f"INSERT DATA {{ GRAPH {VIOLATIONS} {{ {v} {t['hasViolationStatus']} {t['ViolationResolved']} ; "
            f"{t['resolvedAt']} {_dt(cause.at)} ; {resolved} . "
            f"{episode_node} {t['resolvedAt']} {_dt(cause.at)} ; {resolved} . }} }}"
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

    def _details(self, violations: Sequence[URIRef]) -> dict[URIRef, Row]:
        """What a ``resolved`` change reports of each violation, in one query for the whole batch."""
        if not violations:
            return {}
        values = " ".join(violation.n3() for violation in violations)
        rows = self.store.select(
            f"SELECT ?v ?org ?obligation ?focus ?message ?severity WHERE {{ GRAPH {VIOLATIONS} {{ "
            f"VALUES ?v {{ {values} }} ?v {OG.concernsOrganisation.n3()} ?org ; {OG.hasFocusNode.n3()} ?focus ; "
            f"{OG.isViolationOf.n3()} ?obligation ; {OG.hasSeverity.n3()} ?severity "
            f'OPTIONAL {{ ?v {OG.message.n3()} ?message FILTER(lang(?message) = "en") }} }} }}'
        )
        return {URIRef(_value(row["v"])): row for row in rows}

    def _resolved_change(self, violation: URIRef, episode: int, cause: Cause, row: Row) -> ViolationChange:
        return ViolationChange(
            kind="resolved",
            violation_id=iris.violation_id(violation),
            episode=episode,
            organisation=iris.organisation_id(URIRef(_value(row["org"]))),
            obligation=iris.obligation_id(_value(row["obligation"])),
            focus_node=_value(row["focus"]),
            message=_value(row.get("message")),
            severity=_severity_name(_value(row["severity"])),
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


def _severity(group: Sequence[Finding]) -> URIRef:
    return SH.Violation if any(f.severity == SH.Violation for f in group) else SH.Warning


def _statement(group: Sequence[Finding]) -> str:
    """The predicate-object list (ending in ``;``) of what a violation says: messages, shapes, severity."""
    t = _T
    messages = " ".join(
        f"{t['message']} {Lit(text, lang=lang).n3()} ;" for lang, text in _messages_by_lang(group).items()
    )
    shapes = " ".join(f"{t['isDetectedByShape']} <{f.shape}> ;" for f in group)
    return f"{messages} {shapes} {t['hasSeverity']} <{_severity(group)}> ;"


Status = Literal["open", "resolved", "all"]


def list_violations(
    store: Store,
    organisation_id: str | None = None,
    status: Status = "open",
    *,
    obligation_id: str | None = None,
    only: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Violations as plain data (the CLI's JSON, the API's source), newest first, with history and trace; of one
    organisation, one obligation (its reference id), or all; ``only`` these violation IRIs (a page)."""
    # The organisation and the status go into the first pattern as constants (BIND, not FILTER): pyoxigraph
    # plans from them, where a FILTER would be applied after reading every violation.
    binds = [f"VALUES ?v {{ {' '.join(f'<{iri}>' for iri in only)} }}"] if only is not None else []
    if organisation_id is not None:
        binds.append(f"BIND({iris.organisation(organisation_id).n3()} AS ?org)")
    if status != "all":
        wanted = OG.ViolationOpen if status == "open" else OG.ViolationResolved
        binds.append(f"BIND({wanted.n3()} AS ?status)")
    if obligation_id is not None:
        binds.append(f"BIND({iris.obligation(obligation_id).n3()} AS ?o)")
    rows = store.select(
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        "SELECT ?v ?org ?status ?obligation ?focus ?opened ?resolved ?severity ?en ?zh ?cause ?causeId ?clock "
        "?resolver ?resolverId ?resolvedByClock ?article ?authority ?penalty ?shape WHERE { "
        f"GRAPH {VIOLATIONS} {{ {' '.join(binds)} ?v a {OG.Violation.n3()} ; {OG.concernsOrganisation.n3()} ?org ; "
        f"{OG.hasViolationStatus.n3()} ?status ; {OG.isViolationOf.n3()} ?o ; {OG.hasFocusNode.n3()} ?focus ; "
        f"{OG.openedAt.n3()} ?opened ; {OG.hasSeverity.n3()} ?severity . "
        f"OPTIONAL {{ ?v {OG.resolvedAt.n3()} ?resolved }} "
        f'OPTIONAL {{ ?v {OG.message.n3()} ?en FILTER(lang(?en) = "en") }} '
        f'OPTIONAL {{ ?v {OG.message.n3()} ?zh FILTER(lang(?zh) = "zh") }} '
        f"OPTIONAL {{ ?v {OG.openedByClock.n3()} ?clock }} "
        f"OPTIONAL {{ ?v {OG.resolvedByClock.n3()} ?resolvedByClock }} "
        f"OPTIONAL {{ ?v {OG.isDetectedByShape.n3()} ?shape }} "
        f"OPTIONAL {{ ?v {OG.isCausedBy.n3()} ?cause "
        f"GRAPH <{Graphs.EVENTS}> {{ ?cause {OG.eventId.n3()} ?causeId }} }} "
        f"OPTIONAL {{ ?v {OG.isResolvedBy.n3()} ?resolver "
        f"GRAPH <{Graphs.EVENTS}> {{ ?resolver {OG.eventId.n3()} ?resolverId }} }} }} "
        "?o skos:notation ?obligation . "
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
                "severity": _severity_name(_value(row["severity"])),
                "causedBy": _value(row.get("causeId")) if row.get("causeId") is not None else "clock",
                "resolvedBy": _resolver(row),
                "trace": {"shapes": [], "articles": [], "authorities": [], "penalty": _value(row.get("penalty"))},
            }
        trace = entry["trace"]
        for key, name in (("shapes", "shape"), ("articles", "article"), ("authorities", "authority")):
            value = row.get(name)
            if value is not None and _value(value) not in trace[key]:
                trace[key].append(_value(value))
    for entry in by_id.values():  # sorted, so the same violations always list the same (the store keeps no order)
        for key in ("shapes", "articles", "authorities"):
            entry["trace"][key].sort()
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


# Dashboard reads (the GraphQL API): pages cut in the store, records and histories read in batches.


@dataclass(frozen=True)
class ViolationFilter:
    """Every given criterion must hold; ``organisation``, ``obligation`` and ``authority`` are IRIs. A bound without
    a time zone is China time (UTC+8), as the events' times are read: compared as given, it would be neither before
    nor after a stored time within 14 hours of it (XSD's rule for a time without a zone), and those violations
    would fall out of both filters."""

    organisation: str | None = None
    obligation: str | None = None
    authority: str | None = None
    status: Status = "all"
    opened_after: datetime | None = None
    opened_before: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("opened_after", "opened_before"):
            bound = getattr(self, name)
            if bound is not None and bound.tzinfo is None:
                object.__setattr__(self, name, bound.replace(tzinfo=CHINA))


ViolationKey = tuple[str, str]
"""Where a violation sorts: (opened-at as stored, violation IRI); newest first, then by IRI."""


@dataclass(frozen=True)
class ViolationRecord:
    iri: str
    id: str
    organisation: str
    organisation_id: str
    obligation: str
    obligation_id: str
    focus_node: str
    open: bool
    opened_at: datetime
    resolved_at: datetime | None
    messages: Mapping[str, str]
    severity: str
    caused_by: str
    resolved_by: str | None
    shapes: tuple[str, ...]
    episodes: int


_RECORD: Final = tuple(
    str(OG[name])
    for name in (
        "openedAt",
        "resolvedAt",
        "isCausedBy",
        "isResolvedBy",
        "concernsOrganisation",
        "isViolationOf",
        "hasFocusNode",
        "hasViolationStatus",
        "hasSeverity",
        "message",
        "isDetectedByShape",
        "hasEpisode",
    )
)
"""The predicates a record reads, numbered in this order by the store (``Store.numbered_objects``); an earlier
episode records the first four (``_EPISODE_RECORD``), under the same numbers."""
_OPENED, _RESOLVED, _CAUSE, _RESOLVER, _ORGANISATION, _OBLIGATION, _FOCUS, _STATUS, _SEVERITY = range(9)
_MESSAGE, _SHAPE, _EPISODE = range(9, 12)
_EPISODE_RECORD: Final = _RECORD[: _RESOLVER + 1]
_OPEN: Final = f"<{OG.ViolationOpen}>"
_EVENT_ID: Final = (str(OG.eventId),)

Fields = dict[int, list[str]]
"""A subject's objects as TSV fields (``kg.solutions``), by the number of their predicate."""


def violation_records(store: Store, violations: Iterable[str]) -> dict[str, ViolationRecord]:
    """The stored state of each violation (unknown IRIs are left out), in two reads: the violations' objects,
    then the ids of the events that opened and resolved them. Read as text (``Store.numbered_objects``), as a
    dashboard's page of 50 is on its longest path."""
    wanted = sorted(set(violations))
    found = _numbered(store.numbered_objects(wanted, Graphs.VIOLATIONS, _RECORD, counted=_RECORD[_EPISODE:]))
    ids = _event_ids(store, found)
    return {wanted[number]: _record(wanted[number], fields, ids) for number, fields in sorted(found.items())}


def _numbered(rows: Iterable[tuple[int, int, str]]) -> dict[int, Fields]:
    found: dict[int, Fields] = {}
    for subject, predicate, obj in rows:
        found.setdefault(subject, {}).setdefault(predicate, []).append(obj)
    return found


def _event_ids(store: Store, found: Mapping[int, Fields]) -> dict[str, str]:
    """The id each event that opened or resolved one of ``found`` carries, by its IRI field."""
    fields = sorted(
        {field for links in found.values() for link in (_CAUSE, _RESOLVER) for field in links.get(link, ())}
    )
    rows = store.numbered_objects([solutions.iri(field) for field in fields], Graphs.EVENTS, _EVENT_ID)
    return {fields[number]: solutions.value(xid) for number, _, xid in rows}


def _record(iri: str, fields: Fields, ids: Mapping[str, str]) -> ViolationRecord:
    value = solutions.value

    def first(predicate: int) -> str:
        return value(fields[predicate][0])

    organisation, obligation = first(_ORGANISATION), first(_OBLIGATION)
    resolved = value(fields[_RESOLVED][0]) if _RESOLVED in fields else None
    messages: dict[str, str] = {}
    for field in fields.get(_MESSAGE, ()):
        message = solutions.term(field)
        if isinstance(message, ox.Literal):
            messages[message.language or ""] = message.value
    return ViolationRecord(
        iri=iri,
        id=iris.violation_id(iri),
        organisation=organisation,
        organisation_id=iris.organisation_id(organisation),
        obligation=obligation,
        obligation_id=iris.obligation_id(obligation),
        focus_node=first(_FOCUS),
        open=fields[_STATUS][0] == _OPEN,
        opened_at=datetime.fromisoformat(first(_OPENED)),
        resolved_at=datetime.fromisoformat(resolved) if resolved else None,
        messages=messages,
        severity=_severity_name(first(_SEVERITY)),
        caused_by=_by(fields.get(_CAUSE), ids) or "clock",
        resolved_by=_by(fields.get(_RESOLVER), ids) or ("clock" if resolved else None),
        shapes=tuple(sorted(value(field) for field in fields.get(_SHAPE, ()))),
        episodes=len(fields.get(_EPISODE, ())),
    )


def _by(links: list[str] | None, ids: Mapping[str, str]) -> str | None:
    """What opened or resolved an episode: the event's id, or its IRI where it has none; None: the clock."""
    if not links:
        return None
    return ids.get(links[0]) or solutions.value(links[0])


@dataclass(frozen=True)
class Episode:
    """One open→resolved period of a violation and what opened and closed it (an event id, or ``clock``)."""

    number: int
    opened_at: datetime
    resolved_at: datetime | None
    caused_by: str
    resolved_by: str | None


def violation_episodes(store: Store, records: Mapping[str, ViolationRecord]) -> dict[str, list[Episode]]:
    """The history of each violation whose record is read (``violation_records``), oldest episode first.

    The latest episode is the record's own: a violation's status, dates and causes are those of its latest episode
    (the ledger writes them together, and a re-opening replaces them). So only earlier episodes are read, by
    their IRIs, with the ids of the events that opened and resolved them: most violations have one episode (a page
    of 50 with 75 episodes, on disk at 100,000 organisations: 2.7 ms read whole, 0.8 ms so). ``violation_history``
    reads one violation's episodes from the store alone."""
    earlier = {
        str(iris.violation_episode(URIRef(iri), number)): iri
        for iri, record in records.items()
        for number in range(1, record.episodes)
    }
    history = _episodes(store, earlier) if earlier else {}
    for iri, record in records.items():
        episodes = history.setdefault(iri, [])
        if record.episodes:
            latest = (record.opened_at, record.resolved_at, record.caused_by, record.resolved_by)
            episodes.append(Episode(record.episodes, *latest))
        episodes.sort(key=lambda episode: episode.number)
    return dict(history)


def _episodes(store: Store, episode_of: Mapping[str, str]) -> dict[str, list[Episode]]:
    """The episodes (IRI → its violation) as stored, in two reads: their objects, then the ids of the events that
    opened and resolved them."""
    wanted = sorted(episode_of)
    found = _numbered(store.numbered_objects(wanted, Graphs.VIOLATIONS, _EPISODE_RECORD))
    ids = _event_ids(store, found)
    history: dict[str, list[Episode]] = defaultdict(list)
    for number, fields in sorted(found.items()):
        if _OPENED not in fields:
            continue
        episode = wanted[number]
        resolved = solutions.value(fields[_RESOLVED][0]) if _RESOLVED in fields else None
        history[episode_of[episode]].append(
            Episode(
                number=int(episode.rsplit("/", 1)[-1]),
                opened_at=datetime.fromisoformat(solutions.value(fields[_OPENED][0])),
                resolved_at=datetime.fromisoformat(resolved) if resolved else None,
                caused_by=_by(fields.get(_CAUSE), ids) or "clock",
                resolved_by=_by(fields.get(_RESOLVER), ids) or ("clock" if resolved else None),
            )
        )
    return history


def violation_iri(violation_id: str) -> str:
    """The IRI of a violation from its short id (the digest ``kg.iris.violation`` ends the IRI with)."""
    return f"{iris.BASE}violation/{violation_id}"

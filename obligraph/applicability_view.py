"""What ``obligraph applicable`` shows: which obligations bind an organisation, their status, and why.

"Why does GAI-12 apply to us?" is answered from the graph: the obligation binds a role, a rule derived that role (or
a narrower one) from the organisation's facts, and the derived role assignment names those facts
(``kg.compliance``, the same reading the GraphQL ``applicableObligations`` field makes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from kg.compliance import Applicability, Reason
from kg.iris import Graphs
from kg.nodes import describe, label_in
from kg.store import Store

ORGANISATION: Final = "(organisation)"
"""How a reason names the organisation itself among its facts."""


def applicability_row(entry: Applicability, organisation: str, title: Mapping[str, str]) -> dict[str, Any]:
    """One obligation as plain data (the JSON format); ``organisation`` is the organisation's IRI, ``title`` the
    obligation's title by language (``titles``)."""
    return {
        "obligation": entry.obligation_id,
        "title": label_in(title, "en"),
        "titleZh": label_in(title, "zh"),
        "status": entry.status.value,
        "dueOn": entry.due_on.isoformat() if entry.due_on else None,
        "dueOnEstimated": entry.due_estimated if entry.due_on else None,
        "reasons": [_reason(reason, organisation) for reason in entry.reasons],
    }


def because(reason: dict[str, Any], names: Mapping[str, str] | None = None) -> str:
    """``binds X, derived from <facts> (rule …)``, or ``binds X through Y, derived …`` for a narrower role. With
    ``names`` (each role's Chinese label by its local name, ``role_names``), the same in Chinese."""
    role, assigned = reason["boundRole"], reason["assignedRole"]
    rules = ", ".join(reason["rules"])
    if names is not None:
        through = "" if assigned == role else f"（经由{names.get(assigned, assigned)}）"
        facts = "、".join("本组织" if fact == ORGANISATION else fact for fact in reason["facts"]) or "该组织的基本信息"
        return f"约束{names.get(role, role)}{through}，源于 {facts}" + (f"（规则 {rules}）" if rules else "")
    through = "" if assigned == role else f" through {assigned}"
    facts = ", ".join(reason["facts"]) or "the organisation's profile"
    return f"binds {role}{through}, derived from {facts}" + (f" (rule {rules})" if rules else "")


def titles(store: Store, entries: Iterable[Applicability]) -> dict[str, dict[str, str]]:
    """Each entry's obligation title by language, by the obligation's IRI, in one read."""
    found = describe(store, (entry.obligation for entry in entries), Graphs.REGULATIONS)
    return {iri: node.labels() for iri, node in found.items()}


def role_names(store: Store, entries: Iterable[Applicability], lang: str) -> dict[str, str]:
    """The label in ``lang`` of every role the entries' reasons name, by the role's local name."""
    roles = {iri for entry in entries for r in entry.reasons for iri in (r.bound_role, r.assignment.role)}
    return {_local(iri): label_in(node.labels(), lang) or _local(iri) for iri, node in describe(store, roles).items()}


def relative_to(node: str, organisation: str) -> str:
    """A node of an organisation named from it (``system/chat-assistant``), the organisation itself
    ``(organisation)``; both IRIs."""
    return ORGANISATION if node == organisation else node.removeprefix(f"{organisation}/")


def _reason(reason: Reason, organisation: str) -> dict[str, Any]:
    return {
        "boundRole": _local(reason.bound_role),
        "assignedRole": _local(reason.assignment.role),
        "facts": [relative_to(fact, organisation) for fact in reason.assignment.reasons],
        "rules": [_local(rule) for rule in reason.assignment.rules],
    }


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]

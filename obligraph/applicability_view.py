"""What ``obligraph applicable`` shows: which obligations bind an organisation, their status, and why.

"Why does GAI-12 apply to us?" is answered from the graph: the obligation binds a role, a rule derived that role (or
a narrower one) from the organisation's facts, and the derived role assignment names those facts
(``kg.compliance``, the same reading the GraphQL ``applicableObligations`` field makes).
"""

from __future__ import annotations

from typing import Any

from kg.compliance import Applicability, Reason


def applicability_row(entry: Applicability, organisation: str) -> dict[str, Any]:
    """One obligation as plain data (the JSON format); ``organisation`` is the organisation's IRI."""
    return {
        "obligation": entry.obligation_id,
        "status": entry.status.value,
        "dueOn": entry.due_on.isoformat() if entry.due_on else None,
        "reasons": [_reason(reason, organisation) for reason in entry.reasons],
    }


def because(reason: dict[str, Any]) -> str:
    """``binds X, derived from <facts> (rule …)``, or ``binds X through Y, derived …`` for a narrower role."""
    role, assigned = reason["boundRole"], reason["assignedRole"]
    through = "" if assigned == role else f" through {assigned}"
    facts = ", ".join(reason["facts"]) or "the organisation's profile"
    rules = ", ".join(reason["rules"])
    return f"binds {role}{through}, derived from {facts}" + (f" (rule {rules})" if rules else "")


def relative_to(node: str, organisation: str) -> str:
    """A node of an organisation named from it (``system/chat-assistant``), the organisation itself
    ``(organisation)``; both IRIs."""
    return "(organisation)" if node == organisation else node.removeprefix(f"{organisation}/")


def _reason(reason: Reason, organisation: str) -> dict[str, Any]:
    return {
        "boundRole": _local(reason.bound_role),
        "assignedRole": _local(reason.assignment.role),
        "facts": [relative_to(fact, organisation) for fact in reason.assignment.reasons],
        "rules": [_local(rule) for rule in reason.assignment.rules],
    }


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]

"""``obligraph applicable``: which obligations bind an organisation, their status as of a day, and why.

"Why does GAI-12 apply to us?" is answered from the graph: the obligation binds a role, a rule derived that role (or
a narrower one) from the organisation's facts, and the derived role assignment names those facts
(``kg.compliance``, the same reading the GraphQL ``applicableObligations`` field makes).
"""

from __future__ import annotations

import json
import sys
import textwrap
from datetime import date, datetime
from typing import Annotated, Any

import typer

from kg.compliance import Applicability, Reason


def applicable(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organisation id")],
    obligation: Annotated[
        str | None, typer.Option("--obligation", help="Only this obligation (its id, e.g. GAI-12)")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day the status is judged (YYYY-MM-DD; default today in China)")
    ] = None,
    output: Annotated[str, typer.Option("--format", "-f", help="Output format: table or json")] = "table",
) -> None:
    """Which obligations bind an organisation, their status as of a day, and the facts that make them apply."""
    from kg import iris
    from kg.compliance import applicable_obligations
    from kg.iris import Graphs
    from kg.organisations import CHINA
    from obligraph.cli import console, fail, opened_store, out

    if output not in ("table", "json"):
        raise fail(f"--format expects table or json, got {output!r}")
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(CHINA).date()
    except ValueError:
        raise fail(f"--as-of expects a date such as 2026-03-01, got {as_of!r}") from None
    organisation = iris.organisation(org)
    with opened_store(ctx.obj) as store:
        if not store.ask(f"ASK {{ GRAPH <{Graphs.ORGANISATIONS}> {{ {organisation.n3()} ?p ?o }} }}"):
            raise fail(f"unknown organisation {org!r}: no event has registered it")
        found = applicable_obligations(store, str(organisation), day)
    if obligation is not None:
        found = [entry for entry in found if entry.obligation_id == obligation]
        if not found:
            raise fail(f"{obligation} does not bind {org} as of {day} (see: obligraph applicable --org {org})")
    rows = [_as_json(entry, str(organisation)) for entry in found]
    if output == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    indent = " " * 4
    for row in rows:
        due = f"  due {row['dueOn']}" if row["dueOn"] else ""
        out.print(f"{row['obligation']}  {row['status']}{due}", highlight=False, markup=False)
        for reason in row["reasons"]:
            text = _because(reason)
            wrapped = textwrap.fill(
                text, max(out.width, 40), initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
            )
            out.print(wrapped, highlight=False, markup=False)
        out.print("", highlight=False)
    console.print(f"{len(rows)} obligation{' binds' if len(rows) == 1 else 's bind'} {org} as of {day}")


def _as_json(entry: Applicability, organisation: str) -> dict[str, Any]:
    return {
        "obligation": entry.obligation_id,
        "status": entry.status.value,
        "dueOn": entry.due_on.isoformat() if entry.due_on else None,
        "reasons": [_reason(reason, organisation) for reason in entry.reasons],
    }


def _reason(reason: Reason, organisation: str) -> dict[str, Any]:
    return {
        "boundRole": _local(reason.bound_role),
        "assignedRole": _local(reason.assignment.role),
        "facts": [_fact(fact, organisation) for fact in reason.assignment.reasons],
        "rules": [_local(rule) for rule in reason.assignment.rules],
    }


def _because(reason: dict[str, Any]) -> str:
    """``binds X, derived from <facts> (rule …)``, or ``binds X through Y, derived …`` for a narrower role."""
    role, assigned = reason["boundRole"], reason["assignedRole"]
    through = "" if assigned == role else f" through {assigned}"
    facts = ", ".join(reason["facts"]) or "the organisation's profile"
    rules = ", ".join(reason["rules"])
    return f"binds {role}{through}, derived from {facts}" + (f" (rule {rules})" if rules else "")


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _fact(iri: str, organisation: str) -> str:
    """A fact node relative to its organisation: ``system/chat-assistant``, or ``(organisation)``."""
    if iri == organisation:
        return "(organisation)"
    return iri.removeprefix(f"{organisation}/")

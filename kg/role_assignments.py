"""Reading an organisation's derived roles back, each with the facts and rules that produced it.

The derived graph holds one ``og:RoleAssignment`` per role an organisation plays (``kg.roles`` writes them); this
is the answer to "why does this obligation bind us?" that ``kg.compliance`` gives, and ``kg.foresight`` reads the
same from a store where the roles were derived as of a day ahead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Final

import pyoxigraph as ox

from kg.catalog import PREFIXES
from kg.iris import Graphs
from kg.store import Store

DERIVED: Final = f"<{Graphs.DERIVED}>"


@dataclass(frozen=True)
class RoleAssignment:
    """One derived role of an organisation and what produced it."""

    iri: str
    role: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...]


def role_assignments(store: Store, organisation: str) -> list[RoleAssignment]:
    rows = store.select(
        f"{PREFIXES}SELECT ?a ?role ?reason ?rule WHERE {{ GRAPH {DERIVED} {{ ?a og:isAssignedTo <{organisation}> ; "
        "og:assignedRole ?role OPTIONAL { ?a og:hasReason ?reason } OPTIONAL { ?a og:isDerivedByRule ?rule } } }"
    )
    roles: dict[str, str] = {}
    reasons: dict[str, set[str]] = defaultdict(set)
    rules: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        iri = _value(row["a"])
        roles[iri] = _value(row["role"])
        if "reason" in row:
            reasons[iri].add(_value(row["reason"]))
        if "rule" in row:
            rules[iri].add(_value(row["rule"]))
    return [
        RoleAssignment(iri, roles[iri], tuple(sorted(reasons[iri])), tuple(sorted(rules[iri]))) for iri in sorted(roles)
    ]


def _value(term: object) -> str:
    assert isinstance(term, ox.NamedNode | ox.Literal | ox.BlankNode), term
    return term.value

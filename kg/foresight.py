"""One organisation as it will be on a day ahead: its roles derived as of that day, in a scratch copy.

Roles come from live systems (a system goes live on its ``launchedOn``), and the derived graph holds the roles of the
organisation's latest judgement. So an organisation that has announced a public-opinion chatbot launching next week
is not yet a generative-AI service provider, and the security assessment it owes *before* launch (GAI-12) would
show only once late. Judging ahead needs the roles of that day: here the organisation's own triples and the
regulation graph are copied into a small in-memory store, the role rules run there as of the day asked, and the
obligation checks can then run on it as the clock will (``kg.owed_clocks``). Nothing is written to the main store.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import pyoxigraph as ox
from rdflib import URIRef

from kg.catalog import PerBuild
from kg.iris import Graphs
from kg.role_assignments import RoleAssignment, role_assignments
from kg.roles import RoleDeriver, RoleRule
from kg.store import OxigraphStore, Store
from kg.workspace import copy_query
from ontology.namespaces import OG, RDF, XSD

_REGULATIONS: Final[PerBuild[bytes]] = PerBuild()


class Foresight:
    """A scratch store holding the regulation graph and a copy of one organisation (its systems, evidence,
    transfers and clocks), where its roles are derived as of any day."""

    def __init__(self, main: Store, organisation: str, fingerprint: str | None, rules: tuple[RoleRule, ...]) -> None:
        self.organisation = URIRef(organisation)
        self._deriver = RoleDeriver(rules)
        self.store = OxigraphStore(None)
        regulations = _REGULATIONS.get(
            fingerprint, lambda: main.export_graph(Graphs.REGULATIONS, ox.RdfFormat.N_TRIPLES)
        )
        self.store.add_copy(Graphs.REGULATIONS, regulations, ox.RdfFormat.N_TRIPLES)
        owned = main.construct(copy_query([self.organisation]))
        self.store.add_copy(Graphs.ORGANISATIONS, owned, ox.RdfFormat.N_TRIPLES)
        self.day: date | None = None

    def forget_after(self, day: date) -> None:
        """Take out of the copy what was not yet so on ``day``: evidence made after it (a filing, an assessment, a
        publication, a control in place since), and a withdrawal, retirement or end after it. Looking back, a duty
        done later was still owed then. (Controls are state: one re-implemented after the day is taken out whole.)"""
        day_literal = f'"{day.isoformat()}"^^<{XSD.date}>'
        made = ", ".join(p.n3() for p in (OG.filedOn, OG.completedOn, OG.publishedOn, OG.since))
        ended = ", ".join(p.n3() for p in (OG.withdrawnOn, OG.retiredOn, OG.endedOn))
        orgs = f"<{Graphs.ORGANISATIONS}>"
        self.store.update(
            f"DELETE {{ GRAPH {orgs} {{ ?ev ?p ?o . ?holder {OG.hasEvidence.n3()} ?ev }} }} WHERE {{ GRAPH {orgs} {{ "
            f"?holder {OG.hasEvidence.n3()} ?ev . ?ev ?made ?when FILTER(?made IN ({made}) && ?when > {day_literal}) "
            "?ev ?p ?o } } ;\n"
            f"DELETE {{ GRAPH {orgs} {{ ?s ?ended ?when }} }} WHERE {{ GRAPH {orgs} {{ ?s ?ended ?when "
            f"FILTER(?ended IN ({ended}) && ?when > {day_literal}) }} }}"
        )
        self.day = None

    def as_of(self, day: date) -> Store:
        """The scratch store with the organisation's roles as the rules derive them on ``day``."""
        if day != self.day:
            _, triples = self._deriver.derive(self.store, {self.organisation: day}, {})
            self.store.drop_graph(Graphs.DERIVED)
            self.store.add_copy(Graphs.DERIVED, triples, ox.RdfFormat.N_TRIPLES)
            self.day = day
        return self.store

    def roles(self) -> frozenset[str]:
        """The role classes (broader ones included) derived as of the last day asked."""
        derived = self.store.outgoing([str(self.organisation)], Graphs.DERIVED, str(RDF.type))
        return frozenset(term.value for _, _, term in derived)

    def role_assignments(self) -> list[RoleAssignment]:
        """The role assignments derived as of the last day asked, with their reasons."""
        return role_assignments(self.store, str(self.organisation))

"""Why an obligation does not bind an organisation: the place or the roles it would need, and the roles it plays.

"Does GAI-12 apply to us?" deserves more than "no" when the answer is no: a compliance officer asks next whether it
is the jurisdiction (Beijing's measures), a role the organisation lacks, or a narrower role its trigger requires.
"""

from __future__ import annotations

from kg.compliance import OrganisationReads, organisation_roles
from kg.store import Store
from ontology.namespaces import OG, SKOS


def why_not_bound(store: Store, obligation: str, shared: OrganisationReads) -> str:
    """A sentence on what the obligation (its IRI) needs that the organisation (``shared``'s) lacks. The roles are
    those the derived graph holds now, its latest judgement's."""
    index = shared.applicability(store)
    facts = index.obligations.get(obligation)
    if facts is None:
        return "it binds no role an event can give"
    organisation = shared.describe(store, [shared.organisation])[shared.organisation]
    name = organisation.identifier() or shared.organisation
    jurisdiction = shared.jurisdiction(store)
    if not index.binds_in(obligation, jurisdiction):
        places = sorted(_notation(store, shared, place) for place in facts.jurisdictions)
        here = organisation.text(OG.jurisdictionCode) or "another jurisdiction"
        return f"its instruments bind organisations in {' or '.join(places)} only, and {name} is registered in {here}"
    bound = sorted(role for role, obligations in index.obligations_binding.items() if obligation in obligations)
    needs = []
    for role in bound:
        narrower = sorted(facts.narrowing.get(role, frozenset()))
        needs.append(_local(role) + (f" (only if also {' and '.join(map(_local, narrower))})" if narrower else ""))
    wanted = f"it binds {' or '.join(needs)}"
    if facts.requires:
        wanted += f", each only if also {' and '.join(sorted(map(_local, facts.requires)))}"
    relevant = set(bound) | set(facts.requires) | {n for narrower in facts.narrowing.values() for n in narrower}
    plays = sorted(_local(role) for role in organisation_roles(store, shared.organisation) & relevant)
    return f"{wanted}; of these {name} plays {', '.join(plays) if plays else 'none'} (as last judged)"


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1]


def _notation(store: Store, shared: OrganisationReads, concept: str) -> str:
    return shared.describe(store, [concept])[concept].text(SKOS.notation) or _local(concept)

"""The example queries the SPARQL page offers: the README's five queries to start with, in its order.

`tests/test_sparql_page.py` requires these texts to be the README's own, so the page and the README never differ,
and `tests/test_readme_queries.py` checks what each answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Example:
    title: str
    query: str


EXAMPLES: Final = (
    Example(
        "Obligations enforced by the CAC, with their articles",
        """PREFIX og:   <https://w3id.org/obligraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?id ?title (GROUP_CONCAT(DISTINCT ?article; separator=", ") AS ?articles)
WHERE {
  ?obligation a og:Obligation ; skos:notation ?id ; rdfs:label ?title ;
              og:hasCompetentAuthority/skos:notation "CAC" .
  FILTER(lang(?title) = "en")
  OPTIONAL {
    ?obligation og:hasLegalBasis ?a .
    ?a rdfs:label ?articleLabel ; og:isArticleOf/og:shortName ?instrument .
    FILTER(lang(?articleLabel) = "en")
    BIND(CONCAT(?instrument, " ", ?articleLabel) AS ?article)
  }
}
GROUP BY ?id ?title ORDER BY ?id
""",
    ),
    Example(
        "Obligations binding a generative-AI service provider under instruments in force on 1 January 2026",
        """PREFIX og:   <https://w3id.org/obligraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd:  <http://www.w3.org/2001/XMLSchema#>
SELECT ?id ?role ?instrument ?effective
WHERE {
  og:GenerativeAIServiceProvider rdfs:subClassOf* ?boundRole .
  ?obligation og:bindsRole ?boundRole ; skos:notation ?id ; og:hasInstrument ?i .
  ?boundRole skos:notation ?role .
  ?i og:hasInstrumentStatus og:StatusInForce ; og:effectiveOn ?effective ; og:shortName ?instrument .
  FILTER(?effective <= "2026-01-01"^^xsd:date)
  FILTER NOT EXISTS {  # a narrower role the obligation also requires (GAI-12: public-opinion attributes)
    ?obligation og:requiresRole ?required .
    FILTER NOT EXISTS { og:GenerativeAIServiceProvider rdfs:subClassOf* ?required }
  }
}
ORDER BY ?id
""",
    ),
    Example(
        "Penalties by instrument",
        """PREFIX og:   <https://w3id.org/obligraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?instrument ?id ?penalty
WHERE {
  ?obligation og:hasInstrument/og:shortName ?instrument ; skos:notation ?id ;
              og:hasPenalty/og:penaltyText ?penalty .
}
ORDER BY ?instrument ?id
""",
    ),
    Example(
        "Deadlines counted in Chinese working days, and what they run from",
        """PREFIX og:   <https://w3id.org/obligraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX time: <http://www.w3.org/2006/time#>
SELECT ?id ?days ?from ?text
WHERE {
  ?obligation skos:notation ?id ; og:hasDeadline ?deadline ; og:deadlineText ?text .
  ?deadline og:isCountedIn og:WorkingDays ; og:hasDuration/time:numericDuration ?days ;
            og:isRelativeTo/skos:notation ?from .
}
ORDER BY ?id ?from
""",
    ),
    Example(
        "What is not settled law: drafts, unverified instruments and guidance, and their weakly sourced obligations",
        """PREFIX og:   <https://w3id.org/obligraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?instrument ?status (COUNT(DISTINCT ?obligation) AS ?obligations)
       (GROUP_CONCAT(DISTINCT ?weak; separator=" ") AS ?notHighConfidence)
WHERE {
  ?i a og:Instrument ; og:shortName ?instrument ; og:hasInstrumentStatus/skos:notation ?status .
  OPTIONAL { ?obligation og:hasInstrument ?i .
             OPTIONAL { ?obligation og:hasConfidence/skos:notation ?c ; skos:notation ?oid
                        FILTER(?c != "high") BIND(CONCAT(?oid, "(", ?c, ")") AS ?weak) } }
  FILTER(?status != "in-force")
}
GROUP BY ?instrument ?status ORDER BY ?status ?instrument
""",
    ),
)

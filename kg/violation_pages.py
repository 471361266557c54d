"""Pages of violations, newest first, cut in the store (keyset on opened-at, then IRI).

A filter on an organisation (or an obligation or authority that few violations have: counted first) picks few
violations, and the store's join starts from it. Without one (every organisation's violations, filtered at most by
status, dates or a common obligation or authority) that join would pair every violation with its organisation,
obligation and status before sorting: 4.6 s just to count 300,000 violations at 100,000 organisations on disk,
and a page took 5–10 s. There a page is cut in two queries, each in the store:

1. **Candidates**: the newest opened-at values in a window back from the newest one, from ``og:openedAt`` alone
   (one scan that decodes no term: ~0.2 s for 780,000 values, episodes' included), sorted, at most ``K``;
2. **The page**: those candidates (``VALUES``) joined with their organisation, obligation and status, filtered,
   sorted again, the first ``limit``.

Every opened-at outside the candidates sorts after all of them (it is older than the window, or beyond the K-th),
so when step 2 fills the page it is the page the whole sort gives. When it does not, ``K`` grows (the window had
more) or the window widens (it had no more), eight times over each time, until the page fills or everything was
read. One ``MAX``/``MIN``/``COUNT`` scan sizes the first window for 64 pages, as if opened-at values were spread
evenly: sorting a window is cheap, and each further round scans again. That scan of every opened-at is reused for a
minute (``SPAN_TTL_S``), as it only sizes the window. (The steps are separate queries on purpose:
written as one, with a sub-select for the window, pyoxigraph sometimes joined every violation first, and took
seconds again.)
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Final
from weakref import WeakKeyDictionary

import pyoxigraph as ox
from rdflib import Literal as Lit

from kg.store import Store
from kg.violations import VIOLATIONS, ViolationFilter, ViolationKey
from ontology.namespaces import OG, XSD

Span = tuple[datetime, datetime, int]
"""The newest and the oldest opened-at of some violations, and how many opened-at values lie between."""

SPAN_TTL_S: Final = 60.0
"""How long the span of every opened-at sizes the first window of later pages before it is read again. It only
sizes: a window starts below the newest value the span knows and has no upper bound, and it widens until a page
fills or everything was read, so a violation opened since (newer, older or between) is on its page all the same.
Measured at 100,000 organisations on disk (300,047 violations), the span's scan took 0.38–0.54 s of a page's
0.74–0.93 s (2026-12-04)."""
_spans: WeakKeyDictionary[Store, tuple[float, Span]] = WeakKeyDictionary()

GROWTH: Final = 8
"""Candidates per page in the first round (episodes share ``og:openedAt``, and a status or date filter keeps only
some), and how much more each next round reads."""
FEW: Final = 2_000
"""An obligation or authority filter keeping fewer violations than this leads the join (counted first: one index
range, nothing decoded); one keeping more (an obligation most organisations break, CAC) is paged from windows."""
MAX_CANDIDATES: Final = 20_000
"""A round would need more candidates than this (a rare filter, or a page the windows keep missing): the join is
led by the filter instead, as for a selective one."""


def violation_page(
    store: Store, criteria: ViolationFilter, *, after: ViolationKey | None, limit: int
) -> list[ViolationKey]:
    """Up to ``limit`` violations matching ``criteria``, newest first, strictly after the key ``after``."""
    if criteria.organisation:
        return _page(store, criteria, after, limit)
    matching = _matching(store, criteria)
    if matching is not None and matching < FEW:
        return _page(store, criteria, after, limit)
    span = _opened_span(store, criteria, after)
    if span is None:
        return []
    newest, oldest, count = span
    wanted = GROWTH * limit * max(1, count // max(matching or count, 1))  # as many pages among them as among all
    width = (newest - oldest) * min(1.0, GROWTH * wanted / count)  # wide: sorting a window is cheap
    while True:  # each round reads more candidates or a wider window, so it ends once everything is read
        if wanted > MAX_CANDIDATES:
            return _page(store, criteria, after, limit)
        since = None if newest - width <= oldest else newest - width
        candidates = _candidates(store, criteria, after, since, wanted)
        keys = _page(store, criteria, after, limit, candidates=candidates) if candidates else []
        if len(keys) == limit or (since is None and len(candidates) < wanted):
            return keys
        if len(candidates) == wanted:
            wanted *= GROWTH  # the window holds more
        else:
            width = max(width * GROWTH, timedelta(seconds=1))  # it holds no more: widen it


def _matching(store: Store, criteria: ViolationFilter) -> int | None:
    """How many violations an obligation or authority filter keeps (None without one)."""
    if not criteria.obligation and not criteria.authority:
        return None
    obligation = f"<{criteria.obligation}>" if criteria.obligation else "?o"
    authority = f"{obligation} {OG.hasCompetentAuthority.n3()} <{criteria.authority}> ." if criteria.authority else ""
    violations = f"GRAPH {VIOLATIONS} {{ ?v {OG.isViolationOf.n3()} {obligation} }}"
    rows = store.select(f"SELECT (COUNT(?v) AS ?n) WHERE {{ {authority} {violations} }}")
    return int(_lexical(rows[0]["n"]))


def _candidates(
    store: Store, criteria: ViolationFilter, after: ViolationKey | None, since: datetime | None, count: int
) -> list[ViolationKey]:
    """Step 1: the newest ``count`` opened-at values (of violations and of episodes) at or after ``since``."""
    tests = _opened_tests(criteria, after)
    if since is not None:
        tests.append(f"?opened >= {_dt(since)}")
    where = f"FILTER({' && '.join(tests)})" if tests else ""
    rows = store.select(
        f"SELECT ?v ?opened WHERE {{ GRAPH {VIOLATIONS} {{ ?v {OG.openedAt.n3()} ?opened }} {where} }} "
        f"ORDER BY DESC(?opened) STR(?v) LIMIT {int(count)}"
    )
    return [(_lexical(row["opened"]), _lexical(row["v"])) for row in rows]


def _page(
    store: Store,
    criteria: ViolationFilter,
    after: ViolationKey | None,
    limit: int,
    *,
    candidates: list[ViolationKey] | None = None,
) -> list[ViolationKey]:
    """Step 2, or the whole page when a selective filter leads: the matching violations, sorted, the first
    ``limit`` (of ``candidates`` when given)."""
    where = " ".join(_matching_patterns(criteria, after, candidates))
    rows = store.select(f"SELECT ?v ?opened WHERE {{ {where} }} ORDER BY DESC(?opened) STR(?v) LIMIT {int(limit)}")
    return [(_lexical(row["opened"]), _lexical(row["v"])) for row in rows]


def violation_count(store: Store, criteria: ViolationFilter) -> int:
    """How many violations match ``criteria`` (a connection's ``totalCount``).

    Only the patterns the filter needs: every violation has one status, organisation, obligation and opened-at, and
    only violations have a status (episodes have an opened-at too), so the status alone picks the violations. Joined
    with all four, as a page is, counting every organisation's violations took seconds at 100,000 organisations.
    The status is a constant unless an organisation or obligation is named: beside one, pyoxigraph started from the
    status (every open violation; an organisation's open ones took 2 s, 4.5 ms with the status tested), while beside
    an authority the tested status took minutes (CAC's open ones: 2.7–3.6 s as a constant); with an authority alone,
    ``_count_of_authority``."""
    if criteria.authority and not (
        criteria.organisation or criteria.obligation or criteria.opened_after or criteria.opened_before
    ):
        return _count_of_authority(store, criteria)
    narrowed = criteria.organisation or criteria.obligation
    status = "?status" if narrowed else _status_term(criteria)
    graph = f"GRAPH {VIOLATIONS} {{ ?v {OG.hasViolationStatus.n3()} {status} "
    if criteria.organisation:
        graph += f"; {OG.concernsOrganisation.n3()} <{criteria.organisation}> "
    obligation = f"<{criteria.obligation}>" if criteria.obligation else "?o"
    if criteria.obligation or criteria.authority:
        graph += f"; {OG.isViolationOf.n3()} {obligation} "
    tests = _opened_tests(criteria, None)
    if tests:
        graph += f"; {OG.openedAt.n3()} ?opened "
    if narrowed and criteria.status != "all":
        tests.append(f"?status = {_status_term(criteria)}")
    if tests:
        graph += f"FILTER({' && '.join(tests)}) "
    authority = f"{obligation} {OG.hasCompetentAuthority.n3()} <{criteria.authority}> ." if criteria.authority else ""
    rows = store.select(f"SELECT (COUNT(?v) AS ?n) WHERE {{ {authority} {graph}}} }}")
    return int(_lexical(rows[0]["n"]))


def _count_of_authority(store: Store, criteria: ViolationFilter) -> int:
    """The violations of the criteria's authority's obligations with the criteria's status. Each obligation's
    violations are counted from the index alone (no join); only the smaller side, the authority's obligations or
    the others, is then joined with the status, and the other side's count follows from the status's own count.
    Joining every violation with its status and obligation cost ~10 µs a violation: at 100,000 organisations
    (300,047 violations, CAC the competent authority of every obligation broken), CAC's open ones took 2.5–3.4 s,
    and 0.2–0.3 s this way (2026-12-04)."""
    rows = store.select(
        f"SELECT ?o (COUNT(?v) AS ?n) WHERE {{ GRAPH {VIOLATIONS} {{ ?v {OG.isViolationOf.n3()} ?o }} }} GROUP BY ?o"
    )
    totals = {_lexical(row["o"]): int(_lexical(row["n"])) for row in rows}
    competent = store.select(f"SELECT ?o WHERE {{ ?o {OG.hasCompetentAuthority.n3()} <{criteria.authority}> }}")
    ours = {_lexical(row["o"]) for row in competent} & totals.keys()
    theirs = totals.keys() - ours
    mine, others = sum(totals[o] for o in ours), sum(totals[o] for o in theirs)
    if criteria.status == "all" or mine == 0:
        return mine
    if mine <= others:
        return _count_with_status(store, criteria, ours)
    return _count_with_status(store, criteria, None) - _count_with_status(store, criteria, theirs)


def _count_with_status(store: Store, criteria: ViolationFilter, obligations: set[str] | None) -> int:
    """The violations with the criteria's status (not "all"), of ``obligations`` when given."""
    if obligations is not None and not obligations:
        return 0
    status = f"?v {OG.hasViolationStatus.n3()} {_status_term(criteria)}"
    if obligations is None:
        where = f"GRAPH {VIOLATIONS} {{ {status} }}"
    else:
        values = " ".join(f"<{iri}>" for iri in sorted(obligations))
        where = f"VALUES ?o {{ {values} }} GRAPH {VIOLATIONS} {{ ?v {OG.isViolationOf.n3()} ?o . {status} }}"
    rows = store.select(f"SELECT (COUNT(?v) AS ?n) WHERE {{ {where} }}")
    return int(_lexical(rows[0]["n"]))


def _status_term(criteria: ViolationFilter) -> str:
    if criteria.status == "all":
        return "?status"
    return (OG.ViolationOpen if criteria.status == "open" else OG.ViolationResolved).n3()


def _matching_patterns(
    criteria: ViolationFilter, after: ViolationKey | None, candidates: list[ViolationKey] | None
) -> list[str]:
    """The graph patterns and filter that keep the violations matching ``criteria`` (and after the cursor, and
    among ``candidates``, when given), binding ``?v`` and ``?opened``."""
    org = f"<{criteria.organisation}>" if criteria.organisation else "?org"
    obligation = f"<{criteria.obligation}>" if criteria.obligation else "?o"
    patterns = []
    if candidates is not None:
        values = " ".join(f"({Lit(opened, datatype=XSD.dateTime).n3()} <{iri}>)" for opened, iri in candidates)
        patterns.append(f"VALUES (?opened ?v) {{ {values} }}")
    patterns.append(
        f"GRAPH {VIOLATIONS} {{ ?v {OG.concernsOrganisation.n3()} {org} ; {OG.isViolationOf.n3()} {obligation} ; "
        f"{OG.openedAt.n3()} ?opened ; {OG.hasViolationStatus.n3()} ?status }}"
    )
    if criteria.authority:
        patterns.append(f"{obligation} {OG.hasCompetentAuthority.n3()} <{criteria.authority}> .")
    tests = _opened_tests(criteria, after)
    if criteria.status != "all":
        tests.append(f"?status = {_status_term(criteria)}")
    if tests:
        patterns.append(f"FILTER({' && '.join(tests)})")
    return patterns


def _opened_tests(criteria: ViolationFilter, after: ViolationKey | None) -> list[str]:
    """The tests of the opened-at (and, for ties with the cursor, of the IRI), as expressions to join with &&."""
    tests = []
    if criteria.opened_after is not None:
        tests.append(f"?opened > {_dt(criteria.opened_after)}")
    if criteria.opened_before is not None:
        tests.append(f"?opened < {_dt(criteria.opened_before)}")
    if after is not None:
        # IF, so that STR(?v) is computed for ties only: written `?opened < A || (?opened = A && STR(?v) > I)`, or
        # with the parts in separate filters, pyoxigraph computed it for every value scanned (4.0–4.4 s at 100,000
        # organisations, where this takes 0.22–0.34 s)
        opened = Lit(after[0], datatype=XSD.dateTime).n3()
        tests.append(f"IF(?opened = {opened}, STR(?v) > {Lit(after[1]).n3()}, ?opened < {opened})")
    return tests


def _opened_span(store: Store, criteria: ViolationFilter, after: ViolationKey | None) -> Span | None:
    """The newest and oldest opened-at a page could hold, and about how many values (episodes' too) lie between:
    cut from the span of every opened-at (``_whole_span``) when it leaves some, else asked of the store."""
    whole = _whole_span(store)
    if whole is None:
        return None  # read just now (an empty span is never kept): there is no violation
    return _narrowed(whole, criteria, after) or _exact_span(store, criteria, after)


def _whole_span(store: Store) -> Span | None:
    """The span of every opened-at, read again once it is ``SPAN_TTL_S`` old (an empty one is never kept)."""
    kept = _spans.get(store)
    if kept is not None and time.monotonic() - kept[0] < SPAN_TTL_S:
        return kept[1]
    span = _exact_span(store, ViolationFilter(), None)
    if span is not None:
        _spans[store] = (time.monotonic(), span)
    return span


def _narrowed(whole: Span, criteria: ViolationFilter, after: ViolationKey | None) -> Span | None:
    """The part of ``whole`` within the criteria's dates and before the cursor, its count in proportion to its
    length; None where it would be empty (the store's answer decides then: the span may be older than the data)
    or a bound has no time zone to compare."""
    newest, oldest, count = whole
    upper = [bound for bound in (criteria.opened_before, after and datetime.fromisoformat(after[0])) if bound]
    lower = [criteria.opened_after] if criteria.opened_after else []
    if any(bound.tzinfo is None for bound in (*upper, *lower)):
        return None
    top, bottom = min([newest, *upper]), max([oldest, *lower])
    if top <= bottom:
        return None
    share = (top - bottom) / (newest - oldest) if newest > oldest else 1.0
    return top, bottom, max(1, round(count * share))


def _exact_span(store: Store, criteria: ViolationFilter, after: ViolationKey | None) -> Span | None:
    """The span as the store has it now: one scan of every opened-at."""
    bounds = _opened_tests(criteria, None)
    if after is not None:
        bounds.append(f"?opened <= {Lit(after[0], datatype=XSD.dateTime).n3()}")
    where = f"FILTER({' && '.join(bounds)})" if bounds else ""
    rows = store.select(
        "SELECT (MAX(?opened) AS ?newest) (MIN(?opened) AS ?oldest) (COUNT(?opened) AS ?count) WHERE { "
        f"GRAPH {VIOLATIONS} {{ ?v {OG.openedAt.n3()} ?opened }} {where} }}"
    )
    newest, oldest = rows[0].get("newest"), rows[0].get("oldest")
    if not isinstance(newest, ox.Literal) or not isinstance(oldest, ox.Literal):
        return None
    return datetime.fromisoformat(newest.value), datetime.fromisoformat(oldest.value), int(_lexical(rows[0]["count"]))


def _dt(moment: datetime) -> str:
    return Lit(moment.isoformat(), datatype=XSD.dateTime).n3()


def _lexical(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
    if isinstance(term, ox.Triple):
        raise TypeError(f"expected an IRI or a literal, got {term}")
    return term.value

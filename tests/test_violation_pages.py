"""Pages of violations across organisations: the window the store cuts them from never changes what a page holds.

The data is skewed as real data is: a burst of violations opened at one moment (a clock pass), long quiet spells,
a few recent ones, moments written in UTC beside China time, and episodes that carry an opened-at of their own. Every
page, walked with its cursor, must be the slice the whole sort gives (an oracle in Python).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kg import violation_pages
from kg.iris import Graphs
from kg.store import Row, Store, open_store
from kg.violation_pages import violation_count, violation_page
from kg.violations import Status, ViolationFilter, ViolationKey
from ontology.namespaces import OG

CHINA = timezone(timedelta(hours=8))
V = "https://example.org/violation/"
ORGS = [f"https://example.org/org/{n}" for n in range(12)]
OBLIGATIONS = [f"https://example.org/obligation/{n}" for n in range(4)]
CAC, MIIT, SAMR = (f"https://example.org/authority/{code}" for code in ("CAC", "MIIT", "SAMR"))
COMPETENT = {CAC: OBLIGATIONS[:1], MIIT: OBLIGATIONS[:3], SAMR: ["https://example.org/obligation/never-broken"]}
"""Each authority's obligations: one of the four broken, three of them, and one that no violation names."""


@dataclass(frozen=True)
class Stored:
    iri: str
    organisation: str
    obligation: str
    opened: datetime
    lexical: str
    open: bool


def _moments(rng: random.Random, count: int) -> Iterator[datetime]:
    start = datetime(2026, 1, 5, 9, tzinfo=CHINA)
    clock = datetime(2026, 3, 17, tzinfo=CHINA)
    for number in range(count):
        if number % 3 == 0:
            yield clock  # a clock pass opens many at one moment
        elif number % 10 == 1:
            yield datetime(2026, 11, 20, tzinfo=CHINA) + timedelta(minutes=rng.randrange(3000))  # a few recent
        else:
            yield start + timedelta(minutes=rng.randrange(60 * 24 * 60))


def _stored(seed: int, count: int) -> list[Stored]:
    rng = random.Random(seed)
    found = []
    for number, moment in enumerate(_moments(rng, count)):
        lexical = moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if number % 7 == 0 else None
        found.append(
            Stored(
                iri=f"{V}{rng.randrange(16**8):08x}{number}",
                organisation=rng.choice(ORGS),
                obligation=rng.choice(OBLIGATIONS),
                opened=moment,
                lexical=lexical or moment.isoformat(),
                open=rng.random() < 0.7,
            )
        )
    return found


def _load(store: Store, violations: list[Stored]) -> None:
    triples = []
    for v in violations:
        status = OG.ViolationOpen if v.open else OG.ViolationResolved
        opened = f'"{v.lexical}"^^<http://www.w3.org/2001/XMLSchema#dateTime>'
        triples.append(
            f"<{v.iri}> <{OG.concernsOrganisation}> <{v.organisation}> ; <{OG.isViolationOf}> <{v.obligation}> ; "
            f"<{OG.openedAt}> {opened} ; <{OG.hasViolationStatus}> <{status}> ; <{OG.hasEpisode}> <{v.iri}/episode/1> ."
            f"<{v.iri}/episode/1> <{OG.openedAt}> {opened} ."
        )
    store.update(f"INSERT DATA {{ GRAPH <{Graphs.VIOLATIONS}> {{ {' '.join(triples)} }} }}")
    competent = " ".join(
        f"<{obligation}> <{OG.hasCompetentAuthority}> <{authority}> ."
        for authority, obligations in COMPETENT.items()
        for obligation in obligations
    )
    store.update(f"INSERT DATA {{ GRAPH <{Graphs.REGULATIONS}> {{ {competent} }} }}")  # the authority filter reads them


@pytest.fixture(scope="module", params=[1, 2])
def data(request: pytest.FixtureRequest) -> Iterator[tuple[Store, list[Stored]]]:
    store = open_store("memory")
    violations = _stored(request.param, 600)
    _load(store, violations)
    yield store, violations
    store.close()


def _oracle(violations: list[Stored], criteria: ViolationFilter) -> list[ViolationKey]:
    kept = [
        v
        for v in violations
        if (criteria.organisation in (None, v.organisation))
        and (criteria.obligation in (None, v.obligation))
        and (criteria.authority is None or v.obligation in COMPETENT[criteria.authority])
        and (criteria.status == "all" or v.open == (criteria.status == "open"))
        and (criteria.opened_after is None or v.opened > criteria.opened_after)
        and (criteria.opened_before is None or v.opened < criteria.opened_before)
    ]
    kept.sort(key=lambda v: (-v.opened.timestamp(), v.iri))
    return [(v.lexical, v.iri) for v in kept]


def _walk(store: Store, criteria: ViolationFilter, limit: int) -> list[list[ViolationKey]]:
    pages: list[list[ViolationKey]] = []
    after: ViolationKey | None = None
    while True:
        page = violation_page(store, criteria, after=after, limit=limit)
        if page:
            pages.append(page)
        if len(page) < limit:
            return pages
        after = page[-1]


STATUSES: list[Status] = ["all", "open", "resolved"]


@pytest.mark.parametrize("growth", [2, 8])  # 2: small windows, so pages take several rounds
@pytest.mark.parametrize("limit", [1, 7, 51])
@pytest.mark.parametrize("status", STATUSES)
def test_every_page_is_the_slice_the_whole_sort_gives(
    data: tuple[Store, list[Stored]], limit: int, status: Status, growth: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(violation_pages, "GROWTH", growth)
    store, violations = data
    criteria = ViolationFilter(status=status)
    expected = _oracle(violations, criteria)
    pages = _walk(store, criteria, limit)
    assert [key for page in pages for key in page] == expected
    assert all(len(page) == limit for page in pages[:-1])
    assert violation_count(store, criteria) == len(expected)  # what every page's totalCount says


@pytest.mark.parametrize(
    "criteria",
    [
        ViolationFilter(opened_after=datetime(2026, 3, 17, tzinfo=CHINA)),  # strictly after the clock's burst
        ViolationFilter(opened_before=datetime(2026, 3, 17, tzinfo=CHINA), status="open"),
        ViolationFilter(
            opened_after=datetime(2026, 2, 1, tzinfo=CHINA), opened_before=datetime(2026, 11, 21, tzinfo=CHINA)
        ),
        ViolationFilter(organisation=ORGS[3]),
        ViolationFilter(obligation=OBLIGATIONS[1], status="resolved"),
        ViolationFilter(authority=CAC),
    ],
)
@pytest.mark.parametrize("few", [2_000, 0])  # 0: an obligation or authority filter is paged from windows too
def test_filters_page_as_the_whole_sort_does(
    data: tuple[Store, list[Stored]], criteria: ViolationFilter, few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(violation_pages, "FEW", few)
    store, violations = data
    expected = _oracle(violations, criteria)
    assert expected, "a filter that keeps nothing tests nothing"
    assert [key for page in _walk(store, criteria, 10) for key in page] == expected
    assert violation_count(store, criteria) == len(expected)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(
    "criteria",
    [
        ViolationFilter(),
        ViolationFilter(organisation=ORGS[5]),
        ViolationFilter(organisation=ORGS[5], obligation=OBLIGATIONS[0]),
        ViolationFilter(authority=CAC, opened_after=datetime(2026, 3, 1, tzinfo=CHINA)),
        ViolationFilter(organisation=ORGS[7], authority=CAC),
        ViolationFilter(obligation=OBLIGATIONS[2], opened_before=datetime(2026, 3, 17, tzinfo=CHINA)),
    ],
)
def test_a_count_is_the_number_of_violations_the_filter_matches(
    data: tuple[Store, list[Stored]], criteria: ViolationFilter, status: Status
) -> None:
    """The count reads fewer patterns than a page (episodes carry an opened-at too, and are never counted)."""
    store, violations = data
    criteria = replace(criteria, status=status)
    assert violation_count(store, criteria) == len(_oracle(violations, criteria)) > 0


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("authority", [CAC, MIIT, SAMR])
def test_an_authority_alone_is_counted_from_either_side(
    data: tuple[Store, list[Stored]], authority: str, status: Status
) -> None:
    """CAC's obligations hold fewer violations than the others, MIIT's more (counted as the status's count less the
    others'), and SAMR's none."""
    store, violations = data
    criteria = ViolationFilter(authority=authority, status=status)
    assert violation_count(store, criteria) == len(_oracle(violations, criteria))
    assert (violation_count(store, criteria) > 0) == (authority != SAMR)


def test_past_the_most_candidates_a_round_may_read_the_filter_leads_the_join(
    data: tuple[Store, list[Stored]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(violation_pages, "GROWTH", 2)
    monkeypatch.setattr(violation_pages, "MAX_CANDIDATES", 40)  # the second or third round gives up
    store, violations = data
    early = datetime(2026, 3, 1, tzinfo=CHINA)
    for criteria in (ViolationFilter(status="resolved"), ViolationFilter(opened_before=early)):
        assert [key for page in _walk(store, criteria, 7) for key in page] == _oracle(violations, criteria)


@contextmanager
def recording(store: Store) -> Iterator[list[str]]:
    """The SELECTs the store runs inside the block."""
    queries: list[str] = []
    original = store.select

    def recorded(sparql: str) -> list[Row]:
        queries.append(sparql)
        return original(sparql)

    store.select = recorded  # type: ignore[method-assign]
    try:
        yield queries
    finally:
        store.select = original  # type: ignore[method-assign]


def test_pages_across_organisations_are_cut_from_windows(data: tuple[Store, list[Stored]]) -> None:
    """The window path is the one taken (else the tests above would only test the whole sort)."""
    store, violations = data
    with recording(store) as queries:
        first = violation_page(store, ViolationFilter(), after=None, limit=5)
    assert first == _oracle(violations, ViolationFilter())[:5]
    assert any("FILTER(?opened >= " in query for query in queries)


SPAN_SCAN = "(MAX(?opened) AS ?newest)"


@pytest.mark.parametrize("status", STATUSES)
def test_a_span_read_before_violations_opened_since_still_gives_every_page(
    status: Status, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The span sizes windows for a minute; violations opened after it was read (newer than its newest, older than
    its oldest, between) are on their pages all the same."""
    monkeypatch.setattr(violation_pages, "GROWTH", 2)  # small windows: the stale span is really used to cut them
    violations = _stored(3, 600)
    middle = [
        v for v in violations if datetime(2026, 2, 1, tzinfo=CHINA) < v.opened < datetime(2026, 3, 1, tzinfo=CHINA)
    ]
    since = [v for v in violations if v not in middle]
    assert min(v.opened for v in since) < min(v.opened for v in middle)
    assert max(v.opened for v in since) > max(v.opened for v in middle)
    store = open_store("memory")
    _load(store, middle)
    assert violation_page(store, ViolationFilter(), after=None, limit=3) == _oracle(middle, ViolationFilter())[:3]
    _load(store, since)
    with recording(store) as queries:
        for criteria in (
            ViolationFilter(status=status),
            ViolationFilter(status=status, opened_after=datetime(2026, 3, 16, tzinfo=CHINA)),
            ViolationFilter(status=status, opened_before=datetime(2026, 2, 15, tzinfo=CHINA)),
        ):
            for limit in (1, 7, 51):
                assert [key for page in _walk(store, criteria, limit) for key in page] == _oracle(violations, criteria)
    assert not any(SPAN_SCAN in query and "FILTER" not in query for query in queries), "the span was kept"
    store.close()


def test_the_span_is_kept_a_minute_and_an_empty_one_not_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store("memory")
    violations = _stored(4, 200)
    expected = _oracle(violations, ViolationFilter())
    with recording(store) as queries:
        assert violation_page(store, ViolationFilter(), after=None, limit=5) == []
        _load(store, violations)
        assert violation_page(store, ViolationFilter(), after=None, limit=5) == expected[:5], "nothing was kept"
        first = _walk(store, ViolationFilter(), 20)
    assert [key for page in first for key in page] == expected
    whole = [query for query in queries if SPAN_SCAN in query and "FILTER" not in query]
    assert len(whole) == 2, "the empty span, then the one kept for the walk"
    monkeypatch.setattr(violation_pages, "SPAN_TTL_S", 0.0)
    with recording(store) as queries:
        pages = _walk(store, ViolationFilter(), 30)
    assert len(pages) == 7 and len(pages[-1]) == 20  # seven calls
    assert sum(SPAN_SCAN in query and "FILTER" not in query for query in queries) == 7
    store.close()

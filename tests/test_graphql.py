"""``/graphql`` through real HTTP with a real client (gql): the catalogue, an organisation's dashboard built by
``POST /events``, violations across organisations, error unions, languages, pagination and limits."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError

from api.app import create_app
from api.config import SparqlEndpointConfig
from kg.pipeline import Pipeline
from kg.reference_data import cached_reference
from kg.store import Store
from tests.support.cloudevents import ORG, cloudevent
from tests.support.graphql_client import run
from tests.support.live_server import live_server
from tests.support.shape_cases import clear
from tests.test_events_api import DEPLOY, LATE, REGISTER, STRUCTURED


@pytest.fixture(scope="module")
def base_url(store: Store) -> Iterator[str]:
    """A live server whose graph holds one organisation, built by its events through ``POST /events``."""
    clear(store)
    app = create_app(store, SparqlEndpointConfig(update_token=None), Pipeline.from_store(store))
    with live_server(app, ready_path="/health") as url:
        for body in (REGISTER, DEPLOY, LATE):
            answer = httpx.post(f"{url}/events", content=json.dumps(body), headers=STRUCTURED)
            assert answer.status_code == 200, answer.text
        yield url


def q(base_url: str, query: str, **variables: Any) -> Any:
    return run(base_url, query, variables or None)


# The catalogue -------------------------------------------------------------------------------------------


def test_an_obligation_by_reference_id_carries_its_law_from_the_graph(base_url: str) -> None:
    data = q(
        base_url,
        """{ obligation(id: "GAI-12") { __typename ... on Obligation { id title title_zh: title(lang: ZH)
             deonticKind { notation }
             instrument { id title(lang: ZH) status { notation } effectiveOn issuers { code } }
             articles { label label_zh: label(lang: ZH) instrument { id } } rolesBound { notation definition(lang: ZH) }
             authorities { code } penalty { text } deadline { text rules { label(lang: ZH)
             anchor { notation label(lang: ZH) } countedIn { notation } amount unit } } confidence { notation }
             sources { key } lifecycleStages { notation }
             riskSubdomains { notation } bindingForce { notation } machineCheckable } } }""",
    )["obligation"]
    assert data["__typename"] == "Obligation"
    assert data["id"] == "GAI-12"
    assert (data["title"], data["title_zh"]) == ("Security assessment and algorithm filing", "安全评估与算法备案")
    assert data["instrument"]["id"] == "CN-GENAI-2023"
    assert data["instrument"]["title"] == "生成式人工智能服务管理暂行办法"
    assert {"label": "Art. 17", "label_zh": "第十七条", "instrument": {"id": "CN-GENAI-2023"}} in data["articles"]
    assert [r["notation"] for r in data["rolesBound"]] == ["genai_service_provider"]
    assert "生成式人工智能服务" in data["rolesBound"][0]["definition"]  # the role defined in Chinese
    assert {a["code"] for a in data["authorities"]} >= {"CAC"}
    assert data["confidence"]["notation"] == "high"
    assert data["machineCheckable"] is True
    working = [r for r in data["deadline"]["rules"] if r["countedIn"]]
    assert working and working[0]["countedIn"]["notation"] and float(working[0]["amount"]) == 10
    assert working[0]["label"].startswith("GAI-12：") and "工作日" in working[0]["label"]  # the rule in Chinese
    assert all(re.search(r"[\u4e00-\u9fff]", rule["anchor"]["label"]) for rule in data["deadline"]["rules"])
    assert data["riskSubdomains"] == []  # a filing duty: the editorial risk classification leaves it unmapped


def test_an_unknown_obligation_is_a_result_not_an_error(base_url: str) -> None:
    data = q(base_url, '{ obligation(id: "NOPE-1") { ... on ObligationNotFound { obligationId message } } }')
    assert data["obligation"] == {"obligationId": "NOPE-1", "message": "no obligation 'NOPE-1' in the regulation graph"}


def test_obligations_page_through_a_filter_in_id_order(base_url: str) -> None:
    query = """query($after: String) { obligations(first: 10, after: $after, filter: {role: "genai_service_provider",
        inForceOn: "2026-01-01"}) { ... on ObligationConnection { totalCount pageInfo { hasNextPage endCursor }
        nodes { id } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = q(base_url, query, after=after)["obligations"]
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == page["totalCount"] > 10
    assert seen == sorted(seen)
    assert "GAI-12" in seen


@pytest.mark.parametrize(
    ("filter_", "expected", "absent"),
    [
        ('{authority: "CAC-BJ"}', "GAI-12", "ETH-01"),
        ('{instrument: "CN-GENAI-2023"}', "GAI-12", "ALG-09"),
        ('{bindingForce: "non-binding"}', "ASGF-01", "GAI-12"),
        ('{text: "FILING"}', "GAI-12", "PIPL-06"),
        ('{text: "数据安全法"}', "DSL-03", "GAI-12"),  # the instrument's Chinese title
        ('{text: "网信"}', "GAI-12", "ETH-01"),  # an authority's Chinese name (国家互联网信息办公室 …)
        ('{text: "第二十四条"}', "ALG-09", "ALG-05"),  # an article's Chinese label
        ('{text: "注销备案"}', "ALG-09", "GAI-12"),  # the obligation's Chinese title
        ('{text: "  注销备案 "}', "ALG-09", "GAI-12"),  # spaces at the edges, as a search box leaves them
        ('{text: "   "}', "GAI-12", None),  # blank: no filter, as "" is
        ('{sector: "finance"}', None, None),
    ],
)
def test_obligation_filters(base_url: str, filter_: str, expected: str | None, absent: str | None) -> None:
    page = q(
        base_url,
        f"{{ obligations(first: 100, filter: {filter_}) {{ ... on ObligationConnection {{ nodes {{ id }} }} }} }}",
    )
    ids = [node["id"] for node in page["obligations"]["nodes"]]
    assert ids
    if expected:
        assert expected in ids
    if absent:
        assert absent not in ids


@pytest.mark.parametrize(
    ("code", "some"),
    [
        ("3.1", {"LBL-01", "GAI-08", "DS-07"}),  # labels on AI-generated content
        ("2.1", {"GAI-07", "PIPL-01"}),
        ("5", {"GAI-06", "ALG-03", "PIPL-02"}),  # a domain finds the obligations of its subdomains
    ],
)
def test_the_risk_subdomain_filter_returns_the_classified_obligations(base_url: str, code: str, some: set[str]) -> None:
    """Exactly the obligations ``kg/reference/risk_subdomains.yaml`` links to the subdomain (or a subdomain of the
    domain), each with its subdomains and nothing else."""
    classified = {
        c.obligation
        for c in cached_reference().risk.classifications
        if any(link.notation == code or link.notation.startswith(f"{code}.") for link in c.subdomains)
    }
    page = q(
        base_url,
        """query($code: String!) { obligations(first: 100, filter: {riskSubdomain: $code}) {
             ... on ObligationConnection { totalCount nodes { id riskSubdomains { notation label } } } } }""",
        code=code,
    )["obligations"]
    ids = {node["id"] for node in page["nodes"]}
    assert ids == classified >= some
    assert page["totalCount"] == len(classified)
    assert "GAI-12" not in ids
    for node in page["nodes"]:
        notations = {risk["notation"] for risk in node["riskSubdomains"]}
        assert any(n == code or n.startswith(f"{code}.") for n in notations), node
        assert all(risk["label"] for risk in node["riskSubdomains"])


def test_an_obligation_shows_each_risk_subdomain_it_is_linked_to(base_url: str) -> None:
    data = q(base_url, '{ obligation(id: "GAI-02") { ... on Obligation { riskSubdomains { notation label } } } }')
    risks = {r["notation"]: r["label"] for r in data["obligation"]["riskSubdomains"]}
    assert set(risks) == {"1.1", "2.1", "3.1", "6.1"}
    assert risks["1.1"] == "Unfair discrimination and misrepresentation"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ('filter: {role: "no_such_role"}', "role"),
        ('filter: {sector: "space"}', "sector"),
        ('filter: {riskSubdomain: "9.9"}', "riskSubdomain"),
        ("first: 0", "first"),
        ("first: 1000", "first"),
        ('after: "not-a-cursor"', "after"),
    ],
)
def test_a_bad_filter_or_page_is_an_invalid_argument(base_url: str, arguments: str, field: str) -> None:
    data = q(base_url, f"{{ obligations({arguments}) {{ __typename ... on InvalidArgument {{ field message }} }} }}")
    assert data["obligations"]["__typename"] == "InvalidArgument"
    assert data["obligations"]["field"] == field


def test_instruments_authorities_and_sectors_list_the_graph(base_url: str) -> None:
    data = q(
        base_url, "{ instruments { id status { notation } } authorities { code name(lang: ZH) } sectors { notation } }"
    )
    assert len(data["instruments"]) == 23
    assert {"code": "CAC", "name": "国家互联网信息办公室（中央网信办）"} in data["authorities"]
    assert {"notation": "finance"} in data["sectors"]


# An organisation's dashboard --------------------------------------------------------------------------

DASHBOARD = """query($id: ID!, $asOf: Date) { organisation(id: $id) { __typename
  ... on Organisation { id name systems { id name }
    applicableObligations(asOf: $asOf) { obligationId status dueOn obligation { title }
      reasons { boundRole { notation } assignment { role { notation label(lang: ZH) } reasons { kind id }
      rules { label comment zhLabel: label(lang: ZH) zhComment: comment(lang: ZH) } } } }
    violations(first: 50) { ... on ViolationConnection { nodes { id obligationId status message(lang: ZH)
      causedBy history { number causedBy resolvedBy } focusSystem { id }
      trace { shapes { iri label zhLabel: label(lang: ZH) } obligation { id } articles { label } authorities { code }
        penalty { text } } } } }
    complianceSummary(asOf: $asOf) { byStatus { status count } openViolations
      openViolationsByAuthority { authority { code } count } openViolationsByInstrument { instrument { id } count } } }
  ... on OrganisationNotFound { organisationId } } }"""


def test_the_dashboard_says_what_binds_why_and_what_is_broken(base_url: str) -> None:
    org = q(base_url, DASHBOARD, id=ORG, asOf="2026-03-20")["organisation"]
    assert org["name"] == "Acme Ltd"
    assert org["systems"] == [{"id": "feed", "name": "Feed"}]
    by_id = {item["obligationId"]: item for item in org["applicableObligations"]}
    alg09 = by_id["ALG-09"]
    assert alg09["status"] == "VIOLATED"
    reason = alg09["reasons"][0]
    assert reason["assignment"]["reasons"] == [{"kind": "AI_SYSTEM", "id": "feed"}]
    rule = reason["assignment"]["rules"][0]
    assert "24" in rule["comment"] and "第二十四条" in rule["zhComment"]  # in the language asked for
    assert rule["label"] != rule["zhLabel"] and "舆论" in rule["zhLabel"]
    assert reason["assignment"]["role"]["label"]  # Chinese role label from the ontology
    assert by_id["ALG-01"]["status"] == "NOT_CHECKABLE"
    violations = org["violations"]["nodes"]
    alg09_violation = next(v for v in violations if v["obligationId"] == "ALG-09")
    assert alg09_violation["causedBy"] == "clock"  # the day after its due date, caught up before http-3
    assert alg09_violation["history"] == [{"number": 1, "causedBy": "clock", "resolvedBy": None}]
    assert alg09_violation["focusSystem"] == {"id": "feed"}
    assert "第二十四条" in alg09_violation["message"]
    assert alg09_violation["trace"]["obligation"] == {"id": "ALG-09"}
    (shape,) = alg09_violation["trace"]["shapes"]
    assert shape["label"].startswith("ALG-09") and shape["zhLabel"].startswith("ALG-09")
    assert re.search(r"[\u4e00-\u9fff]", shape["zhLabel"]) and not re.search(r"[\u4e00-\u9fff]", shape["label"])
    assert alg09_violation["trace"]["articles"] and alg09_violation["trace"]["penalty"]["text"]
    summary = org["complianceSummary"]
    counts = {row["status"]: row["count"] for row in summary["byStatus"]}
    assert counts["VIOLATED"] == len(violations) == summary["openViolations"]
    assert sum(counts.values()) == len(org["applicableObligations"])
    assert {"instrument": {"id": "CN-ALGO-2022"}, "count": 5} in summary["openViolationsByInstrument"]


def test_before_the_clocks_run_out_the_obligations_are_due(base_url: str) -> None:
    """Asked on the day after launch, before the filing fell due: due, not yet violated. Asked about a day years
    before the organisation was registered: nothing."""
    org = q(base_url, DASHBOARD, id=ORG, asOf="2026-03-03")["organisation"]
    alg09 = next(item for item in org["applicableObligations"] if item["obligationId"] == "ALG-09")
    assert (alg09["status"], alg09["dueOn"]) == ("DUE", "2026-03-16")
    assert org["complianceSummary"]["openViolations"] == len(org["violations"]["nodes"])  # today's, any day
    older = q(base_url, DASHBOARD, id=ORG, asOf="2020-01-01")["organisation"]
    assert older["applicableObligations"] == []


def test_an_organisation_says_the_moment_its_verdicts_are_as_of(base_url: str) -> None:
    """The latest event (``LATE``, 20 March) judged it last."""
    found = q(base_url, "query($id: ID!) { organisation(id: $id) { ... on Organisation { judgedAsOf } } }", id=ORG)
    assert found["organisation"] == {"judgedAsOf": LATE["time"]}


@pytest.mark.parametrize("unknown", ["NOBODY", "no body>", 'a"b', "x" * 65])
def test_an_unknown_organisation_is_a_result(base_url: str, unknown: str) -> None:
    """Also an id no event could have registered (one that would not make an IRI)."""
    data = q(base_url, DASHBOARD, id=unknown)
    assert data["organisation"] == {"__typename": "OrganisationNotFound", "organisationId": unknown}
    data = q(base_url, "query($id: ID!) { complianceSummary(organisation: $id) { __typename } }", id=unknown)
    assert data["complianceSummary"]["__typename"] == "OrganisationNotFound"
    data = q(base_url, ALL, filter={"organisation": unknown}, first=5)
    assert data["violations"]["__typename"] == "OrganisationNotFound"


# Violations across organisations --------------------------------------------------------------------

ALL = """query($filter: ViolationFilterInput, $first: Int!, $after: String) { violations(filter: $filter, first: $first,
  after: $after) { __typename ... on ViolationConnection { pageInfo { hasNextPage endCursor }
  nodes { id organisationId obligationId openedAt } } ... on Problem { message } } }"""


def test_violations_across_organisations_page_in_the_store(base_url: str) -> None:
    first = q(base_url, ALL, first=4)["violations"]
    assert first["pageInfo"]["hasNextPage"]
    rest = q(base_url, ALL, first=50, after=first["pageInfo"]["endCursor"])["violations"]
    ids = [v["id"] for v in first["nodes"] + rest["nodes"]]
    assert len(ids) == len(set(ids)) == 6
    assert not rest["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize(
    ("filter_", "count"),
    [
        ({"organisation": ORG}, 6),
        ({"obligation": "ALG-09"}, 1),
        ({"authority": "MOST"}, 1),
        ({"status": "RESOLVED"}, 0),
        ({"openedAfter": "2026-03-21T00:00:00+08:00"}, 0),
        ({"openedBefore": "2026-03-21T00:00:00+08:00", "status": "OPEN"}, 6),
    ],
)
def test_violation_filters(base_url: str, filter_: dict[str, str], count: int) -> None:
    assert len(q(base_url, ALL, filter=filter_, first=50)["violations"]["nodes"]) == count


def test_a_time_without_a_zone_is_china_time(base_url: str) -> None:
    """A date picker sends 2026-03-16T09:00:00 without a zone: read as China time, the violations opened an hour
    later are after it and those opened an hour earlier before it, as with +08:00 (compared as given, a time within
    14 hours of one without a zone is neither, and they fell out of both)."""
    opened = {
        v["id"]: dt.datetime.fromisoformat(v["openedAt"]) for v in q(base_url, ALL, first=50)["violations"]["nodes"]
    }
    moment = min(opened.values())
    china = moment.astimezone(dt.timezone(dt.timedelta(hours=8)))
    for shift, bound, expected in (
        (-1, "openedAfter", set(opened)),
        (1, "openedBefore", {i for i, t in opened.items() if t == moment}),
    ):
        naive = (china + dt.timedelta(hours=shift)).replace(tzinfo=None).isoformat()
        zoned = (china + dt.timedelta(hours=shift)).isoformat()
        for given in (naive, zoned):
            found = q(base_url, ALL, filter={bound: given}, first=50)["violations"]["nodes"]
            assert {v["id"] for v in found} >= expected, (bound, given)


COUNTED = """query($filter: ViolationFilterInput, $after: String) {
  violations(filter: $filter, first: 2, after: $after) {
    ... on ViolationConnection { totalCount pageInfo { endCursor } nodes { id } } } }"""


@pytest.mark.parametrize(
    ("filter_", "count"),
    [({}, 6), ({"organisation": ORG, "status": "OPEN"}, 6), ({"authority": "MOST"}, 1), ({"status": "RESOLVED"}, 0)],
)
def test_total_count_is_the_whole_filter_on_every_page(base_url: str, filter_: dict[str, str], count: int) -> None:
    """Walked two at a time, the pages hold the whole list, in its order, each row once: a page that skipped a row
    (an end cursor past it) or repeated one would not add up to the list asked for at once."""
    whole = [node["id"] for node in q(base_url, ALL, filter=filter_, first=50)["violations"]["nodes"]]
    assert len(whole) == count
    walked: list[str] = []
    after = None
    for _ in range(count // 2 + 1):
        page = q(base_url, COUNTED, filter=filter_, after=after)["violations"]
        assert page["totalCount"] == count
        walked += [node["id"] for node in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
        if len(walked) >= count:
            break
    assert walked == whole


@pytest.mark.parametrize(
    ("filter_", "typename"),
    [
        ({"organisation": "NOBODY"}, "OrganisationNotFound"),
        ({"obligation": "NOPE-1"}, "ObligationNotFound"),
        ({"authority": "NOPE"}, "InvalidArgument"),
    ],
)
def test_a_bad_violation_filter_is_a_result(base_url: str, filter_: dict[str, str], typename: str) -> None:
    assert q(base_url, ALL, filter=filter_, first=5)["violations"]["__typename"] == typename


def test_a_cursor_from_another_list_is_refused(base_url: str) -> None:
    page = q(base_url, "{ obligations(first: 1) { ... on ObligationConnection { pageInfo { endCursor } } } }")
    cursor = page["obligations"]["pageInfo"]["endCursor"]
    assert q(base_url, ALL, first=5, after=cursor)["violations"]["__typename"] == "InvalidArgument"


def test_a_cursor_from_the_same_kind_of_list_under_another_filter_is_refused(base_url: str) -> None:
    """Resuming another filter's list at the cursor's key would skip its rows before that key without a word."""
    cursor = q(base_url, ALL, first=2)["violations"]["pageInfo"]["endCursor"]
    assert q(base_url, ALL, first=2, after=cursor)["violations"]["__typename"] == "ViolationConnection"
    other = q(base_url, ALL, filter={"status": "OPEN"}, first=2, after=cursor)["violations"]
    assert other["__typename"] == "InvalidArgument"
    assert "another violations list" in other["message"]
    listed = (
        '{ obligations(first: 1, filter: {authority: "CAC"}) '
        "{ ... on ObligationConnection { pageInfo { endCursor } } } }"
    )
    obligation_cursor = q(base_url, listed)["obligations"]["pageInfo"]["endCursor"]
    resumed = q(
        base_url,
        "query($after: String) { obligations(first: 1, after: $after) { __typename } }",
        after=obligation_cursor,
    )
    assert resumed["obligations"]["__typename"] == "InvalidArgument"


# Limits ----------------------------------------------------------------------------------------------


def test_too_deep_a_query_is_refused(base_url: str) -> None:
    nested = "id"
    for _ in range(5):
        nested = (
            "organisation { ... on Organisation { violations(first: 1) { ... on ViolationConnection { nodes { "
            f"{nested} }} }} }} }} }}"
        )
    with pytest.raises(TransportQueryError, match="exceeds maximum operation depth"):
        q(base_url, f"{{ violations(first: 1) {{ ... on ViolationConnection {{ nodes {{ {nested} }} }} }} }}")


def test_too_expensive_a_query_is_refused(base_url: str) -> None:
    inner = "nodes { id trace { articles { label } } history { number } }"
    expensive = (
        "{ a: violations(first: 100) { ... on ViolationConnection { nodes { organisation { ... on Organisation { "
        f"violations(first: 100) {{ ... on ViolationConnection {{ {inner} }} }} }} }} }} }} }} }}"
    )
    with pytest.raises(TransportQueryError, match="too expensive"):
        q(base_url, expensive)


def test_a_query_too_wide_to_validate_is_refused_with_a_reason(base_url: str) -> None:
    """graphql-core's merge check recursed out at ~700 sibling fields and said only "Validation aborted."."""
    wide = httpx.post(f"{base_url}/graphql", json={"query": "{ " + " ".join(["__typename"] * 800) + " }"})
    assert "more than 300 fields" in wide.json()["errors"][0]["message"]
    spread = "query { ...F ...F } fragment F on Query { " + " ".join(["__typename"] * 200) + " }"
    assert "more than 300 fields" not in httpx.post(f"{base_url}/graphql", json={"query": spread}).text
    fine = httpx.post(f"{base_url}/graphql", json={"query": "{ " + " ".join(["__typename"] * 250) + " }"})
    assert fine.json()["data"] == {"__typename": "Query"}


def test_graphiql_is_served(base_url: str) -> None:
    page = httpx.get(f"{base_url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


# Last, since it adds an organisation to the module's graph ---------------------------------------------

EXPORTER = "91110108MA01EXPORT"
WHY = """query($id: ID!) { organisation(id: $id) { ... on Organisation {
  applicableObligations(asOf: "2026-03-20") { obligationId status reasons { assignment { role { notation }
    reasons { kind id } } } } } } }"""


def test_an_export_of_personal_information_is_why_the_transfer_duties_apply(base_url: str) -> None:
    """An organisation that declared no personal information but exports some is a handler, and says why."""
    registered = {"name": "Exporter", "jurisdiction": "CN"}
    started = {"transferId": "T1", "destination": "SG", "startedOn": "2026-03-10", "personalInformationSubjects": 5000}
    for body in (
        cloudevent("x-1", "organisation.registered", "2026-03-02T09:00:00+08:00", registered, EXPORTER),
        cloudevent("x-2", "transfer.started", "2026-03-10T09:00:00+08:00", started, EXPORTER),
    ):
        answer = httpx.post(f"{base_url}/events", content=json.dumps(body), headers=STRUCTURED)
        assert answer.status_code == 200, answer.text
    applicable = q(base_url, WHY, id=EXPORTER)["organisation"]["applicableObligations"]
    pipl04 = next(item for item in applicable if item["obligationId"] == "PIPL-04")
    assert pipl04["status"] == "VIOLATED"  # no transfer mechanism declared
    handler = {"role": {"notation": "pi_handler"}, "reasons": [{"kind": "DATA_TRANSFER", "id": "T1"}]}
    assert handler in [reason["assignment"] for reason in pipl04["reasons"]]


EARLY = "91110108MA01EARLY1"
STATUS = """query($id: ID!, $asOf: Date) { organisation(id: $id) { ... on Organisation {
  applicableObligations(asOf: $asOf) { obligationId status dueOn dueOnEstimated } } } }"""


def test_a_deadline_met_early_is_compliant_not_due(base_url: str) -> None:
    """A recommender with public-opinion attributes must file within 10 working days of launch (ALG-09): DUE with
    the date until it files (asked for a later day, overdue by then), COMPLIANT once it has, though the clock's date
    is still ahead."""
    feed = {"systemId": "feed", "name": "Feed", "capabilities": ["recommendation"], "launchedOn": "2026-03-02"}
    filing = {"systemId": "feed", "kind": "algorithm", "filingNumber": "网信算备-2", "authority": "CAC"}

    def alg09(as_of: str = "2026-03-05") -> dict[str, Any]:
        found = q(base_url, STATUS, id=EARLY, asOf=as_of)["organisation"]["applicableObligations"]
        return next(item for item in found if item["obligationId"] == "ALG-09")

    for body in (
        cloudevent(
            "e-1",
            "organisation.registered",
            "2026-03-02T09:00:00+08:00",
            {"name": "Early", "jurisdiction": "CN"},
            EARLY,
        ),
        cloudevent(
            "e-2", "aisystem.deployed", "2026-03-02T10:00:00+08:00", {**feed, "publicOpinionAttributes": True}, EARLY
        ),
    ):
        assert httpx.post(f"{base_url}/events", content=json.dumps(body), headers=STRUCTURED).status_code == 200
    assert alg09() == {"obligationId": "ALG-09", "status": "DUE", "dueOn": "2026-03-16", "dueOnEstimated": False}
    # asked for a day after the deadline, before any clock has judged it: overdue by then
    assert alg09("2026-03-20") == {
        "obligationId": "ALG-09",
        "status": "DUE",
        "dueOn": "2026-03-16",
        "dueOnEstimated": False,
    }
    filed = cloudevent(
        "e-3", "filing.completed", "2026-03-04T10:00:00+08:00", {**filing, "filedOn": "2026-03-04"}, EARLY
    )
    assert httpx.post(f"{base_url}/events", content=json.dumps(filed), headers=STRUCTURED).status_code == 200
    assert alg09() == {"obligationId": "ALG-09", "status": "COMPLIANT", "dueOn": None, "dueOnEstimated": None}
    assert alg09("2026-03-20") == {
        "obligationId": "ALG-09",
        "status": "COMPLIANT",
        "dueOn": None,
        "dueOnEstimated": None,
    }


UPCOMING = "91110108MA01UPCOM1"
PRE_LAUNCH = """query($id: ID!, $asOf: Date) { organisation(id: $id) { ... on Organisation {
  applicableObligations(asOf: $asOf) { obligationId status dueOn
    reasons { boundRole { notation label } assignment { reasons { kind id } } } }
  complianceSummary(asOf: $asOf) { byStatus { status count } } } } }"""


def test_a_launch_announced_shows_what_is_owed_before_it(base_url: str) -> None:
    """A chatbot with public-opinion attributes announced for 21 December: before it launches the organisation is no
    generative-AI provider yet, but the dashboard lists GAI-12's security assessment, owed before launch, as DUE on
    the launch day, because of that system; once assessed, only the filing (10 working days on) is owed."""
    bot = {
        "systemId": "bot",
        "name": "Bot",
        "capabilities": ["text-generation"],
        "publicOpinionAttributes": True,
        "launchedOn": "2026-12-21",
    }
    for body in (
        cloudevent(
            "u-1",
            "organisation.registered",
            "2026-12-01T09:00:00+08:00",
            {"name": "Up", "jurisdiction": "CN"},
            UPCOMING,
        ),
        cloudevent("u-2", "aisystem.deployed", "2026-12-02T10:00:00+08:00", bot, UPCOMING),
    ):
        assert httpx.post(f"{base_url}/events", content=json.dumps(body), headers=STRUCTURED).status_code == 200

    def gai12() -> dict[str, Any]:
        org = q(base_url, PRE_LAUNCH, id=UPCOMING, asOf="2026-12-04")["organisation"]
        statuses = {item["status"]: item["count"] for item in org["complianceSummary"]["byStatus"]}
        assert statuses.get("DUE", 0) == sum(item["status"] == "DUE" for item in org["applicableObligations"])
        return next(item for item in org["applicableObligations"] if item["obligationId"] == "GAI-12")

    before = gai12()
    assert (before["status"], before["dueOn"]) == ("DUE", "2026-12-21")
    bound = {(reason["boundRole"]["notation"], reason["boundRole"]["label"]) for reason in before["reasons"]}
    assert bound == {  # the role it binds, and the one its trigger requires (no reference actor id: no notation)
        ("genai_service_provider", "Generative AI service provider"),
        (None, "Generative AI service provider with public-opinion attributes or social mobilisation capacity"),
    }
    assert all(reason["assignment"]["reasons"] == [{"kind": "AI_SYSTEM", "id": "bot"}] for reason in before["reasons"])
    assessed = cloudevent(
        "u-3",
        "assessment.completed",
        "2026-12-03T10:00:00+08:00",
        {"kind": "security", "completedOn": "2026-12-03", "outcome": "passed", "systemId": "bot"},
        UPCOMING,
    )
    assert httpx.post(f"{base_url}/events", content=json.dumps(assessed), headers=STRUCTURED).status_code == 200
    after = gai12()
    assert (after["status"], after["dueOn"]) == ("DUE", "2027-01-05")

"""``POST /events`` through real HTTP: the CloudEvents HTTP binding, reasons for bad events, nothing half-applied."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rdflib.namespace import RDFS

from api.app import create_app
from api.config import SparqlEndpointConfig
from kg.iris import Graphs
from kg.pipeline import STEPS, Pipeline
from kg.store import Store
from tests.support.cloudevents import ORG, cloudevent
from tests.support.live_server import live_server
from tests.support.shape_cases import clear

STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def event(number: int, kind: str, time: str, data: dict[str, Any], subject: str = ORG) -> dict[str, Any]:
    return cloudevent(f"http-{number}", kind, time, data, subject)


REGISTER = event(1, "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN"})
DEPLOY = event(
    2,
    "aisystem.deployed",
    "2026-03-02T10:00:00+08:00",
    {
        "systemId": "feed",
        "name": "Feed",
        "capabilities": ["recommendation"],
        "launchedOn": "2026-03-02",
        "publicOpinionAttributes": True,
    },
)
LATE = event(3, "organisation.updated", "2026-03-20T09:00:00+08:00", {"name": "Acme Ltd"})


@pytest.fixture(scope="module")
def base_url(store: Store) -> Iterator[str]:
    app = create_app(store, SparqlEndpointConfig(update_token=None), Pipeline.from_store(store))
    with live_server(app, ready_path="/health") as url:
        yield url


@pytest.fixture(autouse=True)
def fresh(store: Store) -> None:
    clear(store)


def test_structured_events_apply_and_report_the_violations_they_open(base_url: str) -> None:
    for body in (REGISTER, DEPLOY):
        answer = httpx.post(f"{base_url}/events", content=json.dumps(body), headers=STRUCTURED)
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"] == [{"id": body["id"], "source": body["source"], "status": "applied"}]
    answer = httpx.post(f"{base_url}/events", content=json.dumps(LATE), headers=STRUCTURED)
    opened = [v for v in answer.json()["violations"] if v["data"]["obligation"] == "ALG-09"]
    assert len(opened) == 1
    assert opened[0]["type"] == "violation.opened"
    assert opened[0]["data"]["causedBy"] == "clock"  # due on 16 March: caught up before the event (20 March)
    assert opened[0]["data"]["detectedAt"].startswith("2026-03-17T00:00:00")
    assert opened[0]["data"]["focusNode"].endswith("/system/feed")


def test_a_repeat_is_reported_as_a_duplicate(base_url: str) -> None:
    httpx.post(f"{base_url}/events", content=json.dumps(REGISTER), headers=STRUCTURED)
    again = httpx.post(f"{base_url}/events", content=json.dumps(REGISTER), headers=STRUCTURED)
    assert again.json()["results"][0]["status"] == "duplicate"


def test_a_used_id_on_a_different_event_is_a_400_with_the_reason(base_url: str, store: Store) -> None:
    httpx.post(f"{base_url}/events", content=json.dumps(REGISTER), headers=STRUCTURED)
    triples = store.count_triples(Graphs.ORGANISATIONS)
    other = dict(REGISTER, data={**REGISTER["data"], "name": "Someone Else"})
    answer = httpx.post(f"{base_url}/events", content=json.dumps(other), headers=STRUCTURED)
    assert answer.status_code == 400, answer.text
    problem = answer.json()["rejected"][0]
    assert f"id {REGISTER['id']!r}" in problem["reason"] and "said something else" in problem["reason"], problem
    assert store.count_triples(Graphs.ORGANISATIONS) == triples


def test_a_batch_applies_all_or_nothing(base_url: str, store: Store) -> None:
    stranger = event(9, "organisation.updated", "2026-03-02T09:00:00+08:00", {"name": "X"}, subject="NOBODY")
    answer = httpx.post(f"{base_url}/events", content=json.dumps([REGISTER, stranger]), headers=BATCH)
    assert answer.status_code == 400
    problem = answer.json()["rejected"][0]
    assert problem["index"] == 1
    assert "unknown organisation 'NOBODY'" in problem["reason"]
    assert store.count_triples(Graphs.ORGANISATIONS) == 0
    answer = httpx.post(f"{base_url}/events", content=json.dumps([REGISTER, DEPLOY]), headers=BATCH)
    assert [r["status"] for r in answer.json()["results"]] == ["applied", "applied"]


def test_a_broken_event_gets_the_reason_and_changes_nothing(base_url: str, store: Store) -> None:
    broken = dict(REGISTER, time="2026-03-02 09:00")
    answer = httpx.post(f"{base_url}/events", content=json.dumps(broken), headers=STRUCTURED)
    assert answer.status_code == 400
    assert "time" in answer.json()["error"]
    answer = httpx.post(f"{base_url}/events", content=b"{not json", headers=STRUCTURED)
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["error"]
    assert store.count_triples(Graphs.ORGANISATIONS) == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (json.dumps(REGISTER).encode(), "a batch must be a JSON array of events, got an object"),
        (b"[{", "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_a_batch_that_is_not_an_array_of_events_gets_the_reason(
    base_url: str, store: Store, body: bytes, reason: str
) -> None:
    answer = httpx.post(f"{base_url}/events", content=body, headers=BATCH)
    assert answer.status_code == 400, answer.text
    assert reason in answer.json()["error"]
    assert answer.json()["rejected"][0]["index"] is None  # the body as a whole, no element
    assert store.count_triples(Graphs.ORGANISATIONS) == 0


def test_binary_mode_carries_attributes_in_headers(base_url: str) -> None:
    headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "bin-1",
        "ce-source": "https://erp.example.cn",
        "ce-type": "organisation.registered",
        "ce-time": "2026-03-02T09:00:00+08:00",
        "ce-subject": ORG,
    }
    answer = httpx.post(
        f"{base_url}/events", content=json.dumps({"name": "Acme", "jurisdiction": "CN"}), headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["status"] == "applied"


def binary_registration(event_id: str) -> dict[str, str]:
    """The headers of a binary-mode ``organisation.registered`` with the given (percent-encoded) id."""
    return {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "https://erp.example.cn",
        "ce-type": "organisation.registered",
        "ce-time": "2026-03-02T09:00:00+08:00",
        "ce-subject": ORG,
    }


def test_binary_mode_percent_decodes_its_headers_and_wants_json(base_url: str) -> None:
    """The CloudEvents HTTP binding percent-encodes header values (3.1.3.2): ``ce-id: h-bin%205`` is the id
    ``h-bin 5``. The body is the data as JSON; as text/plain it is refused, as in structured mode."""
    headers = binary_registration("h-bin%205")
    body = json.dumps({"name": "Acme", "jurisdiction": "CN"})
    answer = httpx.post(f"{base_url}/events", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["id"] == "h-bin 5"
    plain = httpx.post(f"{base_url}/events", content=body, headers={**headers, "Content-Type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["error"]


def test_binary_mode_refuses_headers_it_cannot_decode_and_says_what_is_missing(base_url: str) -> None:
    """A raw UTF-8 header value, or a percent-encoding that is not UTF-8, is refused with a 400 naming the header
    (before, both were stored garbled, and ``%FF%FE`` and ``%FE%FF`` read as one id); ``ce-*`` headers without
    ``ce-specversion`` are told that it is missing. ``%E4%BA%8B`` is the id 事."""
    headers = binary_registration("%E4%BA%8B-1")
    body = json.dumps({"name": "Acme", "jurisdiction": "CN"})
    answer = httpx.post(f"{base_url}/events", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["results"][0]["id"] == "事-1", answer.text
    for sent, reason in (
        ("%FF%FE", "header ce-id: its percent-encoding is not UTF-8"),
        ("事-2".encode(), "header ce-id: a value that is not ASCII must be percent-encoded"),
    ):
        refused = httpx.post(f"{base_url}/events", content=body, headers={**headers, "ce-id": sent})  # type: ignore[arg-type]
        assert refused.status_code == 400 and reason in refused.json()["error"], refused.text
        assert refused.json()["rejected"][0]["pointer"] == "/id"
    headers.pop("ce-specversion")
    missing = httpx.post(f"{base_url}/events", content=body, headers={**headers, "ce-id": "bin-3"})
    assert missing.status_code == 400 and "needs a ce-specversion header" in missing.json()["error"], missing.text


def test_every_way_in_holds_an_event_to_the_same_limits(base_url: str) -> None:
    """Data nested past the limit, a number of 5,000 digits, an event over 1 MiB and a time with no instant in UTC
    are each refused with a 400 and the reason, in binary mode, structured mode and as a batch element alike."""
    assert httpx.post(f"{base_url}/events", json=REGISTER, headers=STRUCTURED).status_code == 200
    headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-source": "https://erp.example.cn",
        "ce-type": "organisation.updated",
        "ce-time": "2026-03-03T09:00:00+08:00",
        "ce-subject": ORG,
    }
    deep = '{"name": "x", "u": ' + "[" * 100_000 + "]" * 100_000 + "}"
    digits = '{"name": "x", "v": ' + "9" * 5_000 + "}"
    large = json.dumps({"name": "x", "blob": "x" * (1 << 21)})
    for number, (body, reason) in enumerate(((deep, "nested deeper"), (digits, "too many digits"), (large, "larger"))):
        binary = httpx.post(f"{base_url}/events", content=body, headers={**headers, "ce-id": f"limit-{number}"})
        assert binary.status_code == 400 and reason in binary.json()["error"], binary.text
        one = json.dumps({**event(10 + number, "organisation.updated", headers["ce-time"], {}), "data": "DATA"})
        one = one.replace('"DATA"', body)
        assert httpx.post(f"{base_url}/events", content=one, headers=STRUCTURED).status_code == 400
    batch = [event(20, "organisation.updated", "2026-03-03T09:00:00+08:00", {"name": "x", "blob": "x" * (1 << 21)})]
    answer = httpx.post(f"{base_url}/events", json=batch, headers=BATCH)
    assert answer.status_code == 400 and "larger than 1048576 bytes" in answer.json()["error"], answer.text
    year_one = event(21, "organisation.updated", "0001-01-01T00:00:00+08:00", {"name": "x"})
    answer = httpx.post(f"{base_url}/events", json=year_one, headers=STRUCTURED)
    assert answer.status_code == 400 and "between the years 1 and 9999" in answer.json()["error"], answer.text


def test_a_body_over_16_mib_is_413_before_it_is_read_whole_and_the_server_stays_up(base_url: str) -> None:
    """Refused from its Content-Length without reading it, or while a chunked body streams in: before, the whole
    body was held (a 300 MB one took the server from 134 to 720 MB) and only then answered 400."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:  # declares 64 MiB, sends one byte of it
        raw.sendall(
            b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents-batch+json\r\n"
            + f"Content-Length: {64 << 20}\r\n\r\n[".encode()
        )
        answered = ""
        while "}" not in answered and (chunk := raw.recv(65536)):  # the status line, headers, then the JSON
            answered += chunk.decode()
    assert answered.startswith("HTTP/1.1 413") and "larger than 16777216 bytes" in answered, answered

    def chunks() -> Iterator[bytes]:
        for _ in range(17):
            yield b" " * (1 << 20)

    chunked = httpx.post(f"{base_url}/events", content=chunks(), headers=BATCH, timeout=60)
    assert chunked.status_code == 413, chunked.text
    assert httpx.post(f"{base_url}/events", json=[REGISTER], headers=BATCH).status_code == 200


def test_health_and_sparql_answer_while_45_posts_wait_for_the_writer(store: Store) -> None:
    """45 ``POST /events`` wait behind a batch that holds the single writer (here: the test holds it). Before, each
    held one of the 40 threads every synchronous route shares, and ``/health`` and ``/sparql`` waited with them."""
    pipeline = Pipeline.from_store(store)
    app = create_app(store, SparqlEndpointConfig(update_token=None), pipeline)
    with live_server(app, ready_path="/health") as url, httpx.Client(timeout=60) as client:
        answers: list[int] = []
        with pipeline.lock:
            posts = [
                threading.Thread(
                    target=lambda n=n: answers.append(
                        client.post(
                            f"{url}/events",
                            json=event(200 + n, "organisation.registered", "2026-03-02T09:00:00+08:00",
                                       {"name": "W", "jurisdiction": "CN"}, subject=f"WAIT{n}"),
                            headers=STRUCTURED,
                        ).status_code
                    )
                )
                for n in range(45)
            ]  # fmt: skip
            for post in posts:
                post.start()
            time.sleep(1.0)  # every post is in, waiting
            assert answers == []
            with httpx.Client(timeout=5) as other:
                assert other.get(f"{url}/health").status_code == 200
                count = other.get(f"{url}/sparql", params={"query": "ASK { ?s ?p ?o }"})
                assert count.status_code == 200, count.text
        for post in posts:
            post.join(timeout=60)
        assert answers == [200] * 45


def test_an_event_dated_a_day_ahead_of_the_server_is_refused_and_one_a_minute_ahead_is_not(base_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    def registered(number: int, ahead: timedelta) -> dict[str, Any]:
        moment = (datetime.now(UTC) + ahead).isoformat()
        return event(number, "organisation.registered", moment, {"name": "Ahead", "jurisdiction": "CN"})

    tomorrow = httpx.post(f"{base_url}/events", json=registered(300, timedelta(days=1)), headers=STRUCTURED)
    assert tomorrow.status_code == 400, tomorrow.text
    [problem] = tomorrow.json()["rejected"]
    assert problem["pointer"] == "/time" and "ahead of when it was received" in problem["reason"], problem
    soon = httpx.post(f"{base_url}/events", json=[registered(301, timedelta(minutes=1))], headers=BATCH)
    assert soon.status_code == 200, soon.text


def test_a_compressed_body_is_415_naming_the_encoding(base_url: str) -> None:
    import gzip

    body = gzip.compress(json.dumps(REGISTER).encode())
    answer = httpx.post(f"{base_url}/events", content=body, headers={**STRUCTURED, "Content-Encoding": "gzip"})
    assert answer.status_code == 415 and "Content-Encoding 'gzip'" in answer.json()["error"], answer.text


def test_an_unknown_content_type_is_415(base_url: str) -> None:
    answer = httpx.post(f"{base_url}/events", content=b"{}", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415


def test_requests_sent_while_a_batch_runs_are_grouped_and_answered_each_with_its_own(store: Store) -> None:
    """Three clients post at once while the pipeline is busy: one batch for the three, each answer its own (a bad
    batch among them answered 400, nothing of it applied)."""
    pipeline = Pipeline.from_store(store)
    app = create_app(store, SparqlEndpointConfig(update_token=None), pipeline)
    bodies = [
        [
            cloudevent(
                f"g-{org}-1",
                "organisation.registered",
                "2026-03-02T09:00:00+08:00",
                {"name": org, "jurisdiction": "CN"},
                org,
            )
        ]
        for org in ("GA", "GB")
    ]
    unknown = cloudevent("g-GC-1", "organisation.updated", "2026-03-02T09:00:00+08:00", {"name": "GC"}, "GC")
    register_gd = cloudevent(
        "g-GD-1", "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "GD", "jurisdiction": "CN"}, "GD"
    )
    bodies.append([register_gd, unknown])
    answers: dict[int, httpx.Response] = {}
    with live_server(app, ready_path="/health") as url:
        group_commit = app.state.group_commit

        def post(index: int) -> None:
            answers[index] = httpx.post(f"{url}/events", content=json.dumps(bodies[index]), headers=BATCH, timeout=60)

        threads = [threading.Thread(target=post, args=(index,)) for index in range(len(bodies))]
        with pipeline.lock:
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 20
            while group_commit.waiting < len(bodies):
                assert time.monotonic() < deadline, f"{group_commit.waiting} requests queued"
                time.sleep(0.005)
        for thread in threads:
            thread.join(timeout=60)
    assert group_commit.groups == 1
    for index, org in enumerate(("GA", "GB")):
        assert answers[index].status_code == 200, answers[index].text
        assert answers[index].json()["results"] == [
            {"id": f"g-{org}-1", "source": bodies[index][0]["source"], "status": "applied"}
        ]
    assert answers[2].status_code == 400
    assert "unknown organisation 'GC'" in answers[2].json()["error"]
    labels = store.select(f"SELECT ?name WHERE {{ GRAPH <{Graphs.ORGANISATIONS}> {{ ?org <{RDFS.label}> ?name }} }}")
    assert {str(getattr(row.get("name"), "value", "")) for row in labels} >= {"GA", "GB"}
    assert "GD" not in {str(getattr(row.get("name"), "value", "")) for row in labels}


def test_metrics_count_the_events_and_the_violations_they_changed(base_url: str) -> None:
    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        answer = httpx.get(f"{base_url}/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }

    before = scrape()
    posted = [REGISTER, DEPLOY, LATE, LATE]  # the last a duplicate
    opened = 0
    for body in posted:
        answer = httpx.post(f"{base_url}/events", content=json.dumps(body), headers=STRUCTURED)
        opened += sum(v["type"] == "violation.opened" for v in answer.json()["violations"])
    httpx.post(f"{base_url}/events", content=json.dumps({"specversion": "1.0"}), headers=STRUCTURED)  # 400, parse
    stranger = event(9, "organisation.updated", "2026-03-20T09:00:00+08:00", {"name": "Nobody"}, "91110000NOBODY0000")
    refused = httpx.post(f"{base_url}/events", content=json.dumps(stranger), headers=STRUCTURED)
    assert refused.status_code == 400 and "unknown organisation" in refused.json()["error"], refused.text
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)

    assert grew("obligraph_events_total", outcome="applied") == 3
    assert grew("obligraph_events_total", outcome="duplicate") == 1
    assert grew("obligraph_events_total", outcome="rejected") == 2  # broken, and naming no known organisation
    assert opened > 0 and grew("obligraph_violation_changes_total", kind="opened") == opened
    assert grew("obligraph_batches_total") == 4 and grew("obligraph_http_event_groups_total") == 5  # one refused
    assert grew("obligraph_batch_seconds_total") > 0
    steps = {step: grew("obligraph_pipeline_step_seconds_total", step=step) for step in STEPS}
    assert all(seconds > 0 for seconds in steps.values()), steps  # every batch applied and validated something
    assert sum(steps.values()) <= grew("obligraph_batch_seconds_total")  # the steps are parts of the batches
    assert after[("obligraph_http_event_requests_waiting", ())] == 0

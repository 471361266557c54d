"""The ``obligraph`` command as a user runs it: a real process, a real data directory, real HTTP."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from SPARQLWrapper import CSV, JSON, SPARQLWrapper

from obligraph.settings import Settings, default_data_dir
from tests.support.cloudevents import ORG, cloudevent
from tests.support.oxigraph_server import free_port

OBLIGRAPH = str(Path(sys.executable).parent / "obligraph")
COUNT_OBLIGATIONS = (
    "PREFIX og: <https://w3id.org/obligraph/ontology#> SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?o a og:Obligation }"
)


def run(
    *args: str, data_dir: Path | None = None, stdin: str | None = None, columns: int = 80
) -> subprocess.CompletedProcess[str]:
    """The command in a terminal ``columns`` wide (rich reads ``COLUMNS``), without the caller's OBLIGRAPH_ settings."""
    command = [OBLIGRAPH, *(["--data-dir", str(data_dir)] if data_dir else []), *args]
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    env["COLUMNS"] = str(columns)
    return subprocess.run(command, capture_output=True, text=True, input=stdin, env=env, timeout=180)


@pytest.fixture(scope="module")
def built_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    result = run("build", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "graph/regulations" in result.stderr
    return data_dir


def test_build_is_skipped_when_the_store_holds_this_build(built_data_dir: Path) -> None:
    result = run("build", data_dir=built_data_dir)
    assert result.returncode == 0
    assert "already holds this build" in result.stderr


def test_sparql_command_counts_77_obligations(built_data_dir: Path) -> None:
    result = run("sparql", COUNT_OBLIGATIONS, "--format", "csv", data_dir=built_data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "77"]


def test_sparql_command_reads_a_query_from_stdin_as_a_table(built_data_dir: Path) -> None:
    query = (  # og: and skos: need no PREFIX line
        'SELECT ?id WHERE { ?o a og:Obligation ; skos:notation ?id FILTER(STRSTARTS(?id, "GAI-1")) } ORDER BY ?id'
    )
    result = run("sparql", "-", data_dir=built_data_dir, stdin=query)
    assert result.returncode == 0, result.stderr
    for obligation_id in ("GAI-10", "GAI-11", "GAI-12"):
        assert obligation_id in result.stdout
    assert "3 rows" in result.stderr


def test_a_format_the_query_cannot_be_answered_in_says_which_it_can_once(built_data_dir: Path) -> None:
    result = run("sparql", COUNT_OBLIGATIONS, "--format", "turtle", data_dir=built_data_dir)
    assert result.returncode == 2
    assert "--format turtle does not fit this query, whose answer is solutions: use table, json, xml, csv, tsv" in (
        " ".join(result.stderr.split())
    ), result.stderr
    assert result.stderr.count("error:") == 1, result.stderr


def test_malformed_query_is_a_message_not_a_traceback(built_data_dir: Path) -> None:
    result = run("sparql", "SELEC ?x WHERE { ?x ?p ?o }", data_dir=built_data_dir)
    assert result.returncode == 2
    assert "malformed query" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_update_is_told_where_to_go(built_data_dir: Path) -> None:
    update = "PREFIX ex: <http://e/>\n# add one\nINSERT DATA { GRAPH ex:g { ex:a ex:b ex:c } }"
    result = run("sparql", update, data_dir=built_data_dir)
    assert result.returncode == 2
    assert "this is a SPARQL update" in result.stderr and "POST /sparql" in result.stderr


@pytest.mark.parametrize("output", ["table", "csv"])
def test_a_query_failing_while_it_runs_is_a_message(built_data_dir: Path, output: str) -> None:
    """A SERVICE on a closed 127.0.0.1 port: the store raises while the answer is read."""
    query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{free_port()}/sparql> {{ ?s ?p ?o }} }}"  # none listens
    result = run("sparql", query, "--format", output, data_dir=built_data_dir)
    assert result.returncode == 2
    assert "the query failed while running" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unusable_data_directory_is_a_message(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "plain-file"
    not_a_directory.write_text("")
    result = run("info", data_dir=not_a_directory)
    assert result.returncode == 2
    assert "cannot open the data directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_remote_store_without_url_is_a_message() -> None:
    result = run("--store", "remote", "info")
    assert result.returncode == 2
    assert "OBLIGRAPH_REMOTE_URL" in result.stderr


def test_an_operators_mistakes_are_messages_that_name_what_to_change(tmp_path: Path) -> None:
    """Each gave a traceback, was silently ignored, or named an internal field (the operator audit)."""
    data = tmp_path / "data"
    cases = [
        (run("serve", "--port", "70000", data_dir=data), "65535"),
        (run("serve", "--host", "", data_dir=data), "--host needs an interface"),
        (run("--remote-url", "http://127.0.0.1:1", "info", data_dir=data), "--remote-url needs --store remote"),
    ]
    for result, said in cases:
        assert result.returncode == 2 and said in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    env |= {"OBLIGRAPH_PORT": "abc", "COLUMNS": "200"}
    named = subprocess.run([OBLIGRAPH, "info"], capture_output=True, text=True, env=env, timeout=60)
    assert named.returncode == 2 and "OBLIGRAPH_PORT: Input should be a valid integer" in named.stderr, named.stderr
    corrupt = tmp_path / "corrupt"
    (corrupt / "store").mkdir(parents=True)
    (corrupt / "store" / "CURRENT").write_text("garbage\n")
    broken = run("info", data_dir=corrupt)
    assert broken.returncode == 2 and "cannot open the store in" in broken.stderr and "Corruption" in broken.stderr
    assert "Traceback" not in broken.stderr
    helped = run("serve", "--help", columns=200).stdout + run("--help", columns=200).stdout
    assert {"OBLIGRAPH_HOST", "OBLIGRAPH_PORT", "OBLIGRAPH_DATA_DIR", "OBLIGRAPH_REMOTE_URL"} <= set(
        re.findall(r"OBLIGRAPH_[A-Z_]+", helped)
    ), helped


EVENTS = "\n".join(
    json.dumps(event)
    for event in (
        {
            "specversion": "1.0",
            "id": "e1",
            "source": "urn:acme",
            "type": "organisation.registered",
            "time": "2026-03-02T09:00:00+08:00",
            "subject": "ACME",
            "data": {"name": "Acme", "jurisdiction": "CN-BJ"},
        },
        {
            "specversion": "1.0",
            "id": "e2",
            "source": "urn:acme",
            "type": "aisystem.deployed",
            "time": "2026-03-02T10:00:00+08:00",
            "subject": "ACME",
            "data": {
                "systemId": "feed",
                "name": "Feed",
                "capabilities": ["recommendation"],
                "launchedOn": "2026-03-02",
                "publicOpinionAttributes": True,
            },
        },
        {
            "specversion": "1.0",
            "id": "e3",
            "source": "urn:acme",
            "type": "organisation.updated",
            "time": "2026-03-20T09:00:00+08:00",
            "subject": "ACME",
            "data": {"name": "Acme Ltd"},
        },
    )
)


def test_ingesting_the_same_file_twice_gives_identical_violations(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(EVENTS + "\n")
    first = run("ingest", str(events), data_dir=tmp_path / "data")
    assert first.returncode == 0, first.stderr
    assert "3 applied, 0 already applied, 0 rejected" in first.stdout
    listed = run("violations", "--org", "ACME", "--status", "all", "--format", "json", data_dir=tmp_path / "data")
    violations = json.loads(listed.stdout)
    alg09 = [v for v in violations if v["obligation"] == "ALG-09"]
    assert len(alg09) == 1
    assert {"id", "obligation", "status", "focusNode", "openedAt", "resolvedAt", "message"} <= set(alg09[0])
    assert alg09[0]["status"] == "open" and alg09[0]["causedBy"] == "clock"  # caught up before e3, the day after due
    second = run("ingest", str(events), data_dir=tmp_path / "data")
    assert "0 applied, 3 already applied, 0 rejected" in second.stdout
    again = run("violations", "--org", "ACME", "--status", "all", "--format", "json", data_dir=tmp_path / "data")
    assert json.loads(again.stdout) == violations
    as_csv = run("violations", "--org", "ACME", "--status", "all", "--format", "csv", data_dir=tmp_path / "data")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(row["id"], row["obligation"], row["status"]) for row in rows] == [
        (v["id"], v["obligation"], v["status"]) for v in violations
    ]
    assert all(row["message"] == v["message"] for row, v in zip(rows, violations, strict=True))  # commas quoted
    assert rows[0]["authorities"] == "; ".join(violations[0]["trace"]["authorities"])
    data = tmp_path / "data"
    alg09_only = run("violations", "--obligation", "alg-09", "--status", "all", "-f", "json", data_dir=data)
    assert [v["id"] for v in json.loads(alg09_only.stdout)] == [alg09[0]["id"]]
    newest = run("violations", "--status", "all", "--limit", "1", "-f", "json", data_dir=data)
    assert [v["id"] for v in json.loads(newest.stdout)] == [violations[0]["id"]]  # newest first
    assert "the newest 1; --limit 0 lists them all" in newest.stderr
    every = run("violations", "--status", "all", "--limit", "0", "-f", "json", data_dir=data)
    assert [v["id"] for v in json.loads(every.stdout)] == [v["id"] for v in violations]
    table = run("violations", "--status", "all", "--limit", "1", data_dir=data, columns=200)
    assert table.stdout.count(" ACME ") == 1 and "the newest 1" in table.stderr
    no_such = run("violations", "--obligation", "XX-1", data_dir=tmp_path / "data")
    assert no_such.returncode == 2 and "no obligation 'XX-1'" in no_such.stderr
    mistyped = run("violations", "--org", "ACME1", "--format", "json", data_dir=tmp_path / "data")
    assert mistyped.returncode == 2 and "unknown organisation 'ACME1'" in mistyped.stderr and not mistyped.stdout


def test_ingest_says_why_it_cannot_read_what_it_was_given(tmp_path: Path) -> None:
    missing = run("ingest", str(tmp_path / "nowhere.jsonl"), data_dir=tmp_path / "data")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    folder = run("ingest", str(tmp_path), data_dir=tmp_path / "data")
    assert folder.returncode == 2 and "a directory, not a file" in folder.stderr


def test_ingest_reports_rejected_lines_with_reasons(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    stranger = {
        "specversion": "1.0",
        "id": "x",
        "source": "urn:x",
        "type": "organisation.updated",
        "time": "2026-03-02T09:00:00+08:00",
        "subject": "NOBODY",
        "data": {"name": "X"},
    }
    events.write_text(EVENTS.splitlines()[0] + "\n{broken\n" + json.dumps(stranger) + "\n")
    rejected = tmp_path / "rejected.jsonl"
    result = run("ingest", str(events), "--rejected", str(rejected), data_dir=tmp_path / "data")
    assert result.returncode == 3
    assert "1 applied, 0 already applied, 2 rejected" in result.stdout
    assert "line 2: not valid JSON: Expecting property name enclosed in double quotes at character 2" in result.stdout
    assert "line 3: unknown organisation 'NOBODY'" in result.stdout
    written = [json.loads(line) for line in rejected.read_text(encoding="utf-8").splitlines()]
    assert [row["line"] for row in written] == [2, 3]
    assert written[1]["reason"].startswith("unknown organisation 'NOBODY'")


def test_ingest_rejects_an_event_dated_ahead_of_the_clock_with_its_line(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    lines = [
        cloudevent("a-1", "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "A", "jurisdiction": "CN"}),
        cloudevent("a-2", "organisation.updated", later, {"name": "A Ltd"}),
    ]
    events = tmp_path / "ahead.jsonl"
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run("ingest", str(events), data_dir=tmp_path / "data")
    assert result.returncode == 3, result.stderr
    assert "line 2: time: " in result.stdout and "ahead of when it was received" in result.stdout, result.stdout
    assert "1 applied, 0 already applied, 1 rejected" in result.stdout, result.stdout


def test_revalidate_opens_what_falls_due_with_no_event(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(EVENTS.splitlines()[:2]) + "\n")
    assert run("ingest", str(events), data_dir=tmp_path / "data").returncode == 0
    listed = run("violations", "--org", "ACME", "--format", "json", data_dir=tmp_path / "data")
    assert not [v for v in json.loads(listed.stdout) if v["obligation"] == "ALG-09"]
    result = run("revalidate", "--as-of", "2026-03-17", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert "as of 2026-03-17" in result.stdout
    listed = run("violations", "--org", "ACME", "--format", "json", data_dir=tmp_path / "data")
    [alg09] = [v for v in json.loads(listed.stdout) if v["obligation"] == "ALG-09"]
    assert alg09["causedBy"] == "clock"
    bad = run("revalidate", "--as-of", "17/03/2026", data_dir=tmp_path / "data")
    assert bad.returncode == 2 and "--as-of expects a date" in bad.stderr
    ahead = run("revalidate", "--as-of", "2999-01-01", data_dir=tmp_path / "data")  # ALG-09's clock would pass
    assert ahead.returncode == 2 and "--as-of 2999-01-01 is after today in China" in ahead.stderr
    assert run("violations", "--org", "ACME", "--format", "json", data_dir=tmp_path / "data").stdout == listed.stdout


def test_compact_rewrites_the_store_and_keeps_its_data(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(EVENTS)
    assert run("ingest", str(events), data_dir=tmp_path / "data").returncode == 0
    before = run("violations", "--org", "ACME", "--status", "all", "--format", "json", data_dir=tmp_path / "data")
    result = run("compact", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert "compacted in" in result.stderr
    after = run("violations", "--org", "ACME", "--status", "all", "--format", "json", data_dir=tmp_path / "data")
    assert json.loads(after.stdout) == json.loads(before.stdout) != []
    in_memory = run("--store", "memory", "compact")
    assert in_memory.returncode == 0 and "nothing to compact" in in_memory.stderr


def test_obligations_lists_which_are_machine_checkable(built_data_dir: Path) -> None:
    result = run("obligations", "--format", "json", data_dir=built_data_dir)
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert len(rows) == 77
    assert rows["ALG-09"]["checkable"] == "true"
    assert rows["CSL-04"]["checkable"] == "false"


def test_obligations_take_the_filters_graphql_takes(built_data_dir: Path) -> None:
    def ids(*filters: str) -> list[str]:
        result = run("obligations", *filters, "--format", "json", data_dir=built_data_dir)
        assert result.returncode == 0, result.stderr
        return [row["id"] for row in json.loads(result.stdout)]

    assert ids("--text", "数据安全法") == ["DSL-01", "DSL-02", "DSL-03", "DSL-04", "DSL-05"]
    genai = ids("--instrument", "CN-GENAI-2023")
    assert "GAI-12" in genai and all(found.startswith("GAI-") for found in genai)
    both = ids("--instrument", "CN-GENAI-2023", "--text", "filing")
    assert "GAI-12" in both and set(both) < set(genai)
    assert ids("--in-force-on", "2020-01-01", "--instrument", "CN-GENAI-2023") == []  # in force from 2023-08-15
    as_csv = run("obligations", "--authority", "CAC-BJ", "--format", "csv", data_dir=built_data_dir)
    assert [row["id"] for row in csv.DictReader(io.StringIO(as_csv.stdout))] == ids("--authority", "CAC-BJ")
    unknown = run("obligations", "--authority", "NOPE", data_dir=built_data_dir)
    assert unknown.returncode == 2 and "--authority: no such code 'NOPE'" in unknown.stderr
    bad_day = run("obligations", "--in-force-on", "2026-13-01", data_dir=built_data_dir)
    assert bad_day.returncode == 2 and "--in-force-on expects a date" in bad_day.stderr


@contextmanager
def serving(data_dir: Path, log: Path, **settings: str) -> Iterator[str]:
    """``obligraph serve`` on a free port, its output in ``log``; its base URL once ``/health`` answers."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    env.update({"OBLIGRAPH_DATA_DIR": str(data_dir), **settings})
    with log.open("ab") as output:
        process = subprocess.Popen([OBLIGRAPH, "serve", "--port", str(port)], env=env, stdout=output, stderr=output)
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()[-3000:]
                try:
                    if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "obligraph serve did not answer in 60 s"
                time.sleep(0.1)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=20)


EVENTS_APPLIED = """PREFIX og: <https://w3id.org/obligraph/ontology#>
SELECT (COUNT(?event) AS ?n) WHERE { GRAPH <https://w3id.org/obligraph/graph/events> { ?event og:eventId ?id } }"""


def events_applied(base_url: str) -> int:
    answer = httpx.post(
        f"{base_url}/sparql", data={"query": EVENTS_APPLIED}, headers={"Accept": "text/csv"}, timeout=10
    )
    return int(answer.text.split()[-1])


@pytest.mark.timeout(300)
def test_a_batch_cut_by_kill_9_is_whole_once_the_server_is_back(tmp_path: Path) -> None:
    """One organisation's 401 events in one HTTP batch are applied in 401 rounds, a transaction each. ``kill -9`` the
    server once a few are in: restarted, it applies the rounds still waiting (``kg/queued_rounds.py``) before it
    answers, so the batch is whole, not cut where the kill fell; sent again, every event is a repeat. Before, 4 to
    187 of 402 stayed in, and a corrected batch under the same ids was refused."""
    data_dir = tmp_path / "data"
    assert run("build", data_dir=data_dir).returncode == 0
    updates = [
        cloudevent(
            f"k-{n}", "organisation.updated", f"2026-03-{2 + n // 40:02d}T10:{n % 40:02d}:00+08:00", {"name": f"n{n}"}
        )
        for n in range(400)
    ]
    registered = cloudevent(
        "k-r", "organisation.registered", "2026-03-02T09:00:00+08:00", {"name": "K", "jurisdiction": "CN"}
    )
    batch = json.dumps([registered, *updates])
    headers = {"Content-Type": "application/cloudevents-batch+json"}
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    env["OBLIGRAPH_DATA_DIR"] = str(data_dir)
    log = tmp_path / "serve.log"
    with log.open("ab") as output:
        process = subprocess.Popen([OBLIGRAPH, "serve", "--port", str(port)], env=env, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base_url):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        sender = threading.Thread(target=_post_quietly, args=(f"{base_url}/events", batch, headers), daemon=True)
        sender.start()
        deadline = time.monotonic() + 120
        while (applied := events_applied(base_url)) < 3:
            assert time.monotonic() < deadline, "the batch's first rounds were not applied in 120 s"
            time.sleep(0.05)
        process.kill()
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert applied < 401, "the batch ended before the kill: nothing was cut"

    with serving(data_dir, log) as again:
        assert events_applied(again) == 401
        answer = httpx.post(f"{again}/events", content=batch, headers=headers, timeout=120)
        assert answer.status_code == 200, answer.text
        assert {result["status"] for result in answer.json()["results"]} == {"duplicate"}


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _post_quietly(url: str, body: str, headers: dict[str, str]) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server is killed while it works on the batch
        httpx.post(url, content=body, headers=headers, timeout=120)


def wait_for_line(log: Path, text: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text!r} not logged in {timeout_s} s: {log.read_text()[-3000:]}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def served(built_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(built_data_dir, tmp_path_factory.mktemp("serve") / "serve.log") as base_url:
        yield base_url


def test_served_endpoint_counts_77_obligations(served: str) -> None:
    client = SPARQLWrapper(f"{served}/sparql")
    client.setQuery(COUNT_OBLIGATIONS)
    client.setReturnFormat(JSON)
    answer = client.queryAndConvert()
    assert isinstance(answer, dict)
    bindings = answer["results"]["bindings"]
    assert bindings[0]["n"]["value"] == "77"
    client.setReturnFormat(CSV)
    csv = client.queryAndConvert()
    assert isinstance(csv, bytes)
    assert csv.decode().split() == ["n", "77"]


def test_the_served_root_lists_every_endpoint(served: str) -> None:
    listed = httpx.get(f"{served}/", timeout=10).json()["endpoints"]
    assert set(listed) == {"sparql", "graphql", "events", "metrics", "health", "docs"}
    for name, entry in listed.items():
        status = httpx.get(served + entry["path"], timeout=10).status_code
        assert status == (405 if name == "events" else 200), (name, status)  # events are POSTed


def test_serve_on_a_taken_port_fails_at_once_and_touches_nothing(tmp_path: Path) -> None:
    """The port is bound first: taken, serve says so in one line, before the store is opened (or built), the
    clock's first pass or any "serving on" line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in result.stderr
    assert "serving on" not in result.stdout + result.stderr and "clock" not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists()


def test_a_second_process_cannot_take_the_data_directory(served: str, built_data_dir: Path) -> None:
    result = run("info", data_dir=built_data_dir)
    assert result.returncode == 2
    assert "in use by another obligraph process" in result.stderr


OPEN_VIOLATIONS = """{ organisation(id: "ACME") { ... on Organisation {
  violations(status: OPEN) { ... on ViolationConnection { nodes { obligationId causedBy } } } } } }"""


def test_serve_catches_up_at_start_when_a_day_was_missed_and_not_again_that_day(tmp_path: Path) -> None:
    """ALG-09's filing fell due in March with no event since: a server started today opens it at once, caused
    by the clock, without waiting an interval; restarted the same day, it does not judge everyone again."""
    data_dir, events = tmp_path / "data", tmp_path / "events.jsonl"
    events.write_text("\n".join(EVENTS.splitlines()[:2]) + "\n")
    assert run("ingest", str(events), data_dir=data_dir).returncode == 0
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    with serving(data_dir, first, OBLIGRAPH_CLOCK_INTERVAL_S="3600") as base_url:
        wait_for_line(first, "clock: done in")
        answer = httpx.post(f"{base_url}/graphql", json={"query": OPEN_VIOLATIONS}, timeout=30).json()
        nodes = answer["data"]["organisation"]["violations"]["nodes"]
        assert {"obligationId": "ALG-09", "causedBy": "clock"} in nodes
        passed = clock_gauge(base_url)
    assert "clock: validating every organisation as of" in first.read_text()
    with serving(data_dir, second, OBLIGRAPH_CLOCK_INTERVAL_S="3600") as base_url:
        wait_for_line(second, "clock: the last pass was as of")
        assert clock_gauge(base_url) == passed  # read from the graph: an alert on its age sees no stopped clock
    assert "clock: validating" not in second.read_text()


def clock_gauge(base_url: str) -> float:
    """``/metrics``' day of the last complete clock pass (a Unix timestamp)."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    return next(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "obligraph_clock_last_pass_as_of_timestamp_seconds"
    )


GETTING_STARTED = Path(__file__).resolve().parents[1] / "examples" / "getting-started.jsonl"


def test_the_getting_started_example_ends_as_the_readme_says(tmp_path: Path) -> None:
    """``examples/getting-started.jsonl``, as the README walks through it: a Beijing company launches a public
    chatbot, labels its output, files the wrong kind of filing first and the algorithm filing later."""
    result = run("ingest", str(GETTING_STARTED), data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert "9 applied, 0 already applied, 0 rejected; violations: 17 opened, 12 resolved" in result.stdout
    listed = run(
        "violations", "--org", "91110108MA01EXAMPL", "--status", "all", "-f", "json", data_dir=tmp_path / "data"
    )
    by_obligation = {v["obligation"]: v for v in json.loads(listed.stdout)}
    assert len(by_obligation) == 17
    assert {o for o, v in by_obligation.items() if v["status"] == "open"} == {
        "ALG-05",
        "BJ-02",
        "DS-02",
        "DS-06",
        "ETH-01",
    }
    gai12 = by_obligation["GAI-12"]  # the generative-AI service filing (evt-0006) is not the algorithm filing
    assert (gai12["causedBy"], gai12["openedAt"], gai12["resolvedBy"]) == (
        "clock",
        "2026-03-17T00:00:00+08:00",  # the day after launch, caught up before evt-0003 (2026-03-20) was applied
        "evt-0008",
    )
    pipl06 = by_obligation["PIPL-06"]  # officer due 30 working days after 1,000,000 people
    assert (pipl06["causedBy"], pipl06["openedAt"], pipl06["resolvedBy"]) == (
        "clock",
        "2026-04-15T00:00:00+08:00",  # the day after its due date, caught up before evt-0006 (2026-04-28)
        "evt-0007",
    )
    assert "due 2026-04-14" in pipl06["message"]
    # With the clock run on the day after the due date, PIPL-06 opens that day, caused by the clock.
    first_five = tmp_path / "first-five.jsonl"
    first_five.write_text("".join(GETTING_STARTED.read_text().splitlines(keepends=True)[:5]))
    assert run("ingest", str(first_five), data_dir=tmp_path / "clocked").returncode == 0
    clock = run("revalidate", "--as-of", "2026-04-15", data_dir=tmp_path / "clocked")
    assert "validated 1 organisation as of 2026-04-15: 1 violation opened, 0 resolved" in clock.stdout
    listed = run("violations", "--org", "91110108MA01EXAMPL", "-f", "json", data_dir=tmp_path / "clocked")
    [clocked] = [v for v in json.loads(listed.stdout) if v["obligation"] == "PIPL-06"]
    assert (clocked["causedBy"], clocked["openedAt"]) == ("clock", "2026-04-15T00:00:00+08:00")
    back = run("revalidate", "--as-of", "2026-04-01", data_dir=tmp_path / "clocked")  # judged as of the 15th since
    assert "as of 2026-04-01 (1 already judged as of a later moment: as of that moment)" in back.stdout, back.stdout


def test_violations_table_fits_a_narrow_terminal_and_uses_a_wide_one(tmp_path: Path) -> None:
    assert run("ingest", str(GETTING_STARTED), data_dir=tmp_path / "data").returncode == 0
    narrow = run("violations", "--org", "91110108MA01EXAMPL", data_dir=tmp_path / "data", columns=80)
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "DS-02  open  Violation  system/chat-assistant  2026-03-16" in lines
    assert "ETH-01  open  Violation  (organisation)  2026-03-16" in lines
    heading = lines.index("DS-02  open  Violation  system/chat-assistant  2026-03-16")
    assert lines[heading + 1] == "    Deep synthesis service chat-assistant has no real-identity authentication of"
    assert "5 violations, judged as of 2026-05-15T09:00:00+08:00" in narrow.stderr  # the last event's moment
    wide = run("violations", data_dir=tmp_path / "data", columns=160)
    header = next(line for line in wide.stdout.splitlines() if "obligation" in line)
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == [
        "organisation",
        "obligation",
        "status",
        "severity",
        "focus",
        "opened",
        "resolved",
        "message",
    ]
    assert max(len(line) for line in wide.stdout.splitlines()) <= 160


def _display_width(line: str) -> int:
    """Columns a terminal gives ``line``: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)


def test_violations_and_obligations_read_in_chinese_with_lang_zh(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run("ingest", str(GETTING_STARTED), data_dir=data).returncode == 0
    narrow = run("violations", "--org", "91110108MA01EXAMPL", "--lang", "zh", data_dir=data, columns=80)
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    assert "DS-02  open  Violation  system/chat-assistant  2026-03-16" in lines
    message = lines[lines.index("DS-02  open  Violation  system/chat-assistant  2026-03-16") + 1 :]
    text = "".join(line.strip() for line in message[: message.index("")])
    assert text.startswith("深度合成服务 chat-assistant") and "第九条" in text, text  # the whole message, wrapped
    assert max(_display_width(line) for line in lines) <= 80
    assert all(line == line.rstrip() for line in lines)
    wide = run("violations", "--lang", "zh", data_dir=data, columns=200)
    assert "《互联网信息服务深度合成管理规定》" in wide.stdout and "Deep synthesis" not in wide.stdout
    table = run("violations", "--org", "91110108MA01EXAMPL", "--lang", "zh", data_dir=data, columns=120).stdout
    assert "…" not in table, table  # a table at 120 columns folds Chinese messages, not cuts them
    titles = {
        row["id"]: row["title"]
        for row in json.loads(run("obligations", "--lang", "zh", "--format", "json", data_dir=data).stdout)
    }
    assert len(titles) == 77 and titles["GAI-12"] == "安全评估与算法备案"
    english = {row["id"]: row["title"] for row in json.loads(run("obligations", "-f", "json", data_dir=data).stdout)}
    assert english["GAI-12"] == "Security assessment and algorithm filing"  # English unless asked
    why = run("applicable", "--org", "91110108MA01EXAMPL", "--lang", "zh", data_dir=data, columns=200).stdout
    alg05 = why.split("ALG-05  VIOLATED  算法推荐服务情况告知与基本原理公示\n", 1)[1].split("\n\n", 1)[0]
    rule = "rule-algorithmic-recommendation-provider"
    assert alg05.strip() == f"约束算法推荐服务提供者，源于 system/chat-assistant（规则 {rule}）"
    assert "（经由数据处理者 / 网络数据处理者），源于 本组织、system/chat-assistant" in why
    assert (
        "binds" not in why
        and "binds AlgorithmicRecommendationProvider"
        in run("applicable", "--org", "91110108MA01EXAMPL", data_dir=data, columns=200).stdout
    )
    refused = run("violations", "--lang", "fr", data_dir=data)
    assert refused.returncode == 2 and "--lang" in refused.stderr


def test_applicable_says_why_each_obligation_binds_and_agrees_with_the_violations(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run("ingest", str(GETTING_STARTED), data_dir=data).returncode == 0
    org = "91110108MA01EXAMPL"
    listed = run("applicable", "--org", org, "--as-of", "2026-12-01", "-f", "json", data_dir=data)
    assert listed.returncode == 0, listed.stderr
    by_obligation = {entry["obligation"]: entry for entry in json.loads(listed.stdout)}
    assert len(by_obligation) == 66  # as the README says
    assert {o for o, entry in by_obligation.items() if entry["status"] == "VIOLATED"} == {
        "ALG-05",
        "BJ-02",
        "DS-02",
        "DS-06",
        "ETH-01",
    }  # fmt: skip  (the open violations, as `violations` lists them)
    assert {entry["status"] for entry in by_obligation.values()} == {"VIOLATED", "COMPLIANT", "NOT_CHECKABLE"}
    gai12 = by_obligation["GAI-12"]
    assert gai12["status"] == "COMPLIANT"
    assert (gai12["title"], gai12["titleZh"]) == ("Security assessment and algorithm filing", "安全评估与算法备案")
    assert {
        "boundRole": "GenerativeAIServiceProvider",
        "assignedRole": "GenerativeAIServiceProvider",
        "facts": ["system/chat-assistant"],
        "rules": ["rule-generative-ai-service-provider"],
    } in gai12["reasons"]
    assert "PIPL-06" in by_obligation and "(organisation)" in by_obligation["PIPL-06"]["reasons"][0]["facts"]

    one = run("applicable", "--org", org, "--obligation", "GAI-12", "--as-of", "2026-12-01", data_dir=data)
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines()[:6] == [
        "GAI-12  COMPLIANT  Security assessment and algorithm filing",
        "    binds GenerativeAIServiceProvider, derived from system/chat-assistant (rule",
        "      rule-generative-ai-service-provider)",
        "    binds PublicOpinionGenerativeAIServiceProvider, derived from",
        "      system/chat-assistant (rule",
        "      rule-public-opinion-generative-ai-service-provider)",
    ]
    assert "1 obligation binds 91110108MA01EXAMPL as of 2026-12-01" in one.stderr

    unknown = run("applicable", "--org", "NOBODY", data_dir=data)
    assert unknown.returncode == 2 and "unknown organisation 'NOBODY'" in unknown.stderr
    malformed = run("applicable", "--org", "no body>", data_dir=data)
    assert malformed.returncode == 2 and "'no body>' is not an organisation id" in malformed.stderr
    unbound = run("applicable", "--org", org, "--obligation", "CSL-06", "--as-of", "2026-12-01", data_dir=data)
    assert unbound.returncode == 2 and "CSL-06 does not bind" in unbound.stderr
    said = " ".join(unbound.stderr.split())
    assert f"it binds CIIOperator; of these {org} plays none (as last judged)" in said, said
    as_csv = run("applicable", "--org", org, "--as-of", "2026-12-01", "--format", "csv", data_dir=data)
    rows = {row["obligation"]: row for row in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert set(rows) == set(by_obligation)
    assert rows["GAI-12"]["roles"] == "GenerativeAIServiceProvider; PublicOpinionGenerativeAIServiceProvider"
    assert rows["GAI-12"]["facts"] == "system/chat-assistant"
    assert (rows["ALG-05"]["title"], rows["ALG-05"]["titleZh"]) == (
        "Disclosure of algorithmic recommendation and its basic principles",
        "算法推荐服务情况告知与基本原理公示",
    )
    lower_case = run("applicable", "--org", org, "--obligation", "gai-12", "--as-of", "2026-12-01", data_dir=data)
    assert lower_case.returncode == 0 and lower_case.stdout.startswith("GAI-12  COMPLIANT  "), lower_case.stderr
    no_such = run("applicable", "--org", org, "--obligation", "XX-99", data_dir=data)
    assert no_such.returncode == 2 and "no obligation 'XX-99' in the graph" in no_such.stderr
    bad_day = run("applicable", "--org", org, "--as-of", "1/12/2026", data_dir=data)
    assert bad_day.returncode == 2 and "--as-of expects a date" in bad_day.stderr


def test_applicable_says_when_a_due_date_is_an_estimate(tmp_path: Path) -> None:
    """A deadline counted in working days into 2027, which the official holiday calendar does not cover yet: a feed
    announced on 1 December for 28 December (an event is sent once what it says is true, so not dated ahead)."""
    feed = {"systemId": "feed", "name": "Feed", "capabilities": ["recommendation"], "launchedOn": "2026-12-28"}
    events = [
        cloudevent(
            "d-1", "organisation.registered", "2026-12-01T09:00:00+08:00", {"name": "Acme", "jurisdiction": "CN"}
        ),
        cloudevent("d-2", "aisystem.deployed", "2026-12-01T10:00:00+08:00", {**feed, "publicOpinionAttributes": True}),
    ]
    history = tmp_path / "december.jsonl"
    history.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    data = tmp_path / "data"
    assert run("ingest", str(history), data_dir=data).returncode == 0
    table = run("applicable", "--org", ORG, "--obligation", "ALG-09", "--as-of", "2026-12-28", data_dir=data)
    assert table.stdout.startswith("ALG-09  DUE  due 2027-01-12 (estimated)  "), table.stderr
    listed = run("applicable", "--org", ORG, "--as-of", "2026-12-28", "-f", "json", data_dir=data)
    [alg09] = [entry for entry in json.loads(listed.stdout) if entry["obligation"] == "ALG-09"]
    assert (alg09["dueOn"], alg09["dueOnEstimated"]) == ("2027-01-12", True)


def test_applicable_says_overdue_and_nothing_before_registration(tmp_path: Path) -> None:
    """The story's first five events: PIPL-06 falls due on 14 April and no event or clock has judged the days after.
    Asked about the 14th it is due, about the 20th overdue; before the registration (2 March) nothing is known."""
    data = tmp_path / "data"
    first_five = tmp_path / "first-five.jsonl"
    first_five.write_text("".join(GETTING_STARTED.read_text().splitlines(keepends=True)[:5]))
    assert run("ingest", str(first_five), data_dir=data).returncode == 0
    org = "91110108MA01EXAMPL"
    on_time = run("applicable", "--org", org, "--obligation", "PIPL-06", "--as-of", "2026-04-14", data_dir=data)
    assert on_time.stdout.startswith("PIPL-06  DUE  due 2026-04-14  "), on_time.stdout + on_time.stderr
    late = run("applicable", "--org", org, "--obligation", "PIPL-06", "--as-of", "2026-04-20", data_dir=data)
    assert late.stdout.startswith("PIPL-06  DUE  overdue, was due 2026-04-14  "), late.stdout + late.stderr
    zh = run(
        "applicable", "--org", org, "--obligation", "PIPL-06", "--as-of", "2026-04-20", "--lang", "zh", data_dir=data
    )
    assert zh.stdout.startswith("PIPL-06  DUE  已逾期，截止日期为 2026-04-14"), zh.stdout + zh.stderr
    assert f"截至 2026-04-20，{org} 受 1 项义务约束" in zh.stderr, zh.stderr
    before = run("applicable", "--org", org, "--as-of", "2026-03-01", data_dir=data)
    assert before.returncode == 0 and before.stdout == ""
    assert "0 obligations bind" in before.stderr and "was registered on 2026-03-02" in before.stderr, before.stderr
    empty = run("applicable", "--org", org, "--as-of", "", data_dir=data)
    assert empty.returncode == 2 and "--as-of expects a date" in empty.stderr


def test_sparql_says_what_to_change_and_ends_its_answer_with_a_newline(tmp_path: Path) -> None:
    data = tmp_path / "data"
    undeclared = run("sparql", "SELECT ?x WHERE { ?x a foo:Bar }", data_dir=data)
    assert undeclared.returncode == 2 and "the prefix 'foo:' is not declared" in undeclared.stderr
    empty = run("sparql", "", data_dir=data)
    assert empty.returncode == 2 and "the query is empty" in empty.stderr
    graph_as_xml = run("sparql", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1", "-f", "xml", data_dir=data)
    assert "whose answer is a graph: use table, turtle, ntriples" in " ".join(graph_as_xml.stderr.split())
    for fmt in ("json", "xml", "csv"):
        answered = run("sparql", COUNT_OBLIGATIONS, "-f", fmt, data_dir=data)
        assert answered.returncode == 0 and answered.stdout.endswith("\n"), fmt


def test_an_empty_data_dir_variable_is_as_if_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBLIGRAPH_DATA_DIR", "")
    assert Settings().data_dir == default_data_dir()

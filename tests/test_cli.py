"""The ``obligraph`` command as a user runs it: a real process, a real data directory, real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from SPARQLWrapper import CSV, JSON, SPARQLWrapper

from tests.support.oxigraph_server import free_port

OBLIGRAPH = str(Path(sys.executable).parent / "obligraph")
COUNT_OBLIGATIONS = (
    "PREFIX og: <https://w3id.org/obligraph/ontology#> SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?o a og:Obligation }"
)


def run(*args: str, data_dir: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [OBLIGRAPH, *(["--data-dir", str(data_dir)] if data_dir else []), *args]
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
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
    query = (
        "PREFIX og: <https://w3id.org/obligraph/ontology#> "
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        "SELECT ?id WHERE { ?o a og:Obligation ; skos:notation ?id "
        'FILTER(STRSTARTS(?id, "GAI-1")) } ORDER BY ?id'
    )
    result = run("sparql", "-", data_dir=built_data_dir, stdin=query)
    assert result.returncode == 0, result.stderr
    for obligation_id in ("GAI-10", "GAI-11", "GAI-12"):
        assert obligation_id in result.stdout
    assert "3 rows" in result.stderr


def test_malformed_query_is_a_message_not_a_traceback(built_data_dir: Path) -> None:
    result = run("sparql", "SELEC ?x WHERE { ?x ?p ?o }", data_dir=built_data_dir)
    assert result.returncode == 2
    assert "malformed query" in result.stderr
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


@pytest.fixture(scope="module")
def served(built_data_dir: Path) -> Iterator[str]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGRAPH_")}
    env["OBLIGRAPH_DATA_DIR"] = str(built_data_dir)
    process = subprocess.Popen(
        [OBLIGRAPH, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
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


def test_served_endpoint_counts_77_obligations(served: str) -> None:
    client = SPARQLWrapper(f"{served}/sparql")
    client.setQuery(COUNT_OBLIGATIONS)
    client.setReturnFormat(JSON)
    bindings = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert bindings[0]["n"]["value"] == "77"
    client.setReturnFormat(CSV)
    assert client.queryAndConvert().decode().split() == ["n", "77"]  # type: ignore[union-attr]


def test_a_second_process_cannot_take_the_data_directory(served: str, built_data_dir: Path) -> None:
    result = run("info", data_dir=built_data_dir)
    assert result.returncode == 2
    assert "in use by another obligraph process" in result.stderr

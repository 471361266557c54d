"""``docker-compose.yml`` and the ``Dockerfile``, checked without a Docker engine (there is none here).

The file is parsed as YAML and held against the code it runs: every ``OBLIGRAPH_*`` variable names a settings
field and validates, every command is a real ``obligraph`` command with real options, the worker reaches the
Kafka service's internal listener and the store the Oxigraph service, and the image carries every package.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from obligraph.cli import app
from obligraph.settings import Settings

ROOT = Path(__file__).parent.parent
OBLIGRAPH_SERVICES = ("build-graph", "api", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def interpolated(value: object) -> str:
    """What Compose makes of ``${NAME:-default}`` with nothing set in the environment."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environments are written as mappings"
    return {name: interpolated(value) for name, value in env.items()}


def test_the_stack_has_kafka_oxigraph_and_obligraph_services(services: dict[str, Any]) -> None:
    assert set(services) == {"kafka", "oxigraph", *OBLIGRAPH_SERVICES}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["oxigraph"]["image"].startswith("ghcr.io/oxigraph/oxigraph:")
    for name in OBLIGRAPH_SERVICES:
        assert services[name]["build"] == "." and services[name]["image"] == "obligraph:local"


def test_kafka_runs_kraft_on_one_node_with_an_internal_and_a_host_listener(services: dict[str, Any]) -> None:
    env = environment(services["kafka"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in name for name in env)
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:29093"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"]), "a KRaft cluster id is a base64 UUID"
    advertised = dict(item.split("://") for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    assert advertised == {"INTERNAL": "kafka:19092", "HOST": "localhost:9092"}
    assert "9092:9092" in services["kafka"]["ports"]


def test_oxigraph_serves_its_union_default_graph_which_the_remote_store_needs(services: dict[str, Any]) -> None:
    command = services["oxigraph"]["command"]
    assert command[0] == "serve" and "--union-default-graph" in command
    assert command[command.index("--bind") + 1] == "0.0.0.0:7878"


@pytest.mark.parametrize("name", OBLIGRAPH_SERVICES)
def test_every_obligraph_variable_is_a_setting_and_validates(services: dict[str, Any], name: str) -> None:
    env = environment(services[name])
    fields = {}
    for variable, value in env.items():
        assert variable.startswith("OBLIGRAPH_"), variable
        field = variable.removeprefix("OBLIGRAPH_").lower()
        assert field in Settings.model_fields, f"{variable} is not a setting (obligraph/settings.py)"
        fields[field] = value
    settings = Settings.model_validate(fields)
    assert settings.store == "remote" and settings.remote_url == "http://oxigraph:7878"


@pytest.mark.parametrize("name", OBLIGRAPH_SERVICES)
def test_every_obligraph_command_is_a_real_command_with_real_options(services: dict[str, Any], name: str) -> None:
    command = services[name]["command"]
    registered = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert command[0] in registered, f"obligraph has no command {command[0]!r}"
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_the_worker_reaches_kafka_inside_the_network_and_starts_after_the_graph_is_built(
    services: dict[str, Any],
) -> None:
    worker = services["worker"]
    assert environment(worker)["OBLIGRAPH_KAFKA_BOOTSTRAP"] == "kafka:19092"
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["build-graph"]["condition"] == "service_completed_successfully"
    api = environment(services["api"])
    assert api["OBLIGRAPH_HOST"] == "0.0.0.0" and f"{api['OBLIGRAPH_PORT']}:8000" in services["api"]["ports"]


def test_workers_can_be_scaled_without_colliding_on_a_host_port(services: dict[str, Any]) -> None:
    """``docker compose up --scale worker=3`` (README) starts three workers only if none binds a fixed host port."""
    worker = services["worker"]
    metrics_port = environment(worker)["OBLIGRAPH_WORKER_METRICS_PORT"]
    assert worker["ports"] == [metrics_port], "the metrics port is published on a host port Docker picks"
    assert "container_name" not in worker


def test_the_image_installs_every_package_with_pip_on_python_3_11_slim() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "pip wheel" in dockerfile and "pip install" in dockerfile
    assert 'ENTRYPOINT ["obligraph"]' in dockerfile
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for top in {package.split(".")[0] for package in packages}:
        assert f"COPY {top}/ {top}/" in dockerfile, f"the image lacks the {top} package"
        assert top not in ignored

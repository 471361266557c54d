"""Settings: the only place that reads the environment (``OBLIGRAPH_*``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/obligraph`` (``~/.local/share/obligraph``): one store per user, not per directory."""
    root = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(root) / "obligraph"


class Settings(BaseSettings):
    """What an operator can set; every field is also an ``OBLIGRAPH_<NAME>`` variable."""

    model_config = SettingsConfigDict(env_prefix="OBLIGRAPH_", frozen=True, extra="ignore", env_ignore_empty=True)
    """An empty variable (``OBLIGRAPH_DATA_DIR=``) is as if unset: the default, not the current directory."""

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(default_factory=default_data_dir)
    store: Literal["oxigraph", "memory", "remote"] = "oxigraph"
    remote_url: str | None = Field(
        default=None,
        description="Base URL of a SPARQL 1.1 server laid out as Oxigraph (/query, /update, /store)",
    )
    remote_query_url: str | None = None
    remote_update_url: str | None = None
    remote_graph_store_url: str | None = None
    remote_timeout_s: float = Field(default=30.0, gt=0)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    sparql_update_token: SecretStr | None = None
    graphql_token: SecretStr | None = Field(
        default=None, description="Bearer token /graphql requires; without one it answers local clients only"
    )
    sparql_token: SecretStr | None = Field(
        default=None, description="Bearer token /sparql queries require; without one it answers local clients only"
    )
    events_token: SecretStr | None = Field(
        default=None, description="Bearer token POST /events requires; without one it answers local clients only"
    )
    graphql_timeout_s: float = Field(
        default=30.0, gt=0, description="How long one GraphQL query may run before it is answered 503 and stopped"
    )
    sparql_timeout_s: float = Field(default=30.0, gt=0)
    sparql_result_cap: int = Field(default=10_000, ge=1)
    sparql_allow_service: bool = Field(
        default=False,
        description="Let /sparql queries federate (SERVICE) and updates LOAD: the server calls the hosts they name",
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers, HOST:PORT[,…]")
    events_topic: str = "obligraph.events"
    violations_topic: str = "obligraph.violations"
    subscription_source: Literal["pipeline", "kafka"] = Field(
        default="pipeline",
        description="Where `serve` takes the GraphQL violationChanged subscription's changes from: `pipeline` "
        "(its own POST /events and clock, in process) or `kafka` (that too, plus the violations topic, which "
        "carries the changes of `obligraph worker` processes)",
    )
    dead_letter_topic: str = "obligraph.events.dlq"
    consumer_group: str = "obligraph"
    worker_batch_size: int = Field(default=500, ge=1, le=10_000)
    worker_max_wait_ms: int = Field(default=200, ge=1, le=60_000)
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    worker_metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Where `worker` serves Prometheus metrics on `host` (none: off)"
    )
    clock_interval_s: float = Field(
        default=3600.0, ge=0, description="How often `serve` re-validates everyone as of today (0: never)"
    )
    compact_daily: bool = Field(
        default=True, description="`serve` compacts the embedded store after the first clock pass of each day"
    )
    worker_clock: bool = Field(
        default=False,
        description="`worker` runs the clock as `serve` does (`clock_interval_s`, `compact_daily`) and publishes its "
        "changes: for an embedded store, which no `serve` can open while the worker owns it",
    )

    @model_validator(mode="after")
    def _refuse_weak_secrets_in_production(self) -> Settings:
        for name in _TOKENS:
            secret: SecretStr | None = getattr(self, name)
            token = secret.get_secret_value() if secret is not None else None
            if token is not None and (not token or not token.isascii() or any(c.isspace() for c in token)):
                # a token read from a file with its newline could never be sent, nor one with spaces as a header,
                # nor one beyond ASCII (the server reads headers as Latin-1)
                raise ValueError(f"OBLIGRAPH_{name.upper()} must be ASCII without spaces or line breaks")
            if self.environment == "production" and token is not None and len(token) < 24:
                raise ValueError(f"OBLIGRAPH_{name.upper()} must be at least 24 characters in production")
        return self


_TOKENS: Final = ("sparql_update_token", "graphql_token", "sparql_token", "events_token")
"""The settings that hold bearer tokens."""

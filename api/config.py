"""What the app is given (a store and the endpoint's limits) and how handlers reach it.

Both live on ``app.state``; handlers take them through the ``Annotated`` aliases below, so tests and later
routers (GraphQL, /events) get them the same way and nothing reads the environment here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from api.access import RouteAccess, token_accepted
from kg.store import Store


@dataclass(frozen=True)
class SparqlEndpointConfig:
    """``update_token=None`` disables SPARQL Update over HTTP altogether; ``allow_service`` lets queries federate
    (``SERVICE``) and updates ``LOAD``: this server then calls the hosts they name (``api.federation``).
    ``queries``: who may query (and open the page); by default clients on this machine (``api.access``)."""

    update_token: str | None
    query_timeout_s: float = 30.0
    result_cap: int = 10_000
    allow_service: bool = False
    queries: RouteAccess = field(default_factory=lambda: sparql_access(None))

    def __repr__(self) -> str:
        token = "None" if self.update_token is None else "'***'"
        return (
            f"SparqlEndpointConfig(update_token={token}, query_timeout_s={self.query_timeout_s}, "
            f"result_cap={self.result_cap}, allow_service={self.allow_service}, queries={self.queries!r})"
        )


def sparql_access(token: str | None) -> RouteAccess:
    return RouteAccess("/sparql", "OBLIGRAPH_SPARQL_TOKEN", token)


def events_access(token: str | None) -> RouteAccess:
    return RouteAccess("POST /events", "OBLIGRAPH_EVENTS_TOKEN", token)


@dataclass(frozen=True)
class GraphQLAccess:
    """Who may use ``/graphql`` and for how long. ``token=None``: open to loopback clients only; else the bearer
    token is required from everyone. An HTTP operation running past ``operation_timeout_s`` is answered 503 and
    stopped (``api.graphql.router``); subscriptions are not timed."""

    token: str | None = None
    operation_timeout_s: float = 30.0

    def __repr__(self) -> str:
        token = "None" if self.token is None else repr("***")
        return f"GraphQLAccess(token={token}, operation_timeout_s={self.operation_timeout_s})"

    def accepts(self, authorization: str | None) -> bool:
        return self.token is not None and token_accepted(self.token, authorization)


async def get_store(request: Request) -> Store:
    """Async, so resolving it takes no thread of the shared pool (``/health`` answers while every one is busy)."""
    store: Store = request.app.state.store
    return store


async def get_config(request: Request) -> SparqlEndpointConfig:
    config: SparqlEndpointConfig = request.app.state.config
    return config


StoreDep = Annotated[Store, Depends(get_store)]
ConfigDep = Annotated[SparqlEndpointConfig, Depends(get_config)]

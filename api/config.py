"""What the app is given (a store and the endpoint's limits) and how handlers reach it.

Both live on ``app.state``; handlers take them through the ``Annotated`` aliases below, so tests and later
routers (GraphQL, /events) get them the same way and nothing reads the environment here.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kg.store import Store


@dataclass(frozen=True)
class SparqlEndpointConfig:
    """``update_token=None`` disables SPARQL Update over HTTP altogether; ``allow_service`` lets queries federate
    (``SERVICE``) and updates ``LOAD``: this server then calls the hosts they name (``api.federation``)."""

    update_token: str | None
    query_timeout_s: float = 30.0
    result_cap: int = 10_000
    allow_service: bool = False

    def __repr__(self) -> str:
        token = "None" if self.update_token is None else "'***'"
        return (
            f"SparqlEndpointConfig(update_token={token}, query_timeout_s={self.query_timeout_s}, "
            f"result_cap={self.result_cap}, allow_service={self.allow_service})"
        )


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
        if self.token is None or authorization is None:
            return False
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())


async def get_store(request: Request) -> Store:
    """Async, so resolving it takes no thread of the shared pool (``/health`` answers while every one is busy)."""
    store: Store = request.app.state.store
    return store


async def get_config(request: Request) -> SparqlEndpointConfig:
    config: SparqlEndpointConfig = request.app.state.config
    return config


StoreDep = Annotated[Store, Depends(get_store)]
ConfigDep = Annotated[SparqlEndpointConfig, Depends(get_config)]

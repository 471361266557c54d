"""A real GraphQL client (``gql``) against a live server: HTTP for queries, graphql-transport-ws for subscriptions."""

from __future__ import annotations

from typing import Any

from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXTransport
from gql.transport.websockets import WebsocketsTransport


def http_client(base_url: str, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return Client(transport=HTTPXTransport(url=f"{base_url}/graphql", headers=headers, timeout=30))


def run(base_url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
    """Execute one query or mutation synchronously; GraphQL errors raise ``TransportQueryError``."""
    with http_client(base_url, token) as session:
        return session.execute(GraphQLRequest(query, variable_values=variables))


def ws_transport(base_url: str, *, init_payload: dict[str, Any] | None = None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=base_url.replace("http://", "ws://") + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=init_payload,
    )

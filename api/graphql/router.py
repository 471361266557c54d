"""``/graphql``: the strawberry router, its per-request context, and who may use it.

Access: with no token configured the API answers clients on this machine only (loopback addresses), which
is what the default bind address (127.0.0.1) serves anyway; with ``OBLIGRAPH_GRAPHQL_TOKEN`` set, every
request needs ``Authorization: Bearer <token>``. A WebSocket may send the header, or, since browsers cannot,
``{"Authorization": "Bearer <token>"}`` as the ``connection_init`` payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import HTTPException, WebSocket, WebSocketException, status
from graphql import GraphQLError, OperationDefinitionNode, OperationType, get_operation_ast, parse
from starlette.requests import HTTPConnection, Request
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.types import ExecutionResult

from api.access import is_loopback
from api.config import GraphQLAccess
from api.graphql.context import Context
from api.graphql.loaders import Loaders, OperationTimeoutError, in_own_thread
from api.graphql.schema import schema
from api.graphql.subscription import ChangeHub
from kg.store import Store


class _Router(GraphQLRouter[Context, None]):
    def encode_json(self, data: object) -> str:
        """An answer or a WebSocket message as JSON, written by orjson: this runs on the server's event loop, and
        a dashboard's answer (~65 kB) takes json.dumps 1.3 ms, orjson 0.06 ms (measured). Text, not bytes: the
        WebSocket protocols send bytes as a binary frame, which GraphQL clients refuse."""
        return orjson.dumps(data).decode()

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: Any,
    ) -> ExecutionResult:
        """An HTTP operation runs whole in a worker thread of its own, its store reads inline (``loaders``).

        Past the time limit it answers 503 with a ``TIMEOUT`` error at once, and the operation stops after the
        read under way (``in_own_thread``)."""
        refused = _refused_operation(request_data.query, request_data.operation_name)
        if refused is not None:
            sub_response.status_code = status.HTTP_400_BAD_REQUEST
            errors = [GraphQLError(refused, extensions={"code": "BAD_REQUEST"})]
            schema.process_errors(errors)  # logged as every refused request is: at debug level
            return ExecutionResult(data=None, errors=errors)
        parent = super().execute_single
        limit = context.access.operation_timeout_s
        try:
            result = await in_own_thread(
                lambda: parent(
                    request=request,
                    request_adapter=request_adapter,
                    sub_response=sub_response,
                    context=context,
                    root_value=root_value,
                    request_data=request_data,
                ),
                timeout_s=limit,
            )
        except OperationTimeoutError:
            sub_response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            message = (
                f"the operation did not finish within this server's limit of {limit:g} s "
                "(OBLIGRAPH_GRAPHQL_TIMEOUT_S); narrow it: a filter, a smaller page, fewer fields"
            )
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": "TIMEOUT"})])
        context.loaders.release()  # not on a timeout: the abandoned operation may still be reading with them
        return result

    async def on_ws_connect(self, context: Context) -> None:
        """A WebSocket without an Authorization header must carry the token in ``connection_init``."""
        if not context.token_pending:
            return
        params = context.connection_params if isinstance(context.connection_params, Mapping) else {}
        given = params.get("Authorization") or params.get("authorization")
        if not context.access.accepts(given if isinstance(given, str) else None):
            raise ConnectionRejectionError({"reason": "a valid bearer token is required"})


def _refused_operation(query: str | None, operation_name: str | None) -> str | None:
    """Why an HTTP request's operation cannot run, where strawberry would answer it obscurely: a subscription (it
    answered "Cannot return null for non-nullable field" and logged a traceback), or several operations with no
    ``operationName`` (it ran the first). Parsed only when the text could be either; a document that does not parse
    is left to strawberry's own message."""
    if not query or ("subscription" not in query and query.count("query") + query.count("mutation") < 2):
        return None
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) > 1 and operation_name is None:
        names = ", ".join(o.name.value if o.name else "(anonymous)" for o in operations)
        return f"the document has {len(operations)} operations ({names}): say which to run with operationName"
    chosen = get_operation_ast(document, operation_name)
    if chosen is not None and chosen.operation is OperationType.SUBSCRIPTION:
        return (
            "a subscription runs over a WebSocket: connect to /graphql with the graphql-transport-ws protocol "
            "(GraphiQL and gql do); over HTTP, ask with a query"
        )
    return None


def _asks_for_the_ide(connection: HTTPConnection) -> bool:
    """A browser opening GraphiQL: a GET for HTML with no operation. The page holds no data, and a browser cannot
    add a header to it; the queries it sends carry the token (GraphiQL's Headers tab)."""
    return (
        isinstance(connection, Request)
        and connection.method in ("GET", "HEAD")
        and "query" not in connection.query_params
        and "text/html" in connection.headers.get("accept", "")
    )


def graphql_router(store: Store, hub: ChangeHub, access: GraphQLAccess) -> GraphQLRouter[Context, None]:
    """The router the app factory mounts; one ``Context`` (with fresh loaders) per request."""

    def context(connection: HTTPConnection) -> Context:
        websocket = isinstance(connection, WebSocket)
        authorization = connection.headers.get("authorization")
        pending = False
        if access.token is None:
            if not is_loopback(connection):
                message = "GraphQL answers only local clients unless OBLIGRAPH_GRAPHQL_TOKEN is set"
                if websocket:
                    raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=message)
                raise HTTPException(status.HTTP_403_FORBIDDEN, message)
        elif not access.accepts(authorization) and not _asks_for_the_ide(connection):
            if websocket and authorization is None:
                pending = True
            elif websocket:
                raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="invalid bearer token")
            else:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED,
                    "a valid bearer token is required",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return Context(store, hub, Loaders(store, cache=not websocket), access, token_pending=pending)

    return _Router(schema, context_getter=context, graphql_ide="graphiql")

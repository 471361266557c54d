"""405 answers that name every method the path takes.

FastAPI answers a method a path does not take from the first route whose path matched, so ``PUT /sparql`` said
``Allow: GET`` although ``POST`` runs queries and updates there (RFC 9110 §15.5.6: the server MUST list the
methods the target supports). Here the list is every route's for that path.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

PLAIN_TEXT_PATHS = frozenset({"/sparql"})
"""Paths whose errors are plain text (the SPARQL protocol's), not FastAPI's JSON."""


METHODS: Final = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods some route of ``app`` takes at the request's path (each method tried on the app's routes, as
    routing would: included routers answer for their own routes)."""
    return [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in app.routes)
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _method_not_allowed(request: Request, error: HTTPException) -> Response:
        if error.status_code != 405:
            return await http_exception_handler(request, error)
        allow = ", ".join(allowed_methods(app, request.scope))
        if request.url.path in PLAIN_TEXT_PATHS:
            message = f"{request.method} is not supported here; use {allow}\n"
            return Response(message, status_code=405, media_type="text/plain", headers={"Allow": allow})
        answer = await http_exception_handler(request, error)
        answer.headers["Allow"] = allow
        return answer

"""Who may use a route that reads or writes organisation data: one rule for ``/graphql``, ``/sparql`` and ``/events``.

With no token configured for it, a route answers clients on this machine only (loopback addresses), which is what
the default bind address (127.0.0.1) serves anyway; with a token, every request needs ``Authorization: Bearer
<token>``, or, from a browser that cannot add a header to a page it opens, HTTP Basic with the token as the
password (the browser asks for it). ``/health`` and ``/metrics`` hold no organisation data and stay open.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from dataclasses import dataclass

from starlette.requests import HTTPConnection

CHALLENGE = 'Bearer realm="obligraph", Basic realm="obligraph"'
"""What a 401 asks for: a bearer token, or (a browser's prompt) the token as a Basic password."""


def is_loopback(connection: HTTPConnection) -> bool:
    host = connection.client.host if connection.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in {"localhost", "testclient"}


def token_accepted(token: str, authorization: str | None) -> bool:
    """Whether ``Authorization`` carries ``token``: as a bearer token, or as the password of HTTP Basic."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            given = base64.b64decode(given.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": CHALLENGE} if self.status == 401 else {}


@dataclass(frozen=True)
class RouteAccess:
    """The rule for one route: ``token`` (None: loopback clients only), and the setting that sets it."""

    route: str
    setting: str
    token: str | None = None

    def __repr__(self) -> str:
        token = "None" if self.token is None else "'***'"
        return f"RouteAccess(route={self.route!r}, setting={self.setting!r}, token={token})"

    def refusal(self, connection: HTTPConnection) -> Refusal | None:
        """Why the request may not use the route, or None when it may."""
        if self.token is None:
            if is_loopback(connection):
                return None
            return Refusal(403, f"{self.route} answers only clients on this machine unless {self.setting} is set")
        if token_accepted(self.token, connection.headers.get("authorization")):
            return None
        return Refusal(401, f"{self.route} needs Authorization: Bearer <the token {self.setting} sets>")

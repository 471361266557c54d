"""The server's socket, bound before anything else starts.

``serve`` binds its address first, so a port already taken fails at once with one clear line, before the store's
recovery, the clock's first pass or the "serving on" line (uvicorn would bind only after all of them)."""

from __future__ import annotations

import socket


class AddressUnavailableError(OSError):
    """The address cannot be listened on; the message says which and why."""


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv6 when the host is an IPv6 address), ready for uvicorn to listen."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart reuses TIME_WAIT ports
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        raise AddressUnavailableError(f"cannot listen on {host}:{port}: {reason.lower()}") from None
    sock.set_inheritable(True)
    return sock

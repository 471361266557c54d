"""Serve an ASGI app for real on 127.0.0.1, so tests speak HTTP as clients do (SPARQL, GraphQL, /events)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn


@contextmanager
def live_server(app: Any, *, ready_path: str = "/", timeout_s: float = 10.0) -> Iterator[str]:
    """Run ``app`` under uvicorn in a background thread on a free port; yield its base URL; stop it.

    The socket is bound before uvicorn starts, so the port cannot be taken in between. Ready means the
    server answers an HTTP request on ``ready_path`` (any status counts).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only then
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="auto", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(base_url + ready_path, thread, timeout_s)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)
        sock.close()


def _wait_until_answering(url: str, thread: threading.Thread, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the server for {url} stopped while starting (see the log above)")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.02)
    raise RuntimeError(f"the server for {url} did not answer within {timeout_s} s")

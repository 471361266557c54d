"""Untrusted SPARQL text is parsed and planned first in a throw-away process.

pyoxigraph's parser recurses, and a short query can overflow its stack: ~12 KB of nested parentheses, a few
hundred nested collections or a path of a thousand steps stops the whole process (SIGSEGV: no exception, no log;
measured on pyoxigraph 0.5.13). Its planner is super-linear in the triple patterns of a group (100 patterns
0.45 s, 200 patterns 7.4 s), and that step cannot be interrupted. An endpoint open to anyone therefore lets a
sentinel process (spawned, holding an empty in-memory store) parse, plan and start each query or update first:
if the sentinel dies, the text is refused; if it takes longer than the endpoint allows, the sentinel is killed
and the text refused; only text that survived reaches the store. The sentinel parses on a thread with half the
stack the server's threads have, so what passes there has room to spare in the server. A query costs one more
parse and plan (a few milliseconds) and a round trip to the sentinel.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Final, Literal

import pyoxigraph as ox

__all__ = ["QueryRefusedError", "QueryScreen", "ScreenTimeoutError"]

SENTINEL_STACK_BYTES: Final = 4 * 1024 * 1024
"""The sentinel's parsing thread: half the 8 MiB Linux gives a thread by default (``ulimit -s``)."""
_IDLE_KEPT: Final = 2
"""Sentinels kept for the next request (a request screened while all are busy starts another)."""
_START_S: Final = 60.0
"""How long a sentinel may take to start (an interpreter and pyoxigraph: 49 ms measured on an idle machine)."""

Kind = Literal["query", "update"]


class QueryRefusedError(ValueError):
    """The text stops the SPARQL parser (the sentinel died on it)."""


class ScreenTimeoutError(TimeoutError):
    """The text was not parsed and planned within the time allowed."""


@dataclass(frozen=True)
class _Request:
    text: str
    kind: Kind
    prefixes: Mapping[str, str]


def _serve(connection: Connection) -> None:
    """The sentinel's loop: parse, plan and start each text on an empty store; answer "ok" (a syntax error is
    "ok" too: the store reports it with its position, as it would have)."""
    threading.stack_size(SENTINEL_STACK_BYTES)
    connection.send("ready")
    while True:
        try:
            request: _Request = connection.recv()
        except EOFError:
            return
        worker = threading.Thread(target=_try, args=(request,), daemon=True)
        worker.start()
        worker.join()  # a text that overflows the stack ends the process here, and the server sees the pipe close
        connection.send("ok")


def _try(request: _Request) -> None:
    store = ox.Store()
    with contextlib.suppress(Exception):  # any error is the store's to report again, with its message
        if request.kind == "update":
            store.update(request.text)
        else:
            result = store.query(request.text, prefixes=dict(request.prefixes) or None)
            if isinstance(result, ox.QuerySolutions | ox.QueryTriples):
                next(iter(result), None)  # the first row: the evaluation starts


class _Sentinel:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # never a fork of the server, its store and threads
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), name="sparql-screen", daemon=True)
        self.process.start()
        child.close()
        if not self.connection.poll(_START_S) or self.connection.recv() != "ready":
            self.stop()
            raise RuntimeError(f"the SPARQL screen's sentinel process did not start within {_START_S:g} s")

    def ask(self, request: _Request, timeout_s: float) -> str | None:
        """The sentinel's answer, or None when it died or did not answer in time (then it is stopped)."""
        try:
            self.connection.send(request)
            if self.connection.poll(timeout_s):
                return str(self.connection.recv())
        except (EOFError, OSError):
            pass
        self.stop()
        return None

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
            self.connection.close()


class QueryScreen:
    """Sentinels for one server; thread-safe."""

    def __init__(self) -> None:
        self._idle: list[_Sentinel] = []
        self._lock = threading.Lock()

    def screen(self, text: str, kind: Kind, *, timeout_s: float, prefixes: Mapping[str, str] | None = None) -> None:
        """Return if ``text`` can be parsed and planned safely; raise ``QueryRefusedError`` if it stops the
        parser, ``ScreenTimeoutError`` if it was not planned within ``timeout_s`` (a sentinel's start is not
        counted)."""
        with self._sentinel() as sentinel:
            started = time.monotonic()
            answer = sentinel.ask(_Request(text, kind, dict(prefixes or {})), timeout_s)
        if answer is not None:
            return
        if time.monotonic() - started >= timeout_s:
            raise ScreenTimeoutError(f"the {kind} was not parsed and planned within {timeout_s:g} s")
        raise QueryRefusedError(
            f"the {kind} is nested or repeated too deeply for the SPARQL parser (a trial parse of it crashed); "
            "split it, or use fewer levels of brackets, path steps or triple patterns in one group"
        )

    @contextlib.contextmanager
    def _sentinel(self) -> Iterator[_Sentinel]:
        with self._lock:
            sentinel = self._idle.pop() if self._idle else None
        if sentinel is None or not sentinel.alive():
            sentinel = _Sentinel()
        try:
            yield sentinel
        finally:
            with self._lock:
                if sentinel.alive() and len(self._idle) < _IDLE_KEPT:
                    self._idle.append(sentinel)
                else:
                    sentinel.stop()

    def close(self) -> None:
        """Stop the idle sentinels (each also exits when the server does: its pipe closes)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for sentinel in idle:
            sentinel.stop()

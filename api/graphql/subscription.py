"""``violationChanged``: violation changes pushed to dashboards over WebSocket (graphql-transport-ws).

The pipeline calls its listeners from whatever thread committed the change (the HTTP threadpool, the
clock, a worker). ``ChangeHub.publish`` never blocks that thread: it hands each batch to every subscriber's
event loop with ``call_soon_threadsafe``, and the subscriber's queue is filled there. A subscriber that falls
more than ``capacity`` changes behind is told so and its subscription ends, rather than growing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import threading
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

import strawberry
from graphql import GraphQLError

from api.graphql.catalog_types import Lang, Obligation
from api.graphql.compliance_types import Violation, violations_by_iri
from api.graphql.context import Info
from kg import iris
from kg.nodes import label_in
from kg.violations import ViolationChange, violation_iri

CAPACITY: Final = 1_000
ORGANISATION_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What an organisation id can be (``shared/spec/events.md``, Identifiers)."""


class SubscriberLaggingError(RuntimeError):
    """The subscriber did not keep up; it should re-read the state and subscribe again."""


_LAGGING: Final = object()


@dataclass(eq=False)
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    organisation: str | None
    queue: asyncio.Queue[object] = field(default_factory=lambda: asyncio.Queue(CAPACITY + 1))

    def offer(self, changes: Sequence[ViolationChange]) -> None:
        """Runs in the subscriber's loop."""
        for change in changes:
            if self.organisation is not None and change.organisation != self.organisation:
                continue
            if self.queue.qsize() >= CAPACITY:
                with contextlib.suppress(asyncio.QueueFull):
                    self.queue.put_nowait(_LAGGING)
                return
            self.queue.put_nowait(change)


class ChangeHub:
    """Fans the pipeline's violation changes out to the subscriptions of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[_Subscriber] = set()

    def publish(self, changes: Sequence[ViolationChange]) -> None:
        """A ``Pipeline.listeners`` callback: safe from any thread, never blocks."""
        if not changes:
            return
        batch = tuple(changes)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber.loop.call_soon_threadsafe(subscriber.offer, batch)
            except RuntimeError:  # its loop is closed: the connection is gone
                self._remove(subscriber)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def _remove(self, subscriber: _Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    async def changes(self, organisation: str | None) -> AsyncGenerator[ViolationChange, None]:
        """The changes (of one organisation, or all) from now on, until the consumer stops."""
        subscriber = _Subscriber(asyncio.get_running_loop(), organisation)
        with self._lock:
            self._subscribers.add(subscriber)
        try:
            while True:
                item = await subscriber.queue.get()
                if item is _LAGGING:
                    raise SubscriberLaggingError(f"more than {CAPACITY} changes behind; re-read and subscribe again")
                assert isinstance(item, ViolationChange)
                yield item
        finally:
            self._remove(subscriber)


@strawberry.enum
class ChangeKind(Enum):
    OPENED = "opened"
    RESOLVED = "resolved"


@strawberry.type(description="A violation opened or resolved (the violation.opened / violation.resolved CloudEvent).")
class ViolationChanged:
    change: strawberry.Private[ViolationChange]

    @strawberry.field(description="The CloudEvent id: (violation, episode, kind); de-duplicate on it.")
    def event_id(self) -> str:
        return str(self.change.to_cloudevent()["id"])

    @strawberry.field
    def kind(self) -> ChangeKind:
        return ChangeKind(self.change.kind)

    @strawberry.field
    def violation_id(self) -> strawberry.ID:
        return strawberry.ID(self.change.violation_id)

    @strawberry.field
    def episode(self) -> int:
        return self.change.episode

    @strawberry.field
    def organisation_id(self) -> str:
        return self.change.organisation

    @strawberry.field
    def obligation_id(self) -> str:
        return self.change.obligation

    @strawberry.field
    def focus_node(self) -> str:
        return self.change.focus_node

    @strawberry.field(description="What is wrong, citing the article.")
    async def message(self, info: Info, lang: Lang = Lang.EN) -> str | None:
        if lang is Lang.EN:
            return self.change.message  # as published; other languages are read from the stored violation
        record = await info.context.loaders.violations.load(self._violation_iri)
        return label_in(record.messages, lang.value) if record else self.change.message

    @property
    def _violation_iri(self) -> str:
        return violation_iri(self.change.violation_id)

    @strawberry.field
    def severity(self) -> str:
        return self.change.severity

    @strawberry.field
    def at(self) -> dt.datetime:
        return self.change.at

    @strawberry.field(description="The event id that caused it, or `clock`.")
    def by(self) -> str:
        return self.change.by

    @strawberry.field(description="The violation as stored now, with history and trace.")
    async def violation(self, info: Info) -> Violation | None:
        return (await violations_by_iri(info, [self._violation_iri]))[0]

    @strawberry.field
    async def obligation(self, info: Info) -> Obligation | None:
        return (await info.context.loaders.catalogue()).obligation(str(iris.obligation(self.change.obligation)))


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Violation changes of one organisation (or of all, without an id). An organisation not yet "
        "registered may be subscribed to; an id no organisation can have (events.md: 1–64 of A-Z a-z 0-9 . _ -) "
        "is an error."
    )
    async def violation_changed(
        self, info: Info, organisation: strawberry.ID | None = None
    ) -> AsyncGenerator[ViolationChanged, None]:
        if organisation is not None and not ORGANISATION_ID.fullmatch(str(organisation)):
            raise GraphQLError(  # the client's mistake, not a fault: not logged with a traceback
                f"organisation: {str(organisation)[:80]!r} cannot be an organisation id "
                "(1 to 64 characters of A-Z a-z 0-9 . _ -)"
            )
        async for change in info.context.hub.changes(str(organisation) if organisation is not None else None):
            yield ViolationChanged(change=change)

"""Group commit: concurrent callers' batches applied and validated as one pipeline batch.

The pipeline takes one batch at a time, and a batch of one event costs nearly what a batch of fifty does (the
checks are one query per shape for the whole batch). So when many clients each send an event over HTTP, the events
that arrive while a batch runs wait together and go in the next batch, instead of queueing one by one behind the
lock. A caller still gets all or nothing of its own batch and only its own outcomes and violation changes; calls
that do not overlap are processed as before.

Leader and followers, no thread of its own: every caller queues its request and then waits for the pipeline's lock;
whoever gets it takes every request still queued (up to ``max_events``), checks each on its own (a request with a
rejected event is answered with the rejections and nothing of it is applied), processes the rest as one batch and
answers them all. A caller whose request someone else answered returns without taking the lock again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from kg.events import Event
from kg.organisations import Outcome
from kg.pipeline import BatchResult, Pipeline
from kg.violations import ViolationChange

MAX_EVENTS: Final = 500
"""Events per group at most: the pipeline's validation chunk, beyond which a batch gains nothing per event."""


@dataclass
class _Request:
    events: Sequence[Event]
    answered: threading.Event = field(default_factory=threading.Event)
    result: BatchResult | None = None
    error: BaseException | None = None


class GroupCommit:
    """``process(events)`` as ``Pipeline.process(events, all_or_nothing=True)``, with overlapping calls grouped."""

    def __init__(self, pipeline: Pipeline, *, max_events: int = MAX_EVENTS) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self.pipeline = pipeline
        self.max_events = max_events
        self._queue: list[_Request] = []
        self._queue_lock = threading.Lock()
        self.groups = 0
        """Pipeline batches run so far (for tests and metrics: fewer than calls when calls were grouped)."""

    @property
    def waiting(self) -> int:
        """Requests queued and not yet taken into a group."""
        with self._queue_lock:
            return len(self._queue)

    def process(self, events: Sequence[Event]) -> BatchResult:
        """Apply and validate ``events`` all or nothing, possibly in one pipeline batch with other callers'."""
        request = _Request(list(events))
        with self._queue_lock:
            self._queue.append(request)
        while not request.answered.is_set():
            with self.pipeline.lock:
                if not request.answered.is_set():
                    self._run(self._take())
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _take(self) -> list[_Request]:
        """The queued requests, oldest first, up to ``max_events`` events (always at least one request)."""
        with self._queue_lock:
            taken: list[_Request] = []
            size = 0
            while self._queue and (not taken or size + len(self._queue[0].events) <= self.max_events):
                request = self._queue.pop(0)
                taken.append(request)
                size += len(request.events)
            return taken

    def _run(self, group: list[_Request]) -> None:
        """One pipeline batch for the group's acceptable requests. Every request of the group is answered: with its
        outcomes, or with the error that stopped the batch, which each caller raises in its own thread (as a lone
        call would); when a batch of several fails, each is run again alone, so only the one at fault gets the
        error. A caller running another's group goes on to its own."""
        accepted: list[_Request] = []
        try:
            accepted = self._accepted(group)
            events = [event for request in accepted for event in request.events]
            result = self.pipeline.process(events) if events else BatchResult()
            self.groups += 1
            start = 0
            for request in accepted:
                outcomes = result.outcomes[start : start + len(request.events)]
                start += len(request.events)
                request.result = BatchResult(outcomes, _changes_of(outcomes, result.changes))
        except Exception as error:
            if len(accepted) > 1:  # one request's fault is not its neighbours': each is run again alone
                self._one_by_one(accepted)
            for request in group:
                if request.result is None and request.error is None:
                    request.error = error
        finally:
            for request in group:
                if request.result is None and request.error is None:
                    request.error = RuntimeError("the batch was interrupted")
                request.answered.set()

    def _one_by_one(self, requests: list[_Request]) -> None:
        """Each request in its own pipeline batch, answered with its outcomes or with the error that stopped it (a
        batch that failed changed nothing, or its events are found applied and reported as duplicates)."""
        results: list[tuple[_Request, BatchResult]] = []
        for request in requests:
            try:
                results.append((request, self.pipeline.process(request.events)))
                self.groups += 1
            except Exception as error:
                request.error = error
        # the first batch finishes what the failed group left pending, for every request of it: each gets its own
        every = [change for _, result in results for change in result.changes]
        for request, result in results:
            request.result = BatchResult(result.outcomes, _changes_of(result.outcomes, every))

    def _accepted(self, group: list[_Request]) -> list[_Request]:
        """The requests whose every event would be applied after the requests before them in the group; the others
        are answered with their rejections. Dropping one can make a later one fail (it named a system the dropped
        one deployed), so this repeats until the rest all pass."""
        remaining = list(group)
        while True:
            outcomes = self.pipeline.applier.check([event for request in remaining for event in request.events])
            start, kept = 0, []
            for request in remaining:
                own = outcomes[start : start + len(request.events)]
                start += len(request.events)
                if any(outcome.status == "rejected" for outcome in own):
                    request.result = BatchResult(own)
                    self.pipeline.stats.count_outcomes([outcome for outcome in own if outcome.status == "rejected"])
                else:
                    kept.append(request)
            if len(kept) == len(remaining):
                return kept
            remaining = kept


def _changes_of(outcomes: Sequence[Outcome], changes: Sequence[ViolationChange]) -> list[ViolationChange]:
    """The changes the request's applied events caused (a change names its organisation and its event's id), and
    those the clock made of the same organisations before them (deadlines caught up, ``kg.catch_up``: a batch's
    only clock changes); and those of its repeated events, whose validation a failed batch left to this one
    (``Pipeline._finish_unfinished``)."""
    applied = [outcome.event for outcome in outcomes if outcome.status == "applied"]
    repeated = [outcome.event for outcome in outcomes if outcome.status == "duplicate"]
    own = {(event.subject, event.id) for event in [*applied, *repeated]} | {
        (event.subject, "clock") for event in applied
    }
    return [change for change in changes if (change.organisation, change.by) in own]

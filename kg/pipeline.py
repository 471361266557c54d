"""The validation pipeline every way in shares: apply events, derive roles, validate, record violations.

Two transactions per batch, each safe to repeat:

1. Apply the batch (``kg.organisations``): the graph changes, the applied-event records and a "validation
   pending" mark per touched organisation commit together (plus anything the caller adds, e.g. Kafka
   offsets). From here on the events count as applied; a replay is a no-op.
2. Derive the touched organisations' roles (``kg.roles``), validate them (``kg.validation``) and reconcile
   their violations (``kg.violations``) in a workspace; then commit the role changes, the violation changes
   and the cleared pending marks in one update (per chunk of ``VALIDATION_CHUNK`` organisations).

If the process dies after step 1, the pending marks survive: ``recover()`` (called at start-up) runs step 2
for them, so no organisation is left unvalidated and no violation change is lost.

Each event is judged as of its own time (or, sent late, as of the later moment its organisation was already judged
as of: ``kg.judged_moments``), on its organisation as that event left it: a batch holding several events
of one organisation runs in rounds (``event_rounds``), each with at most one event per organisation, through both
steps. So the violations and their history do not depend on how the events were batched (one at a time, a file's
500, whatever a Kafka poll returned), and a violation that opens and closes between two events of one batch is
recorded. Before a round is applied, the deadlines of its organisations that ran out since their latest judgement
are judged as the clock would have judged them, each the day after (``kg.catch_up``), so a deadline met late by
the event itself still leaves its violation in the history. What the caller adds (``also``) joins the last round's
step 1; if the process dies before that, the replay finds the earlier rounds' events applied (duplicates) and
applies the rest.

A round of at most ``kg.deltas.DELTA_UP_TO`` organisations (one event, a Kafka poll of one or two records, the later
rounds of a batch holding several events of one organisation) is judged by its changes: its organisations are read
before the apply, the workspace is made from that copy and the events' operations, and only the rules and checks
that read what the events changed run again (``kg.deltas``); the stored violations of the other obligations stand.
Larger rounds, the clock and recovery judge in full.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from time import perf_counter
from typing import Final

import pyoxigraph as ox
from rdflib import URIRef

from kg import iris
from kg.catch_up import clock_days_passed
from kg.checks import Check
from kg.clock_passes import record_pass
from kg.deltas import (
    DELTA_UP_TO,
    Before,
    Delta,
    DeltaPlanner,
    as_ntriples,
    read_before,
    record_validated,
)
from kg.events import Event
from kg.iris import Graphs
from kg.judged_moments import judged_moments, record_judged
from kg.organisations import CHINA, Also, EventApplier, Outcome, as_of_date, clear_pending_marks, event_iri
from kg.outbox import outbox_operations
from kg.parallel import QUERIES
from kg.queued_rounds import dequeue_operations, entry, kept_in, new_batch, queue_operations, waiting
from kg.reference_data import cached_reference
from kg.roles import RoleDeriver, RoleRule, by_organisation, role_update, stored_role_digests
from kg.store import Store, StoreError
from kg.validation import Validator
from kg.violations import Cause, StoredViolation, ViolationChange, ViolationLedger
from kg.workspace import Workspace
from ontology.namespaces import OG

log = logging.getLogger("obligraph.pipeline")

META: Final = f"<{Graphs.META}>"
VALIDATION_CHUNK: Final = 500
Listener = Callable[[Sequence[ViolationChange]], None]


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)
    changes: list[ViolationChange] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(outcome.status == "applied" for outcome in self.outcomes)

    @property
    def rejected(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "rejected"]


STEPS: Final = ("apply", "read", "roles", "checks", "reconcile", "write")
"""Where a batch's time goes, in order (``PipelineStats.step_seconds``): apply the events (step 1); copy the
touched organisations into the workspace and read their role digests, violations and judged moments; derive their
roles (and read the stored roles of those whose digest changed); run the obligation checks; reconcile the findings
with the stored violations; write the outcome (and tell the listeners)."""


class StepClock:
    """Adds the time since its previous lap to the named step (one clock per call, on the calling thread)."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self.last = perf_counter()

    def lap(self, step: str) -> None:
        now = perf_counter()
        self.seconds[step] += now - self.last
        self.last = now


@dataclass
class PipelineStats:
    """What the pipeline has done since it started (``kg.metrics`` exports it). Written under the pipeline's lock (the
    event counts under a lock of their own: HTTP counts what it refuses without waiting for a batch); read without
    it (each field is one int or float)."""

    events_applied: int = 0
    events_duplicate: int = 0
    events_rejected: int = 0
    batches: int = 0
    batch_seconds: float = 0.0
    """Time spent in ``process`` (apply and validate), over all batches."""
    organisations_validated: int = 0
    """Organisation validations, by events and by the clock."""
    organisations_validated_by_changes: int = 0
    """Of those, the ones judged only on the obligations their event could change (``kg.deltas``)."""
    violations_opened: int = 0
    violations_resolved: int = 0
    step_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STEPS, 0.0))
    """Time spent in each of ``STEPS``, by events and by the clock: the calling thread's wall time, so a read it
    handed to the query threads counts in the step that waited for it (the stored roles in ``roles``, the stored
    violations in ``reconcile``, when not ready by then)."""
    clock_passes: int = 0
    clock_last_pass_as_of: date | None = None
    """The latest day a complete clock pass was judged as of: this process's passes, or the graph's record when
    ``serve``'s clock read it at start. An alert on its age catches a clock that stopped."""
    _counting: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def saw_clock_pass(self, day: date) -> None:
        if self.clock_last_pass_as_of is None or day > self.clock_last_pass_as_of:
            self.clock_last_pass_as_of = day

    def count_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        with self._counting:
            for outcome in outcomes:
                if outcome.status == "applied":
                    self.events_applied += 1
                elif outcome.status == "duplicate":
                    self.events_duplicate += 1
                else:
                    self.events_rejected += 1

    def count_refused(self, events: int) -> None:
        """Events refused before the pipeline saw them (an HTTP event that breaks the contract): rejected too.
        Callable without the pipeline's lock."""
        with self._counting:
            self.events_rejected += events

    def count_changes(self, changes: Sequence[ViolationChange]) -> None:
        opened = sum(change.kind == "opened" for change in changes)
        self.violations_opened += opened
        self.violations_resolved += len(changes) - opened


def event_rounds(events: Sequence[Event]) -> list[list[int]]:
    """The batch's positions split into rounds with at most one event per organisation, each organisation's events
    in their order (the n-th event of each organisation goes to round n)."""
    seen: dict[str, int] = {}
    rounds: list[list[int]] = []
    for index, event in enumerate(events):
        number = seen.get(event.subject, 0)
        seen[event.subject] = number + 1
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(index)
    return rounds


def _whole_batch(also: Also, done: Mapping[int, Outcome], last: Sequence[int]) -> Also:
    """``also`` for the last round: given the outcomes of the whole batch, in its order."""
    if not callable(also):
        return also

    def with_earlier_rounds(outcomes: Sequence[Outcome]) -> Iterable[str]:
        merged = {**done, **dict(zip(last, outcomes, strict=True))}
        return also([merged[index] for index in sorted(merged)])

    return with_earlier_rounds


def _with(operations: Sequence[str], also: Also) -> Also:
    """``also`` with ``operations`` before it, still a function of the outcomes when it was one."""
    if not operations:
        return also
    if callable(also):
        call = also
        return lambda outcomes: [*operations, *call(outcomes)]
    return [*operations, *also]


def _causes(outcomes: Sequence[Outcome]) -> dict[URIRef, Cause]:
    """Each organisation an applied event touched, with the event (its time is the as-of moment, written in China's
    time: a violation opened by an event sent as 16:30 UTC on 31 December shows the day it opened there, 1 January)."""
    causes: dict[URIRef, Cause] = {}
    for outcome in outcomes:
        if outcome.status == "applied":
            event = outcome.event
            at = event.time.astimezone(CHINA)
            causes[iris.organisation(event.subject)] = Cause(at=at, event=event_iri(event), event_id=event.id)
    return causes


@dataclass(frozen=True)
class Prior:
    """A small round's organisations as read before its apply (``kg.deltas``)."""

    before: Mapping[URIRef, Before]
    violations: Future[dict[URIRef, StoredViolation]]

    def covers(self, organisations: Iterable[URIRef]) -> bool:
        return all(org in self.before for org in organisations)

    def stored_violations(self, organisations: Iterable[URIRef]) -> dict[URIRef, StoredViolation]:
        wanted = set(organisations)
        return {iri: stored for iri, stored in self.violations.result().items() if stored.organisation in wanted}


@dataclass(frozen=True)
class ChunkRead:
    """What step 2 read of a chunk's organisations; the stored violations and role digests when first needed."""

    copied: bytes
    """The organisations' own triples as the workspace holds them, when they were read before the apply (``Prior``);
    empty otherwise."""
    moments: Mapping[URIRef, datetime]
    before: Mapping[URIRef, Before]
    """The organisations as read before the apply, when all were (``Prior``); empty otherwise."""
    violations: Callable[[], dict[URIRef, StoredViolation]]
    role_digests: Callable[[], dict[URIRef, str]]


def _replayed(outcomes: Sequence[Outcome]) -> dict[URIRef, tuple[str, ...]]:
    """The update operations each applied event made on its organisation's own triples."""
    return {iris.organisation(o.event.subject): o.changes for o in outcomes if o.status == "applied"}


def _not_before(cause: Cause, judged: datetime | None) -> Cause:
    """An event dated before the moment its organisation was already judged as of is judged as of that moment
    (``kg.judged_moments``), and so is the clock asked for a day before that moment's day: as of the earlier day it
    would see deadlines since passed as not yet due, resolve their violations before they were opened, and the next
    pass would reopen them. A later moment of the clock's own day judges as the day does, so the clock keeps it."""
    if judged is None or cause.at >= judged:
        return cause
    if cause.event is None and as_of_date(judged) <= as_of_date(cause.at):
        return cause
    return replace(cause, at=judged)


def clock_moment(day: date) -> datetime:
    """The clock validates "as of" a day from its first moment in China."""
    return datetime.combine(day, time.min, tzinfo=CHINA)


class Pipeline:
    """One pipeline per store. Calls are serialised by a lock: one writer, as the steps above require."""

    def __init__(
        self,
        store: Store,
        checks: Sequence[Check],
        rules: Sequence[RoleRule],
        *,
        outbox: bool = False,
        by_changes: bool = True,
        delta_up_to: int = DELTA_UP_TO,
    ) -> None:
        """With ``outbox``, step 3 also writes each change's CloudEvent to the outbox (``kg.outbox``). With
        ``by_changes`` (the default), the organisations of rounds of at most ``delta_up_to`` organisations are
        judged only on what their events can change (``kg.deltas``); without it, always in full."""
        self._lock = threading.RLock()
        self.outbox = outbox
        self.store = store
        self.applier = EventApplier(store)
        self.roles = RoleDeriver(rules)
        self.workspace = Workspace(store)
        self.validator = Validator(checks)
        self.delta_up_to = delta_up_to if by_changes else 0
        """The largest round judged by its changes (0: none)."""
        self.planner = DeltaPlanner(checks, rules, self.workspace.regulations)
        self.ledger = ViolationLedger(store)
        self.listeners: list[Listener] = []
        self.stats = PipelineStats()
        self._unfinished: set[URIRef] = set()
        """Organisations of a batch that failed in this process: their pending validation (step 2) is finished
        before anything else judges them, with its own event as the cause."""

    @property
    def lock(self) -> threading.RLock:
        """Held by every call; ``kg.group_commit`` holds it while it picks the requests of the next batch."""
        return self._lock

    @classmethod
    def from_store(
        cls, store: Store, *, outbox: bool = False, by_changes: bool = True, delta_up_to: int = DELTA_UP_TO
    ) -> Pipeline:
        """Compile the shapes and rules against the regulation graph the store holds."""
        from kg.shapes_loader import load_checks_and_rules

        checks, rules = load_checks_and_rules(store)
        cached_reference()  # parsed now, not by the first event that starts a deadline clock (1.5 s)
        return cls(store, checks, rules, outbox=outbox, by_changes=by_changes, delta_up_to=delta_up_to)

    def process(self, events: Sequence[Event], *, also: Also = (), all_or_nothing: bool = False) -> BatchResult:
        """Apply a batch and validate the organisations it touched; ``also`` joins the step-1 transaction.

        With ``all_or_nothing``, one rejected event leaves the whole batch unapplied (HTTP batches).
        """
        with self._lock:
            started = perf_counter()
            result = self._process(events, also, all_or_nothing)
            self.stats.batches += 1
            self.stats.batch_seconds += perf_counter() - started
            self.stats.count_outcomes(result.outcomes)
            return result

    def _process(
        self, events: Sequence[Event], also: Also, all_or_nothing: bool, *, replacing: Sequence[URIRef] = ()
    ) -> BatchResult:
        """``replacing``: the queue entries (``kg.queued_rounds``) of ``events``, taken up after a crash; the first
        round takes them out."""
        finished = self._finish_unfinished()
        if all_or_nothing:
            checked = self.applier.check(events)
            if any(outcome.status == "rejected" for outcome in checked):
                return BatchResult(checked, finished)  # nothing was applied, so nothing is validated
        rounds = event_rounds(events)
        if not rounds:
            return BatchResult(self.applier.apply(events, also=also), finished)  # what the caller adds, alone
        queued = kept_in(self.store) and (len(rounds) > 1 or bool(replacing))
        batch = new_batch()
        entries = {index: entry(batch, index) for indexes in rounds[1:] for index in indexes} if queued else {}
        in_store: set[URIRef] = set()  # entries of this batch in the store
        done: dict[int, Outcome] = {}
        changes: list[ViolationChange] = finished
        try:
            for number, indexes in enumerate(rounds):
                last = number == len(rounds) - 1
                changes += self._catch_up([events[index] for index in indexes])
                clock = StepClock(self.stats.step_seconds)
                prior = self._before(events[index].subject for index in indexes)
                clock.lap("read")
                if not queued:
                    queue: list[str] = []
                elif number == 0:
                    queue = [
                        *queue_operations(batch, [(index, events[index]) for index in entries]),
                        *dequeue_operations(replacing),
                    ]
                else:
                    queue = dequeue_operations(entries[index] for index in indexes)
                applied = self.applier.apply(
                    [events[index] for index in indexes],
                    also=_with(queue, _whole_batch(also, done, indexes) if last else ()),
                )
                if queued:
                    in_store = set(entries.values()) if number == 0 else in_store - {entries[i] for i in indexes}
                clock.lap("apply")
                done.update(zip(indexes, applied, strict=True))
                changes += self._validate(_causes(applied), prior, _replayed(applied))
        except Exception as error:
            # The caller hears of it, so what it sent is not applied later behind it. An interrupt (Ctrl-C in
            # ``obligraph ingest``) is not caught: as a crash, it leaves the rest to the next start. A store that
            # failed may answer again: the next batch finishes what this one applied (another error, a fault of
            # the code, would fail it again, so that waits for a restart, as before).
            if isinstance(error, StoreError):
                self._unfinished.update(iris.organisation(event.subject) for event in events)
            self._forget(in_store)
            raise
        return BatchResult([done[index] for index in range(len(events))], changes)

    def _finish_unfinished(self) -> list[ViolationChange]:
        """Validate what a batch that failed in this process left pending (its events applied, not judged: a store
        that failed between the two commits), as ``recover`` does at start-up. Before, a retry was answered
        "duplicate" and the next catch-up recorded the event's violations as the clock's, on the days before it."""
        if not self._unfinished:
            return []
        changes = self._validate_pending(among=self._unfinished)
        self._unfinished.clear()
        return changes

    def _forget(self, entries: set[URIRef]) -> None:
        """Take a failed batch's later rounds out of the queue, if the store still takes updates."""
        if not entries:
            return
        try:
            self.store.update(" ;\n".join(dequeue_operations(sorted(entries))))
        except Exception as error:  # the batch's own error is the one raised
            log.error("could not take %d queued events of a failed batch out of the store: %s", len(entries), error)

    def _catch_up(self, events: Sequence[Event]) -> list[ViolationChange]:
        """Before a round is applied, judge its organisations as the clock would have on each day after a deadline
        that ran out since their latest judgement (``kg.catch_up``): a duty met late by the event still opens its
        violation, the day after the deadline, and the event resolves it."""
        return self._catch_up_to({iris.organisation(event.subject): event.time for event in events})

    def _catch_up_to(self, moments: Mapping[URIRef, datetime], before: date | None = None) -> list[ViolationChange]:
        """Judge each organisation on the days after its deadlines that ran out between its latest judgement and
        its moment (``before`` a day: the days before it only, which the judgement to come does not judge)."""
        days = clock_days_passed(self.store, moments)
        changes: list[ViolationChange] = []
        for day in sorted({day for passed in days.values() for day in passed if before is None or day < before}):
            moment = clock_moment(day)
            changes += self._validate({org: Cause(at=moment) for org, passed in days.items() if day in passed})
        return changes

    def _before(self, subjects: Iterable[str]) -> Prior | None:
        """A small round's organisations as judged so far, read before its apply (``kg.deltas``); their stored
        violations are read meanwhile on the query threads (applying events does not change them either)."""
        organisations = list({iris.organisation(subject) for subject in subjects})
        if len(organisations) > self.delta_up_to:
            return None
        violations = QUERIES.submit(self.ledger.stored_violations, organisations)
        return Prior(read_before(self.store, organisations), violations)

    def revalidate(
        self,
        as_of: date,
        *,
        batch_size: int = 500,
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[ViolationChange]:
        """The clock: re-check every organisation as of a day (deadlines fall due with no new event).

        The lock is taken one chunk of ``batch_size`` organisations at a time, so events go on being applied and
        judged while a large graph is re-checked (100,000 organisations take minutes); an organisation an event
        touches between two chunks is judged by that event and, when its chunk comes, by the clock. As before an
        event, the days after deadlines that ran out since an organisation's latest judgement and before ``as_of``
        are judged first (``kg.catch_up``): a pass that skipped days (a server down, ``obligraph revalidate`` run
        by hand a week on) records each breach on the day after its deadline, as a daily pass would. A complete
        pass is recorded (``kg.clock_passes``). Once ``stop`` is set no further chunk starts: the changes so far
        are returned and the pass is not recorded, so whoever holds the lock after setting it can close the
        store."""
        moment = clock_moment(as_of)
        with self._lock:
            changes = self._finish_unfinished()
            organisations = self.organisations()
        for start in range(0, len(organisations), batch_size):
            chunk = organisations[start : start + batch_size]
            with self._lock:
                if stop is not None and stop.is_set():
                    return changes
                changes += self._catch_up_to(dict.fromkeys(chunk, moment), before=as_of)
                changes += self._validate({org: Cause(at=moment) for org in chunk})
            if progress:
                progress(len(chunk))
        with self._lock:
            if stop is not None and stop.is_set():
                return changes
            self.store.update(record_pass(as_of))
        self.stats.clock_passes += 1
        self.stats.saw_clock_pass(as_of)
        return changes

    def recover(self) -> list[ViolationChange]:
        """Finish what a crash interrupted: validate organisations still marked pending, then apply the rounds of a
        batch still waiting (``kg.queued_rounds``)."""
        with self._lock:
            return self._recover()

    def _recover(self) -> list[ViolationChange]:
        changes = self._validate_pending()
        if kept_in(self.store):
            changes += self._apply_waiting()
        return changes

    def _apply_waiting(self) -> list[ViolationChange]:
        """The later rounds of batches a crash cut short (``kg.queued_rounds``), as one batch; if it fails, event by
        event, dropping (and logging) one that fails alone, so that no queued event can keep the store from
        starting. A store that fails is an error of its own."""
        found = waiting(self.store)
        unreadable = [node for node, event in found if event is None]
        if unreadable:
            self.store.update(" ;\n".join(dequeue_operations(unreadable)))
        readable = [(node, event) for node, event in found if event is not None]
        if not readable:
            return []
        log.info("applying %d queued events of batches a crash cut short", len(readable))
        try:
            return self._process([e for _, e in readable], (), False, replacing=[n for n, _ in readable]).changes
        except StoreError:
            raise
        except Exception as error:
            log.error("the queued events failed together (%s); applying them one by one", error)
        changes: list[ViolationChange] = []
        for node, event in readable:
            try:
                changes += self._process([event], (), False, replacing=[node]).changes
            except StoreError:
                raise
            except Exception as error:
                log.error("queued event (%s, %s) failed alone and is dropped: %s", event.source, event.id, error)
                self.store.update(" ;\n".join(dequeue_operations([node])))
        return changes

    def _validate_pending(self, among: Collection[URIRef] | None = None) -> list[ViolationChange]:
        """Validate the organisations marked pending (``among`` them only, when given) as of their marked events."""
        values = "" if among is None else f"VALUES ?org {{ {' '.join(org.n3() for org in among)} }} "
        rows = self.store.select(
            f"SELECT ?org ?event ?id ?time WHERE {{ {values}GRAPH {META} {{ ?org {OG.awaitsValidation.n3()} ?event }} "
            f"?event {OG.eventId.n3()} ?id ; {OG.eventTime.n3()} ?time }}"
        )
        causes = {}
        for row in rows:
            org, event, event_id, moment = row["org"], row["event"], row["id"], row["time"]
            assert isinstance(org, ox.NamedNode) and isinstance(event, ox.NamedNode)
            assert isinstance(event_id, ox.Literal) and isinstance(moment, ox.Literal)
            causes[URIRef(org.value)] = Cause(
                at=datetime.fromisoformat(moment.value), event=URIRef(event.value), event_id=event_id.value
            )
        return self._validate(causes)

    def organisations(self) -> list[URIRef]:
        rows = self.store.select(
            f"SELECT ?org WHERE {{ GRAPH <{Graphs.ORGANISATIONS}> {{ ?org a {OG.Organisation.n3()} }} }} ORDER BY ?org"
        )
        return [URIRef(row["org"].value) for row in rows]  # type: ignore[union-attr]

    def _validate(
        self,
        causes: Mapping[URIRef, Cause],
        prior: Prior | None = None,
        replayed: Mapping[URIRef, Sequence[str]] | None = None,
    ) -> list[ViolationChange]:
        """Steps 2–3 in chunks of up to ``VALIDATION_CHUNK`` organisations. A query costs ~0.3 ms to parse and
        plan whatever its size, and pyoxigraph plans the checks' joins from their constant triples rather than
        from ``VALUES ?this`` (so their cost grows with the workspace): large chunks in a workspace that holds
        only the chunk give the lowest cost per organisation (measured: 5 ms at 16, 1 ms at 400)."""
        items = list(causes.items())
        changes: list[ViolationChange] = []
        for start in range(0, len(items), VALIDATION_CHUNK):
            changes += self._validate_chunk(dict(items[start : start + VALIDATION_CHUNK]), prior, replayed or {})
        return changes

    def _deltas(
        self, before: Mapping[URIRef, Before], copied: bytes, focus: Mapping[URIRef, date]
    ) -> dict[URIRef, Delta]:
        """The organisations that can be judged by their changes, with those changes; ``copied`` is what the
        workspace copied of them."""
        deltas = {}
        for org, day in focus.items():
            if org in before:
                after = copied if len(focus) == 1 else self.workspace.owned(org)
                delta = self.planner.plan(before[org], after, day)
                if delta is not None:
                    deltas[org] = delta
        return deltas

    def _rederived(
        self,
        before: Mapping[URIRef, Before],
        deltas: Mapping[URIRef, Delta],
        derived: bytes,
        focus: Mapping[URIRef, date],
    ) -> dict[URIRef, Delta]:
        """The deltas once the rules ran again: those whose changes a rule reads take in what the roles changed."""
        if not any(delta.rules for delta in deltas.values()):
            return dict(deltas)
        lines = by_organisation(derived, focus)
        return {
            org: self.planner.rederived(before[org], delta, as_ntriples(lines[org])) if delta.rules else delta
            for org, delta in deltas.items()
        }

    def _read(
        self, asked: Mapping[URIRef, Cause], prior: Prior | None, replayed: Mapping[URIRef, Sequence[str]]
    ) -> ChunkRead:
        """Step 2's reads: the organisations copied into the workspace, and what the main store holds of them."""
        wanted = list(asked)
        if prior is not None and prior.covers(asked):
            # Read before the apply (kg.deltas): the workspace is made from the organisations as they were and their
            # events' operations, and no read of the main store waits here.
            before = prior.before
            operations = [operation for org in asked for operation in replayed.get(org, ())]
            return ChunkRead(
                copied=self.workspace.load_changed(asked, [before[org].triples for org in asked], operations),
                moments={org: moment for org in asked if (moment := before[org].judged) is not None},
                before=before,
                violations=lambda: prior.stored_violations(asked),
                role_digests=lambda: stored_role_digests(self.store, wanted),
            )
        # The main store's judged moments, role digests and violations of these organisations are read on the query
        # threads (kg.parallel) while this thread copies the organisations into the workspace.
        held_moments = QUERIES.submit(judged_moments, self.store, wanted)
        held_roles = QUERIES.submit(stored_role_digests, self.store, wanted)
        held_violations = QUERIES.submit(self.ledger.stored_violations, wanted)
        self.workspace.load(asked)
        return ChunkRead(b"", held_moments.result(), {}, held_violations.result, held_roles.result)

    def _validate_chunk(
        self, asked: Mapping[URIRef, Cause], prior: Prior | None, replayed: Mapping[URIRef, Sequence[str]]
    ) -> list[ViolationChange]:
        if not asked:
            return []
        clock = StepClock(self.stats.step_seconds)
        read = self._read(asked, prior, replayed)
        clock.lap("read")
        causes = {org: _not_before(cause, read.moments.get(org)) for org, cause in asked.items()}
        focus = {org: as_of_date(cause.at) for org, cause in causes.items()}
        deltas = self._deltas(read.before, read.copied, focus)
        if len(deltas) == len(focus) and not any(delta.rules for delta in deltas.values()):
            changed_roles: dict[URIRef, set[bytes]] = {}
            derived = b"".join(read.before[org].derived for org in focus)  # no rule reads what changed
        else:
            changed_roles, derived = self.roles.derive(self.workspace.store, focus, read.role_digests())
            deltas = self._rederived(read.before, deltas, derived, focus)
        self.workspace.add_derived(derived)
        roles_written = role_update(self.store, changed_roles)
        only = {org: delta.obligations for org, delta in deltas.items()}
        clock.lap("roles")
        findings = self.validator.validate(self.workspace.store, focus, only)
        clock.lap("checks")
        operations, changes = self.ledger.reconcile(findings, causes, read.violations(), only)
        if self.outbox:
            operations += outbox_operations(changes)
        judged = record_judged(
            {org: cause.at for org, cause in causes.items()}, read.moments, not_after=datetime.now(CHINA)
        )
        clock.lap("reconcile")
        validated = record_validated(focus, self.planner.fingerprint)
        self.store.update(" ;\n".join([*roles_written, *operations, *judged, *validated, clear_pending_marks(causes)]))
        self.stats.organisations_validated += len(causes)
        self.stats.organisations_validated_by_changes += len(only)
        self.stats.count_changes(changes)
        if changes:
            for listener in self.listeners:
                listener(changes)
        clock.lap("write")
        return changes

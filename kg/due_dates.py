"""Which facts start which obligation clocks, and the due dates they give.

The amounts come from ``kg/reference/deadlines.yaml`` (through :mod:`kg.deadlines`); this module only says
which fact of the organisation graph each clock runs from. Due dates are materialised when an event is
applied, so shapes compare plain dates and a legal engineer can ask "when is the filing due?" in SPARQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Final, Literal

from kg.deadlines import Timing, due_date, next_due
from kg.reference_data import cached_reference

Scope = Literal["system", "organisation"]


@dataclass(frozen=True)
class Clock:
    """One obligation clock: ``obligation`` falls due ``timing`` after the fact named by ``starts_on``."""

    obligation: str
    scope: Scope
    anchor: str
    starts_on: Literal["launch", "officer-threshold", "important-data-processor"]
    renewed_by: str | None = None  # evidence kind notation that restarts a periodic clock
    public_opinion: bool = False
    """Owed by a system with public-opinion attributes: a live system that gains them launches a public-opinion
    function that day, and the clock runs from it rather than from the system's launch."""
    owed_from_launch_by: str | None = None
    """A capability (event code) that owes a ``public_opinion`` clock from the system's launch whatever its
    attributes (DS-05: a tool that edits faces or voices, Deep Synthesis Provisions Art. 15): a system with it keeps
    its clock when it gains them."""


CLOCKS: Final[tuple[Clock, ...]] = (
    Clock("ALG-09", "system", "service-launch", "launch", public_opinion=True),
    Clock("DS-09", "system", "service-launch", "launch", public_opinion=True),
    Clock("GAI-12", "system", "service-launch", "launch", public_opinion=True),
    Clock("GAI-12", "system", "before-launch", "launch", public_opinion=True),
    Clock(
        "DS-05", "system", "before-launch", "launch", public_opinion=True, owed_from_launch_by="face-or-voice-editing"
    ),
    Clock("AGC-02", "system", "before-launch", "launch"),
    Clock("AGC-03", "system", "last-report", "launch", renewed_by="transparency-report"),
    Clock("PIPL-06", "organisation", "threshold-reached", "officer-threshold"),
    Clock("DSL-03", "organisation", "last-report", "important-data-processor", renewed_by="risk"),
)

OFFICER_THRESHOLD: Final = 1_000_000
"""PI subjects from which a handler must appoint and report a PI protection officer (PIPL Art. 52; CAC
announcement of 2025-07-18, source S-35)."""


@cache
def _rule_of(obligation: str, anchor: str) -> tuple[Timing, date | None]:
    for rule in cached_reference().deadlines_of(obligation):
        timing = Timing.from_mapping(rule.model_dump())
        if timing.anchor == anchor:
            return timing, rule.counted_from
    raise LookupError(f"kg/reference/deadlines.yaml has no {anchor!r} timing for {obligation}")


def timing_of(obligation: str, anchor: str) -> Timing:
    """The curated timing of an obligation for one anchor (periodicities are stored without one)."""
    return _rule_of(obligation, anchor)[0]


def counted_from(clock: Clock) -> date | None:
    """The earliest day the clock's period can start (``counted_from`` in ``deadlines.yaml``): the day the rule
    that sets it took effect, so a condition met before then runs from that day."""
    return _rule_of(clock.obligation, clock.anchor)[1]


def clocks_started_by(fact: str) -> tuple[Clock, ...]:
    return tuple(clock for clock in CLOCKS if clock.starts_on == fact)


def clocks_renewed_by(evidence_kind: str) -> tuple[Clock, ...]:
    return tuple(clock for clock in CLOCKS if clock.renewed_by == evidence_kind)


def counts_working_days(clock: Clock) -> bool:
    """Whether the clock's due dates are counted in working days (so, past the official calendar, estimated:
    ``kg.workdays``)."""
    return timing_of(clock.obligation, clock.anchor).counting == "working-days"


def first_due(clock: Clock, start: date) -> date:
    """The clock's due date when its condition was met on ``start`` (from ``counted_from`` at the earliest)."""
    timing = timing_of(clock.obligation, clock.anchor)
    earliest = counted_from(clock)
    if earliest is not None and start < earliest:
        start = earliest
    due = next_due(timing, start) if timing.kind == "periodicity" else due_date(timing, start)
    if due is None:
        raise LookupError(f"the {clock.anchor} timing of {clock.obligation} has no computable due date")
    return due


def renewed_due(clock: Clock, done_on: date) -> date:
    due = next_due(timing_of(clock.obligation, clock.anchor), done_on)
    if due is None:
        raise LookupError(f"the {clock.anchor} timing of {clock.obligation} has no period")
    return due

"""What an obligation's timing says, and when it falls due.

A :class:`Timing` is the machine-readable form of an obligation's ``deadline_or_periodicity`` text (curated
in ``kg/reference/deadlines.yaml``): a deadline ("within 10 working days of service launch") or a
periodicity ("every six months"). The arithmetic follows the 《民法典》 rules on periods, which we adopt
as our documented rule:

* Art. 201: the start day does not count; a period of N days ends N days after the anchor day.
* Art. 202: a period of months or years ends on the corresponding day of the last month, or on that
  month's last day when it has no such day (Aug 31 + 6 months is the last day of February).
* Working days are counted with :mod:`kg.workdays` (start day not counted either).
* A period in days whose counting the text does not state is counted in calendar days (Art. 200).
* We do *not* roll a calendar-day due date falling on a holiday to the next working day (Art. 203): that
  only ever extends the period, so keeping the earlier day errs on the side of warning early.
* Hours: our anchors are days, not instants. ``N`` hours after an event on day D end, at the latest, on
  day D + ceil(N / 24), which we take as the due date, so a day-dated report is never flagged wrongly.
* ``before-*`` anchors: evidence must exist on or before the anchor day, which is the due date.
* A deadline or periodicity without an amount ("promptly", "regularly") has no computable due date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final, Literal, get_args

from dateutil.relativedelta import relativedelta

from kg.workdays import add_working_days

__all__ = ["ANCHORS", "BEFORE_ANCHORS", "PERIODIC_ANCHOR", "Timing", "due_date", "is_overdue", "next_due"]

Kind = Literal["deadline", "periodicity"]
Unit = Literal["hour", "day", "month", "year"]
Counting = Literal["working-days", "calendar-days"]

BEFORE_ANCHORS: Final = frozenset({"before-launch", "before-transfer", "before-processing"})
"""Anchors where evidence must exist on or before the anchored event: due on the anchor day itself."""

ANCHORS: Final = frozenset(
    {
        "service-launch",
        "service-change",
        "service-termination",
        "threshold-reached",
        "discovery",
        "last-report",
        *BEFORE_ANCHORS,
    }
)
"""The anchors ``deadlines.yaml`` may use (skos:notation of the DeadlineAnchors concepts)."""

PERIODIC_ANCHOR: Final = "last-report"
"""The only anchor of a periodicity: each period runs from the last time the duty was done."""

_FIELDS: Final = ("kind", "amount", "unit", "counting", "anchor")


def _choice(field: str, value: object, allowed: tuple[str, ...] | frozenset[str], optional: bool) -> None:
    if value is None and optional:
        return
    if value not in allowed:
        choices = ", ".join(sorted(allowed)) + (", or null" if optional else "")
        raise ValueError(f"Timing.{field}: expected one of {choices}; got {value!r}")


@dataclass(frozen=True, slots=True)
class Timing:
    """The timing of one obligation: a deadline after an anchor, or a periodicity after the last report.

    Validated on construction, so an inconsistent timing (working-day hours, an amount before launch)
    fails where it is written, with the field named.
    """

    kind: Kind
    amount: int | None
    unit: Unit | None
    counting: Counting | None
    anchor: str

    def __post_init__(self) -> None:
        _choice("kind", self.kind, get_args(Kind), optional=False)
        if self.amount is not None and (
            isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1
        ):
            raise ValueError(f"Timing.amount: expected a positive integer or null; got {self.amount!r}")
        _choice("unit", self.unit, get_args(Unit), optional=True)
        _choice("counting", self.counting, get_args(Counting), optional=True)
        _choice("anchor", self.anchor, ANCHORS, optional=False)
        if (self.amount is None) != (self.unit is None):
            raise ValueError(
                f"Timing.unit: amount and unit are given together or not at all; "
                f"got amount={self.amount!r}, unit={self.unit!r}"
            )
        if self.counting == "working-days" and self.unit != "day":
            raise ValueError(f"Timing.counting: working-days needs unit 'day'; got unit={self.unit!r}")
        if self.kind == "periodicity" and self.anchor != PERIODIC_ANCHOR:
            raise ValueError(
                f"Timing.anchor: a periodicity recurs from the last time it was done, so its anchor is "
                f"{PERIODIC_ANCHOR!r} (or null); got {self.anchor!r}"
            )
        if self.anchor in BEFORE_ANCHORS and self.amount is not None:
            raise ValueError(
                f"Timing.anchor: {self.anchor!r} is due on the anchor day itself, so it takes no amount; "
                f"got amount={self.amount!r}"
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Timing:
        """Build from ``{kind, amount, unit, counting, anchor}``, ignoring other keys (``obligation``).

        All five keys must be present (null where the text says nothing), so a misspelt key fails here
        instead of reading as null. A periodicity's null anchor reads as ``last-report``: it recurs from
        the last time it was done (``deadlines.yaml`` leaves it null, the texts naming no anchor).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"Timing: expected a mapping with keys {', '.join(_FIELDS)}; got {data!r}")
        missing = [f for f in _FIELDS if f not in data]
        if missing:
            raise ValueError(f"Timing.{missing[0]}: missing (keys required: {', '.join(_FIELDS)})")
        fields = {f: data[f] for f in _FIELDS}
        if fields["kind"] == "periodicity" and fields["anchor"] is None:
            fields["anchor"] = PERIODIC_ANCHOR
        return cls(**fields)

    @property
    def computable(self) -> bool:
        """True when the timing yields a due date: it has an amount, or it is due before an event."""
        return self.amount is not None or self.anchor in BEFORE_ANCHORS


def _add(timing: Timing, start: date) -> date | None:
    """``start`` plus the timing's period, per the rules in the module docstring."""
    n, unit = timing.amount, timing.unit
    if n is None:
        return start if timing.anchor in BEFORE_ANCHORS else None
    if unit == "day":
        return add_working_days(start, n) if timing.counting == "working-days" else start + timedelta(n)
    if unit == "month":
        return start + relativedelta(months=n)
    if unit == "year":
        return start + relativedelta(years=n)
    return start + timedelta(days=-(-n // 24))  # hours: the last day they can reach


def due_date(timing: Timing, anchor_day: date) -> date | None:
    """The last day on which evidence for a deadline is in time; ``None`` when the text gives no length."""
    if timing.kind != "deadline":
        raise ValueError(f"due_date: expected a deadline timing; got kind={timing.kind!r}")
    return _add(timing, anchor_day)


def next_due(timing: Timing, last_done: date) -> date | None:
    """When a periodic duty next falls due after it was last done; ``None`` for "regularly" (no amount)."""
    if timing.kind != "periodicity":
        raise ValueError(f"next_due: expected a periodicity timing; got kind={timing.kind!r}")
    return _add(timing, last_done)


def is_overdue(timing: Timing, anchor_day: date, evidence_day: date | None, as_of: date) -> bool:
    """Whether, as of ``as_of``, the due day has passed without timely evidence.

    ``anchor_day`` is the anchored event (for a periodicity, the last time it was done). Boundaries:
    evidence dated on the due day is in time; ``as_of`` equal to the due day is not yet overdue; from the
    next day it is. Late evidence does not cure a missed deadline: once overdue, it stays overdue. No
    computable due date: never overdue.
    """
    due = _add(timing, anchor_day)
    if due is None:
        return False
    in_time = evidence_day is not None and evidence_day <= due
    return as_of > due and not in_time

"""Working days (工作日) under the Chinese official calendar, for deadlines counted in working days.

Regulators count many deadlines in working days, e.g. "file within 10 working days of providing the
service" (《互联网信息服务算法推荐管理规定》 Art. 24). Working days follow the State Council's yearly
holiday notice, make-up working days on weekends (调休) included; the ``chinese-calendar`` package keeps
those notices for the years in :func:`covered_years`.

Our documented rules:

* **The start day never counts.** "Within N working days of X" is counted from the first working day
  after the day of X, as 《民法典》 Art. 201 provides for periods in days (开始的当日不计入，
  自下一日开始计算), and as Chinese administrative practice counts working-day periods
  (《行政许可法》 Art. 82 only adds that holidays are excluded). So :func:`add_working_days`
  returns the N-th working day *after* ``start``.

* **Fallback for years chinese-calendar does not cover** (before its first notice, or after the last one
  published): Monday to Friday are working days, except the statutory holidays fixed in the Gregorian
  calendar by the 《全国年节及纪念日放假办法》 as amended by the State Council in 2024 (in force
  2025-01-01): New Year's Day (1 Jan), Labour Day (1-2 May), National Day (1-3 Oct). Lunar holidays
  (Spring Festival, Qingming, Dragon Boat, Mid-Autumn) and make-up days are not modelled, because they
  are fixed by each year's notice. This is an approximation: it counts lunar holidays as working days,
  so an estimated due date tends to fall *earlier* than the official one (a warning comes early, not
  late), though a make-up weekend can make it a day or two late near a holiday block. Earlier years
  had other holidays (e.g. 1-3 May before 2008); the rule is meant for future years. Answers that rely
  on it say so: :func:`add_working_days_detailed` returns ``estimated=True``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

__all__ = [
    "FALLBACK_HOLIDAYS",
    "WorkingDayResult",
    "add_working_days",
    "add_working_days_detailed",
    "covered_years",
    "is_covered",
    "is_working_day",
    "working_days_between",
]

FALLBACK_HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})
"""(month, day) of the Gregorian-fixed statutory holidays the fallback rule keeps (2024 amendment)."""


@dataclass(frozen=True, slots=True)
class WorkingDayResult:
    """A computed day, and whether any day it rests on came from the fallback rule."""

    day: date
    estimated: bool


@lru_cache(maxsize=1)
def covered_years() -> range:
    """The years chinese-calendar holds official notices for (it refuses dates outside them).

    Read from the package's own data, the same way it decides what to refuse, so an upgrade that adds a
    year widens the range without a code change here.
    """
    years = {d.year for d in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


def is_covered(day: date) -> bool:
    """True when ``day`` is answered from the official schedule, not the fallback rule."""
    return day.year in covered_years()


@lru_cache(maxsize=512)
def _working_ordinals(year: int) -> tuple[int, ...]:
    """The working days of ``year`` as sorted ordinals: one year's work, done once, then bisected."""
    first = date(year, 1, 1)
    days = (first + timedelta(i) for i in range((date(year + 1, 1, 1) - first).days))
    if year in covered_years():
        return tuple(d.toordinal() for d in days if chinese_calendar.is_workday(d))
    return tuple(d.toordinal() for d in days if d.weekday() < 5 and (d.month, d.day) not in FALLBACK_HOLIDAYS)


def is_working_day(day: date) -> bool:
    """True when ``day`` is a working day (official schedule, or the fallback rule outside it)."""
    ordinals = _working_ordinals(day.year)
    i = bisect_right(ordinals, day.toordinal())
    return i > 0 and ordinals[i - 1] == day.toordinal()


def add_working_days_detailed(start: date, n: int) -> WorkingDayResult:
    """The ``n``-th working day after ``start`` (``start`` itself never counts), and whether it is estimated.

    ``n == 0`` gives ``start`` back. ``estimated`` is true iff a day in ``(start, result]`` lies outside
    :func:`covered_years`.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return WorkingDayResult(start, estimated=False)
    after, year, remaining = start.toordinal(), start.year, n
    while True:
        ordinals = _working_ordinals(year)
        i = bisect_right(ordinals, after)
        available = len(ordinals) - i
        if remaining <= available:
            day = date.fromordinal(ordinals[i + remaining - 1])
            break
        remaining -= available
        year += 1
    years = covered_years()
    first = start + timedelta(1)
    return WorkingDayResult(day, estimated=first.year < years.start or day.year >= years.stop)


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start``; see :func:`add_working_days_detailed` for the caveats."""
    return add_working_days_detailed(start, n).day


def working_days_between(a: date, b: date) -> int:
    """The number of working days in ``(a, b]``; negative when ``b`` is before ``a``.

    It is the inverse of :func:`add_working_days`: ``working_days_between(d, add_working_days(d, n)) == n``.
    """
    if b < a:
        return -working_days_between(b, a)
    lo, hi = a.toordinal(), b.toordinal()
    total = 0
    for year in range(a.year, b.year + 1):
        ordinals = _working_ordinals(year)
        total += bisect_right(ordinals, hi) - bisect_right(ordinals, lo)
    return total

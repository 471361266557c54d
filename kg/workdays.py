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
  published): Monday to Friday are working days, except the days off that law fixes without a yearly
  notice. From 2025 (the 《全国年节及纪念日放假办法》 as amended by State Council Decree No. 795, in force
  2025-01-01, Art. 2) those are the 13 statutory holidays: New Year's Day (1 Jan), the Spring Festival
  (Lunar New Year's Eve and the first three days of the first lunar month), Qingming (the day of the
  清明 solar term), Labour Day (1-2 May), the Dragon Boat Festival (5th day of the 5th lunar month),
  Mid-Autumn (15th day of the 8th lunar month) and National Day (1-3 Oct); and, for each of them that
  falls on a Saturday or Sunday, a weekday in lieu (the same measures: such a holiday is made up on a
  working day), taken here as the first weekday after its holiday block. Lunar dates come from
  ``lunar_python``, the solar term from chinese-calendar. What each year's notice adds is not modelled:
  the bridging days that make an 8-day Spring Festival and the weekend make-up working days that pay for
  them. Those two balance, so a span that holds a whole holiday block and its make-up days counts the
  notice's number of working days, while a due date near a block can move by up to a week either way
  (applied to 2025 and 2026, whose notices are known: 248 working days in each year, as the notices
  give; a deadline of 10 working days exact for 83 % of start days and one of 30 for 83 %, against 71 %
  and 40 % with the Gregorian-fixed holidays alone). Before 2004 (the package's first year) and after
  2100 (the solar-term tables' last) only the Gregorian-fixed holidays of the current measures are kept
  (New Year's Day, 1-2 May, 1-3 Oct): earlier years had other holidays, and the rule is meant for future
  years. Answers that rely on the fallback say so: :func:`add_working_days_detailed` returns
  ``estimated=True``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Final

import chinese_calendar
from lunar_python import Lunar

__all__ = [
    "FALLBACK_HOLIDAYS",
    "STATUTORY_YEARS",
    "WorkingDayResult",
    "add_working_days",
    "add_working_days_detailed",
    "covered_years",
    "fallback_days_off",
    "is_covered",
    "is_working_day",
    "statutory_holidays",
    "working_days_between",
]

FALLBACK_HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})
"""(month, day) of the Gregorian-fixed statutory holidays (2024 amendment): all the fallback keeps before 2004."""
STATUTORY_YEARS: Final = range(2025, 2101)
"""The years whose 13 statutory holidays the fallback models with their lunar dates: from the 2024 amendment's
first year to the last year chinese-calendar computes solar terms for (2100)."""


def statutory_holidays(year: int) -> frozenset[date]:
    """The 13 days off all citizens have in ``year`` by the 2024 amendment's Art. 2 (from 2025)."""
    spring_festival = _solar(Lunar.fromYmd(year, 1, 1))
    qingming = [
        day for day, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10)) if name == "清明"
    ]
    return frozenset(
        {
            date(year, 1, 1),
            *(spring_festival + timedelta(offset) for offset in (-1, 0, 1, 2)),
            *qingming,
            date(year, 5, 1),
            date(year, 5, 2),
            _solar(Lunar.fromYmd(year, 5, 5)),
            _solar(Lunar.fromYmd(year, 8, 15)),
            *(date(year, 10, day) for day in (1, 2, 3)),
        }
    )


def fallback_days_off(year: int) -> frozenset[date]:
    """The weekdays off of a year the official schedule does not cover: the statutory holidays, and a weekday in
    lieu of each that falls on a weekend (the first weekday after its block not off already)."""
    if year not in STATUTORY_YEARS:
        return frozenset(day for month_day in FALLBACK_HOLIDAYS if (day := date(year, *month_day)).weekday() < 5)
    holidays = statutory_holidays(year)
    off = set(holidays)
    for day in sorted(holidays):
        if day.weekday() >= 5:
            in_lieu = day
            while in_lieu in off or in_lieu.weekday() >= 5:
                in_lieu += timedelta(1)
            off.add(in_lieu)
    return frozenset(day for day in off if day.weekday() < 5)


def _solar(lunar: Lunar) -> date:
    solar = lunar.getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


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
    off = fallback_days_off(year)
    return tuple(d.toordinal() for d in days if d.weekday() < 5 and d not in off)


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

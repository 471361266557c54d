"""Working days: the official schedule where chinese-calendar covers it, the documented fallback elsewhere.

The dates below were checked against chinese-calendar 1.11 (and match the State Council notices).
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.workdays import (
    FALLBACK_HOLIDAYS,
    WorkingDayResult,
    add_working_days,
    add_working_days_detailed,
    covered_years,
    fallback_days_off,
    is_covered,
    is_working_day,
    statutory_holidays,
    working_days_between,
)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(i) for i in range((last - first).days + 1)]


# --- the official schedule ------------------------------------------------------------------------------

MAKE_UP_WORKING_DAYS = [
    date(2024, 2, 4),  # Sunday, Spring Festival 2024
    date(2024, 2, 18),  # Sunday, Spring Festival 2024
    date(2024, 9, 29),  # Sunday, National Day 2024
    date(2024, 10, 12),  # Saturday, National Day 2024
    date(2025, 1, 26),  # Sunday, Spring Festival 2025
    date(2025, 2, 8),  # Saturday, Spring Festival 2025
    date(2026, 1, 4),  # Sunday, New Year 2026
    date(2026, 2, 14),  # Saturday, Spring Festival 2026
    date(2026, 2, 28),  # Saturday, Spring Festival 2026
]


@pytest.mark.parametrize("day", MAKE_UP_WORKING_DAYS, ids=str)
def test_make_up_weekend_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5
    assert is_working_day(day)


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2024, 2, 10), date(2024, 2, 17)),  # Spring Festival 2024
        (date(2024, 10, 1), date(2024, 10, 7)),  # National Day 2024
        (date(2025, 1, 28), date(2025, 2, 4)),  # Spring Festival 2025
        (date(2026, 2, 15), date(2026, 2, 23)),  # Spring Festival 2026
    ],
    ids=str,
)
def test_holiday_weeks_are_not_working_days(first: date, last: date) -> None:
    assert not any(is_working_day(d) for d in _days(first, last))


def test_agrees_with_chinese_calendar_on_every_covered_day() -> None:
    years = covered_years()
    for day in _days(date(years.start, 1, 1), date(years.stop - 1, 12, 31)):
        assert is_working_day(day) == chinese_calendar.is_workday(day), day


def test_covered_years_is_what_chinese_calendar_accepts() -> None:
    years = covered_years()
    assert {2024, 2025, 2026} <= set(years)
    chinese_calendar.is_workday(date(years.start, 1, 1))
    chinese_calendar.is_workday(date(years.stop - 1, 12, 31))
    for outside in (date(years.start - 1, 12, 31), date(years.stop, 1, 1)):
        with pytest.raises(NotImplementedError):
            chinese_calendar.is_workday(outside)
        assert not is_covered(outside)


# --- adding working days --------------------------------------------------------------------------------


def test_start_day_is_not_counted() -> None:
    monday = date(2025, 3, 3)
    assert is_working_day(monday)
    assert add_working_days(monday, 1) == date(2025, 3, 4)
    assert add_working_days(monday, 0) == monday


def test_friday_launch_counts_from_the_next_monday() -> None:
    friday = date(2025, 3, 7)
    assert add_working_days(friday, 1) == date(2025, 3, 10)
    assert add_working_days(friday, 10) == date(2025, 3, 21)


def test_across_national_day_2024() -> None:
    friday = date(2024, 9, 27)
    assert add_working_days(friday, 1) == date(2024, 9, 29)  # make-up Sunday
    assert add_working_days(date(2024, 9, 30), 1) == date(2024, 10, 8)
    assert add_working_days(date(2024, 9, 30), 5) == date(2024, 10, 12)  # make-up Saturday
    assert add_working_days(friday, 10) == date(2024, 10, 16)


def test_across_spring_festival_2025() -> None:
    result = add_working_days_detailed(date(2025, 1, 24), 10)
    # 26 Jan (Sun), 27 Jan, 5-8 Feb (8 Feb a Saturday), 10-13 Feb.
    assert result.day == date(2025, 2, 13)
    assert not result.estimated


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        add_working_days(date(2025, 1, 1), -1)


# --- the fallback rule outside the covered years --------------------------------------------------------


def test_far_future_year_is_estimated_and_skips_new_year_and_weekends() -> None:
    new_years_eve = date(2098, 12, 31)  # Wednesday; 1 Jan 2099 is a Thursday
    assert not is_working_day(date(2099, 1, 1))
    assert add_working_days_detailed(new_years_eve, 1) == WorkingDayResult(date(2099, 1, 2), estimated=True)
    assert add_working_days_detailed(new_years_eve, 2).day == date(2099, 1, 5)  # over the weekend


def test_before_the_covered_years_the_fallback_keeps_the_gregorian_statutory_holidays_only() -> None:
    year = covered_years().start - 2
    weekdays = [d for d in _days(date(year, 1, 1), date(year, 12, 31)) if d.weekday() < 5]
    off = {(d.month, d.day) for d in weekdays if not is_working_day(d)}
    assert off == {md for md in FALLBACK_HOLIDAYS if date(year, *md).weekday() < 5}
    assert {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)} == FALLBACK_HOLIDAYS


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_statutory_holidays_are_official_holidays_and_count_the_official_working_days(year: int) -> None:
    """Where the notices are known (the 2024 amendment's first years), the fallback's statutory days are holidays
    in them, and the fallback counts the year's working days as they do: the bridging days a notice adds are paid
    back by its weekend make-up days."""
    holidays = statutory_holidays(year)
    assert len(holidays) == 13
    assert not [day for day in holidays if chinese_calendar.is_workday(day)]
    days = _days(date(year, 1, 1), date(year, 12, 31))
    off = fallback_days_off(year)
    assert sum(d.weekday() < 5 and d not in off for d in days) == sum(map(chinese_calendar.is_workday, days))


def test_after_the_covered_years_the_lunar_holidays_and_days_in_lieu_are_kept() -> None:
    """2027 (no notice yet): Lunar New Year's Eve is Friday 5 February, New Year's Day Saturday 6 February; the
    weekend's two statutory days are made up on the 9th and 10th."""
    assert covered_years().stop <= 2027
    assert {date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)} <= fallback_days_off(2027)
    assert statutory_holidays(2027) >= {date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15)}  # 清明, 端午, 中秋
    assert add_working_days_detailed(date(2027, 2, 1), 5) == WorkingDayResult(date(2027, 2, 12), estimated=True)
    assert [d for d in _days(date(2027, 2, 4), date(2027, 2, 12)) if is_working_day(d)] == [
        date(2027, 2, 4),
        date(2027, 2, 11),
        date(2027, 2, 12),
    ]


def test_beyond_the_solar_term_tables_the_gregorian_statutory_holidays_remain() -> None:
    off = fallback_days_off(2101)
    assert off == {day for md in FALLBACK_HOLIDAYS if (day := date(2101, *md)).weekday() < 5}
    assert add_working_days_detailed(date(2101, 1, 31), 1).estimated


def test_span_leaving_the_covered_years_is_estimated() -> None:
    last_covered = date(covered_years().stop - 1, 12, 31)
    result = add_working_days_detailed(last_covered, 1)
    assert result.estimated
    assert result.day.year == covered_years().stop
    assert result.day != date(result.day.year, 1, 1)


def test_span_entering_the_covered_years_from_its_eve_is_exact() -> None:
    eve = date(covered_years().start - 1, 12, 31)
    assert not add_working_days_detailed(eve, 5).estimated
    assert add_working_days_detailed(eve - timedelta(1), 5).estimated


# --- counting -------------------------------------------------------------------------------------------


def test_working_days_between_counts_the_half_open_interval() -> None:
    friday, monday = date(2025, 3, 7), date(2025, 3, 10)
    assert working_days_between(friday, monday) == 1
    assert working_days_between(monday, friday) == -1
    assert working_days_between(friday, friday) == 0
    assert working_days_between(date(2024, 9, 30), date(2024, 10, 7)) == 0


def test_working_days_between_spans_years() -> None:
    start = date(2024, 6, 1)
    assert working_days_between(start, add_working_days(start, 400)) == 400


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    n=st.integers(min_value=1, max_value=250),
)
def test_add_working_days_lands_on_the_nth_working_day(start: date, n: int) -> None:
    result = add_working_days(start, n)
    assert result > start
    assert is_working_day(result)
    assert sum(is_working_day(d) for d in _days(start + timedelta(1), result)) == n
    assert working_days_between(start, result) == n

"""Deadline and periodicity arithmetic, and the Timing model read from deadlines.yaml."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from kg.deadlines import Timing, due_date, is_overdue, next_due

DEADLINES_YAML = Path(__file__).resolve().parents[1] / "kg" / "reference" / "deadlines.yaml"


def _timing(**overrides: Any) -> Timing:
    fields: dict[str, Any] = {
        "kind": "deadline",
        "amount": 10,
        "unit": "day",
        "counting": "working-days",
        "anchor": "service-launch",
    }
    return Timing.from_mapping(fields | overrides)


TEN_WORKING_DAYS = _timing()
SIX_MONTHS = _timing(kind="periodicity", amount=6, unit="month", counting=None, anchor="last-report")
YEARLY = _timing(kind="periodicity", amount=1, unit="year", counting=None, anchor="last-report")
BEFORE_LAUNCH = _timing(amount=None, unit=None, counting=None, anchor="before-launch")


# --- due dates ------------------------------------------------------------------------------------------


def test_ten_working_days_after_a_launch_before_national_day() -> None:
    assert due_date(TEN_WORKING_DAYS, date(2024, 9, 27)) == date(2024, 10, 16)


def test_thirty_working_days_matches_the_cac_announcement_of_2025_07_18() -> None:
    """The announcement gave handlers already above 1 million people until 2025-08-29: 30 working days."""
    thirty = _timing(amount=30, anchor="threshold-reached")
    assert due_date(thirty, date(2025, 7, 18)) == date(2025, 8, 29)


def test_calendar_days_and_unstated_counting_are_calendar_days() -> None:
    anchor = date(2025, 1, 24)
    assert due_date(_timing(counting="calendar-days"), anchor) == date(2025, 2, 3)
    assert due_date(_timing(counting=None), anchor) == date(2025, 2, 3)


def test_hours_end_on_the_last_day_they_can_reach() -> None:
    discovery = date(2025, 3, 7)
    assert due_date(_timing(amount=24, unit="hour", counting=None, anchor="discovery"), discovery) == date(2025, 3, 8)
    assert due_date(_timing(amount=1, unit="hour", counting=None, anchor="discovery"), discovery) == date(2025, 3, 8)
    assert due_date(_timing(amount=72, unit="hour", counting=None, anchor="discovery"), discovery) == date(2025, 3, 10)


def test_before_anchors_are_due_on_the_anchor_day() -> None:
    assert due_date(BEFORE_LAUNCH, date(2025, 5, 1)) == date(2025, 5, 1)


def test_no_amount_means_no_due_date() -> None:
    promptly = _timing(amount=None, unit=None, counting=None, anchor="discovery")
    assert due_date(promptly, date(2025, 5, 1)) is None
    assert not promptly.computable
    assert not is_overdue(promptly, date(2025, 5, 1), None, date(2030, 1, 1))


@pytest.mark.parametrize(
    ("last_done", "expected"),
    [
        (date(2023, 8, 31), date(2024, 2, 29)),  # leap year
        (date(2024, 8, 31), date(2025, 2, 28)),
        (date(2025, 1, 15), date(2025, 7, 15)),
    ],
    ids=str,
)
def test_every_six_months_clamps_to_the_month_end(last_done: date, expected: date) -> None:
    assert next_due(SIX_MONTHS, last_done) == expected


def test_yearly_and_every_two_years() -> None:
    assert next_due(YEARLY, date(2024, 2, 29)) == date(2025, 2, 28)
    assert next_due(YEARLY, date(2025, 6, 30)) == date(2026, 6, 30)
    biennial = _timing(kind="periodicity", amount=2, unit="year", counting=None, anchor="last-report")
    assert next_due(biennial, date(2025, 5, 1)) == date(2027, 5, 1)


def test_kind_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a deadline"):
        due_date(SIX_MONTHS, date(2025, 1, 1))
    with pytest.raises(ValueError, match="expected a periodicity"):
        next_due(TEN_WORKING_DAYS, date(2025, 1, 1))


# --- overdue boundaries ---------------------------------------------------------------------------------

LAUNCH = date(2025, 3, 7)
DUE = date(2025, 3, 21)  # 10 working days after a Friday launch


def test_due_day_fixture() -> None:
    assert due_date(TEN_WORKING_DAYS, LAUNCH) == DUE


@pytest.mark.parametrize(
    ("evidence", "as_of", "overdue"),
    [
        (None, date(2025, 3, 20), False),
        (None, DUE, False),  # as_of on the due day: not yet overdue
        (None, date(2025, 3, 22), True),  # from the next day
        (DUE, date(2030, 1, 1), False),  # evidence on the due day is in time
        (LAUNCH, date(2030, 1, 1), False),
        (date(2025, 3, 22), date(2025, 3, 22), True),  # late evidence does not cure
        (date(2025, 3, 22), date(2025, 3, 21), False),
    ],
)
def test_is_overdue_boundaries(evidence: date | None, as_of: date, overdue: bool) -> None:
    assert is_overdue(TEN_WORKING_DAYS, LAUNCH, evidence, as_of) is overdue


def test_before_launch_evidence_on_launch_day_is_in_time() -> None:
    launch = date(2025, 5, 6)
    assert not is_overdue(BEFORE_LAUNCH, launch, launch, date(2025, 6, 1))
    assert is_overdue(BEFORE_LAUNCH, launch, date(2025, 5, 7), date(2025, 6, 1))
    assert not is_overdue(BEFORE_LAUNCH, launch, None, launch)


def test_periodic_report_overdue_after_six_months() -> None:
    last = date(2024, 8, 31)
    assert not is_overdue(SIX_MONTHS, last, None, date(2025, 2, 28))
    assert is_overdue(SIX_MONTHS, last, None, date(2025, 3, 1))


# --- Timing.from_mapping --------------------------------------------------------------------------------


def test_every_curated_timing_in_deadlines_yaml_parses() -> None:
    records = yaml.safe_load(DEADLINES_YAML.read_text(encoding="utf-8"))["deadlines"]
    assert records
    for record in records:
        timing = Timing.from_mapping(record)
        assert timing.kind == record["kind"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "sometimes"}, "kind"),
        ({"amount": 0}, "amount"),
        ({"amount": -3}, "amount"),
        ({"amount": "10"}, "amount"),
        ({"amount": True}, "amount"),
        ({"unit": "week"}, "unit"),
        ({"unit": None}, "unit"),
        ({"counting": "business-days"}, "counting"),
        ({"counting": "working-days", "unit": "month"}, "counting"),
        ({"counting": "working-days", "unit": "hour"}, "counting"),
        ({"anchor": "launch"}, "anchor"),
        ({"anchor": None}, "anchor"),
        ({"anchor": "before-launch"}, "anchor"),
        ({"kind": "periodicity", "counting": None, "anchor": "discovery"}, "anchor"),
        (
            {
                "kind": "periodicity",
                "amount": None,
                "unit": None,
                "counting": None,
                "anchor": "before-launch",
            },
            "anchor",
        ),
    ],
)
def test_bad_timing_names_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^Timing\.{field}:"):
        _timing(**overrides)


def test_periodicity_with_null_anchor_recurs_from_the_last_report() -> None:
    timing = _timing(kind="periodicity", amount=6, unit="month", counting=None, anchor=None)
    assert timing == SIX_MONTHS


def test_missing_key_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"^Timing\.counting: missing"):
        Timing.from_mapping({"kind": "deadline", "amount": 10, "unit": "day", "anchor": "discovery"})


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a mapping"):
        Timing.from_mapping(["deadline", 10])  # type: ignore[arg-type]

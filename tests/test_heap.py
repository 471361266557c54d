"""Start-up hygiene: what ``settle_heap`` leaves the collector doing."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from obligraph.heap import YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def collector() -> Iterator[None]:
    """Put the collector back as it was: the tests share one process."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_settling_freezes_what_lives_and_scans_the_young_less_often() -> None:
    survivor = [object()]  # alive at start-up, like the compiled checks
    gc.unfreeze()
    before = gc.get_threshold()
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert not any(item is survivor for item in gc.get_objects())  # frozen objects are out of every scan
    assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], before[2])  # the older generations as they were

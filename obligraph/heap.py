"""Start-up hygiene for long-running commands."""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 10_000
"""Tracked objects allocated (net of those freed) before the collector scans the young generation; CPython's
default is 700. A dashboard request or a validation batch holds tens of thousands of objects for a few
milliseconds and then frees them: at 700 the collector scans them over and over while they are alive and moves
them to the older generations, whose passes then fall inside later requests. Measured over 300 dashboard
requests (``bench/bench_graphql.py``'s query, in process): 1,332 collections taking 236 ms in all, the longest
7 ms, at 700; 14 collections taking 43 ms, the longest 4.5 ms, at 10,000."""


def settle_heap() -> None:
    """Collect once, keep everything alive so far out of the collector's scans, and scan the young less often.

    Start-up leaves many long-lived objects (compiled checks, the catalogue, rdflib terms); every full collection
    would walk them again. Frozen, they cost nothing: measured, the slowest dashboard requests lose tens of
    milliseconds and a validation batch after a large load runs up to twice as fast (``bench/``).
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)

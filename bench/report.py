"""What every benchmark prints while it runs, and how it summarises its samples."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

from rich.console import Console

console = Console(width=None if sys.stdout.isatty() else 160)
"""Redirected to a file or a pipe, rich would lay tables out in 80 columns and cut the last ones (the p95 of
``bench_graphql``): the figures are what a bench is for, so a log gets them whole."""


def say(message: str) -> None:
    """A progress line, stamped with the time of day (long runs show where the time goes)."""
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


def ms(seconds: float) -> str:
    """``seconds`` as milliseconds, for a table cell."""
    return f"{seconds * 1000:,.1f} ms"


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0–100) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def validation_progress(total: int, label: str = "validated") -> Callable[[int], None]:
    """A ``progress`` callback for ``Pipeline.revalidate``: a line every 10,000 organisations and at the end, with
    the rate since the callback was made."""
    started = time.perf_counter()
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        if done % 10_000 < count or done == total:
            rate = done / (time.perf_counter() - started)
            say(f"{label} {done:,}/{total:,} organisations ({rate:,.0f}/s)")

    return progress

"""``obligraph ingest``: a JSON Lines file through the pipeline, with progress and a summary."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from kg.events import Event, EventRejected, iter_json_lines, received_by
from kg.pipeline import Pipeline
from kg.store import Store


@dataclass
class IngestReport:
    applied: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    opened: int = 0
    resolved: int = 0
    interrupted: bool = False
    """Stopped by Ctrl-C (SIGINT): the counts are those of the batches finished before it."""

    def summary(self) -> str:
        counts = (
            f"{self.applied:,} applied, {self.duplicates:,} already applied, {len(self.rejected):,} rejected; "
            f"violations: {self.opened:,} opened, {self.resolved:,} resolved"
        )
        if self.interrupted:
            return f"interrupted: {counts} (send the file again to go on: what was applied is skipped)"
        return counts


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    if str(path) == "-":
        yield sys.stdin.buffer
        return
    with path.open("rb") as handle:
        yield handle


def ingest_file(store: Store, path: Path, *, batch_size: int, console: Console) -> IngestReport:
    # A file is applied in batches: judging the few small rounds by their changes (kg.deltas) would first make a
    # one-off command parse the read sets (~3 s; the getting-started file took 7.7 s instead of 4.0 s).
    pipeline = Pipeline.from_store(store, by_changes=False)
    pipeline.recover()
    report = IngestReport()
    total = path.stat().st_size if str(path) != "-" else None
    columns = (TextColumn("ingesting"), BarColumn(), TextColumn("{task.completed:,.0f} bytes"), TimeElapsedColumn())
    with _open(path) as handle, Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("ingest", total=total)
        batch: list[tuple[int, Event]] = []
        try:
            for line, parsed in iter_json_lines(handle, not_after=received_by):  # each line as it is read (stdin)
                if isinstance(parsed, EventRejected):
                    report.rejected.append((line, parsed.reason))
                    continue
                batch.append((line, parsed))
                if len(batch) >= batch_size:
                    _flush(pipeline, batch, report)
                    if total:
                        progress.update(task, completed=handle.tell())
            _flush(pipeline, batch, report)
        except KeyboardInterrupt:  # what a batch cut short applied is kept or recovered at the next start
            report.interrupted = True
    report.rejected.sort()
    return report


def _flush(pipeline: Pipeline, batch: list[tuple[int, Event]], report: IngestReport) -> None:
    if not batch:
        return
    result = pipeline.process([event for _, event in batch])
    for (line, _), outcome in zip(batch, result.outcomes, strict=True):
        if outcome.status == "applied":
            report.applied += 1
        elif outcome.status == "duplicate":
            report.duplicates += 1
        else:
            report.rejected.append((line, outcome.reason or "rejected"))
    report.opened += sum(change.kind == "opened" for change in result.changes)
    report.resolved += sum(change.kind == "resolved" for change in result.changes)
    batch.clear()

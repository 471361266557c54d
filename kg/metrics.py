"""Prometheus metrics of the validation pipeline, for ``GET /metrics`` (``serve``) and the worker's metrics port.

A custom collector reads ``PipelineStats`` (and whatever else the process adds) when scraped, so the pipeline
itself stays free of the client library and pays nothing per event beyond adding to a few counters. Each process
builds its own registry, so several apps in one process (tests) never clash over metric names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kg.pipeline import PipelineStats, clock_moment

CONTENT_TYPE = CONTENT_TYPE_LATEST

Readings = Callable[[], Mapping[str, tuple[str, float]]]
"""Further counters or gauges read at each scrape: name (without ``obligraph_``, nor ``_total``) → (help, value)."""


class PipelineCollector(Collector):
    def __init__(self, stats: PipelineStats, counters: Readings | None = None, gauges: Readings | None = None) -> None:
        self.stats = stats
        self.counters = counters
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        stats = self.stats
        events = CounterMetricFamily(
            "obligraph_events", "Organisation events the pipeline was given, by outcome", labels=["outcome"]
        )
        events.add_metric(["applied"], stats.events_applied)
        events.add_metric(["duplicate"], stats.events_duplicate)
        events.add_metric(["rejected"], stats.events_rejected)
        yield events
        changes = CounterMetricFamily("obligraph_violation_changes", "Violations opened and resolved", labels=["kind"])
        changes.add_metric(["opened"], stats.violations_opened)
        changes.add_metric(["resolved"], stats.violations_resolved)
        yield changes
        yield CounterMetricFamily("obligraph_batches", "Event batches applied and validated", value=stats.batches)
        yield CounterMetricFamily(
            "obligraph_batch_seconds", "Seconds spent applying and validating event batches", value=stats.batch_seconds
        )
        steps = CounterMetricFamily(
            "obligraph_pipeline_step_seconds",
            "Seconds the pipeline spent in each step of its batches, by events and by the clock (kg.pipeline.STEPS)",
            labels=["step"],
        )
        for step, seconds in list(stats.step_seconds.items()):
            steps.add_metric([step], seconds)
        yield steps
        yield CounterMetricFamily(
            "obligraph_organisations_validated",
            "Organisation validations, by events and by the clock",
            value=stats.organisations_validated,
        )
        yield CounterMetricFamily(
            "obligraph_organisations_validated_by_changes",
            "Of those, validations that re-ran only the checks their event could change",
            value=stats.organisations_validated_by_changes,
        )
        yield CounterMetricFamily(
            "obligraph_clock_passes", "Re-validations of every organisation (the clock)", value=stats.clock_passes
        )
        if stats.clock_last_pass_as_of is not None:
            yield GaugeMetricFamily(
                "obligraph_clock_last_pass_as_of_timestamp_seconds",
                "The start (in China) of the latest day a complete clock pass was judged as of",
                value=clock_moment(stats.clock_last_pass_as_of).timestamp(),
            )
        for name, (text, value) in (self.counters() if self.counters else {}).items():
            yield CounterMetricFamily(f"obligraph_{name}", text, value=value)
        for name, (text, value) in (self.gauges() if self.gauges else {}).items():
            yield GaugeMetricFamily(f"obligraph_{name}", text, value=value)


def registry_for(
    stats: PipelineStats, counters: Readings | None = None, gauges: Readings | None = None
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(stats, counters, gauges))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format (``CONTENT_TYPE``)."""
    return generate_latest(registry)

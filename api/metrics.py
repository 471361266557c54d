"""``GET /metrics``: the validation pipeline's counters in the Prometheus text format (``kg.metrics``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from kg.metrics import CONTENT_TYPE, exposition

router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus metrics: events by outcome, violation changes, batches, the clock")
def metrics(request: Request) -> Response:
    """Plain ``def``: the scrape reads a few counters, in the threadpool like every blocking handler."""
    return Response(exposition(request.app.state.metrics), media_type=CONTENT_TYPE)

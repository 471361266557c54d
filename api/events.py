"""``POST /events``: organisation events over the CloudEvents HTTP binding.

https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
- structured mode, one event: ``Content-Type: application/cloudevents+json``;
- batched mode: ``Content-Type: application/cloudevents-batch+json`` (a JSON array; applied all or nothing);
- binary mode: ``ce-*`` headers carry the attributes and the body (``application/json``) is ``data``.

A bad event answers 400 with the reason (and changes nothing); a good one 200 with what it changed; a store that
fails, 502 with its error. The
pipeline's work is blocking, so it runs in the threadpool, never on the event loop. Requests that arrive while a
batch runs are applied and validated together in the next one (``kg.group_commit``), each still all or nothing and
answered with its own outcomes and changes: many clients sending one event each get batch throughput.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final
from urllib.parse import unquote

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.access import RouteAccess
from kg.events import Event, EventRejected, parse_batch, parse_event, received_by
from kg.events.parse import MAX_BATCH_BYTES, parse_json_data
from kg.group_commit import GroupCommit
from kg.pipeline import BatchResult
from kg.store import StoreError

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])

WRITERS: Final = 16
"""Threads for ``POST /events`` of their own: a request waiting for the single writer (``kg.group_commit``) holds
one while it waits, and in the threadpool every other synchronous route shares (``/sparql``, the SPARQL page),
40 waiting behind a long batch left none for them. Requests beyond these wait without a thread; those waiting
together are still applied as one batch."""

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


def get_group_commit(request: Request) -> GroupCommit:
    group_commit: GroupCommit | None = getattr(request.app.state, "group_commit", None)
    if group_commit is None:
        raise RuntimeError("this app was built without a validation pipeline")
    return group_commit


GroupCommitDep = Annotated[GroupCommit, Depends(get_group_commit)]


@router.post(
    "/events",
    summary="Apply organisation events (CloudEvents HTTP binding) and return the violations they open or resolve",
    responses={
        400: {"description": "the event(s) break the contract; the body says why"},
        413: {"description": "the body is larger than 16 MiB"},
        415: {"description": "not a CloudEvents content type, or a compressed body"},
    },
)
async def post_events(request: Request, group_commit: GroupCommitDep) -> JSONResponse:
    access: RouteAccess = request.app.state.events_access
    refused = access.refusal(request)
    if refused is not None:
        return JSONResponse({"error": refused.message}, status_code=refused.status, headers=refused.headers)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        error = f"Content-Encoding {encoding!r} is not accepted: send the JSON uncompressed"
        return JSONResponse({"error": error}, status_code=415)
    body = await _body_within(request, MAX_BATCH_BYTES)
    if body is None:
        error = f"the body is larger than {MAX_BATCH_BYTES} bytes: send fewer events a request"
        return JSONResponse({"error": error}, status_code=413)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    headers = {key.lower(): value for key, value in request.headers.items()}
    limiter = _writers(request)
    return await anyio.to_thread.run_sync(_handle, group_commit, media_type, headers, body, limiter=limiter)


def _writers(request: Request) -> anyio.CapacityLimiter:
    """The app's limiter, made on the event loop its first request runs on (a limiter belongs to one)."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "event_writers", None)
    if limiter is None:
        limiter = request.app.state.event_writers = anyio.CapacityLimiter(WRITERS)
    return limiter


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``limit`` bytes: from its Content-Length, or while it
    streams in (a chunked body has none), so an oversized one is refused without being held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            return None
    return bytes(received)


def _handle(group_commit: GroupCommit, media_type: str, headers: Mapping[str, str], body: bytes) -> JSONResponse:
    if media_type == BATCH:
        try:
            parsed = parse_batch(body, not_after=received_by())
        except EventRejected as rejected:  # not a JSON array at all: no element to point at
            return _rejected([{"index": None, "reason": rejected.reason, "pointer": None}])
    elif media_type == STRUCTURED:
        parsed = [_one(lambda: parse_event(body, not_after=received_by()))]
    elif "ce-specversion" in headers:
        if media_type != "application/json" and not media_type.endswith("+json"):
            given = media_type or "no Content-Type"
            error = f"binary mode carries the event's data as JSON (application/json), got {given}"
            return JSONResponse({"error": error}, status_code=415)
        parsed = [_one(lambda: parse_event(_binary_event(headers, body), not_after=received_by()))]
    elif any(key.startswith("ce-") for key in headers):
        sent = ", ".join(sorted(key for key in headers if key.startswith("ce-")))
        reason = f"binary mode needs a ce-specversion header (1.0) beside the others ({sent})"
        return _rejected([{"index": 0, "reason": reason, "pointer": "/specversion"}])
    else:
        return JSONResponse(
            {"error": f"send {STRUCTURED}, {BATCH}, or binary mode (ce-* headers with a JSON body)"},
            status_code=415,
        )
    problems = [
        {"index": index, "reason": item.reason, "pointer": item.pointer}
        for index, item in enumerate(parsed)
        if isinstance(item, EventRejected)
    ]
    if problems:
        group_commit.pipeline.stats.count_refused(len(problems))
        return _rejected(problems)
    events = [item for item in parsed if isinstance(item, Event)]
    try:
        result = group_commit.process(events)
    except StoreError as error:
        log.warning("POST /events: the store failed: %s", error)
        failed = (
            f"the store failed: {error}. What was committed before the failure is kept, and judged with the next "
            "request once the store answers; sending the same events again is safe: those applied are repeats"
        )
        return JSONResponse({"error": failed}, status_code=502)
    refused = [
        {"index": index, "reason": outcome.reason}
        for index, outcome in enumerate(result.outcomes)
        if outcome.status == "rejected"
    ]
    if refused:
        return _rejected(refused)
    return JSONResponse(_report(result))


def _one(parse: Any) -> Event | EventRejected:
    try:
        event: Event = parse()
    except EventRejected as rejected:
        return rejected
    return event


def _binary_event(headers: Mapping[str, str], body: bytes) -> dict[str, object]:
    """Binary mode: ``ce-<attribute>`` headers, percent-decoded as the CloudEvents HTTP binding says (3.1.3.2), and
    the body is the data (JSON)."""
    event: dict[str, object] = {
        key[3:]: _header_value(key, value) for key, value in headers.items() if key.startswith("ce-")
    }
    try:
        event["data"] = parse_json_data(body)
    except EventRejected as rejected:
        raise EventRejected(f"the body (the event's data): {rejected.reason}", rejected.pointer) from None
    event["datacontenttype"] = "application/json"
    return event


def _header_value(name: str, value: str) -> str:
    """A ``ce-`` header's value: ASCII, with what is not percent-encoded as UTF-8 (CloudEvents HTTP binding 3.1.3.2).
    The server reads header bytes as Latin-1, so a raw UTF-8 value or a bad escape would otherwise be stored garbled
    (and two different ids could read as one)."""
    if not value.isascii():
        raise EventRejected(
            f"header {name}: a value that is not ASCII must be percent-encoded as UTF-8", f"/{name[3:]}"
        )
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise EventRejected(f"header {name}: its percent-encoding is not UTF-8: {value!r}", f"/{name[3:]}") from None


def _rejected(problems: Sequence[Mapping[str, object]]) -> JSONResponse:
    first = problems[0]["reason"]
    return JSONResponse({"error": f"rejected, nothing applied: {first}", "rejected": problems}, status_code=400)


def _report(result: BatchResult) -> dict[str, object]:
    return {
        "results": [
            {"id": outcome.event.id, "source": outcome.event.source, "status": outcome.status}
            for outcome in result.outcomes
        ],
        "violations": [change.to_cloudevent() for change in result.changes],
    }

"""From untrusted bytes to an ``Event`` or one ``EventRejected``: the first step of every ingestion path.

The Kafka worker calls ``parse_event`` per message, ``POST /events`` calls it (or ``parse_batch`` for
``application/cloudevents-batch+json``), and ``obligraph ingest`` calls ``iter_json_lines``. Input is
hostile until proven otherwise: size and nesting are bounded before validation, the text must be UTF-8 JSON
without NaN or Infinity, and nothing but ``EventRejected`` leaves for a bad event.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from kg.events.envelope import Event
from kg.events.errors import EventRejected, describe, json_pointer, rejection_from
from kg.events.values import CHINA

MAX_EVENT_BYTES: Final = 1 << 20
MAX_BATCH_BYTES: Final = 16 << 20
MAX_DEPTH: Final = 32  # the event object is depth 1, its data depth 2, a list in the data depth 3
MAX_AHEAD: Final = timedelta(minutes=5)
"""How far an event's ``time`` may be ahead of the receiving server's clock (``not_after``): a producer's clock a
little fast. One further ahead is refused: judged as of a moment to come, it opened violations dated then, which the
next clock pass (as of today) resolved before they had opened."""

RawEvent = bytes | bytearray | str | Mapping[str, object]


def parse_event(raw: RawEvent, *, not_after: datetime | None = None) -> Event:
    """One event from JSON text (bytes must be UTF-8) or from an already decoded JSON object; with ``not_after``
    (what the receiving server takes as now, ``received_by``), one whose ``time`` is later is refused."""
    if isinstance(raw, Mapping):
        value: object = raw
    elif isinstance(raw, bytes | bytearray | str):
        value = _load_json(raw, MAX_EVENT_BYTES)
    else:
        raise EventRejected(f"expected JSON text or a JSON object, got {describe(raw)}")
    return _not_ahead(_event_from(value), not_after)


def received_by(sent: datetime | None = None) -> datetime:
    """The latest ``time`` an event received now may carry: the server's clock, ``MAX_AHEAD`` on; or, given when it
    was sent (a Kafka record's timestamp), that moment if earlier (a worker behind its topic)."""
    now = datetime.now(UTC)
    return (min(now, sent) if sent is not None else now) + MAX_AHEAD


def _not_ahead(event: Event, not_after: datetime | None) -> Event:
    if not_after is not None and event.time > not_after:
        ahead = event.time - (not_after - MAX_AHEAD)
        raise EventRejected(
            f"time: {event.time.isoformat()} is {_duration(ahead)} ahead of when it was received (more than "
            f"{int(MAX_AHEAD.total_seconds() // 60)} minutes): an event reports what has become true, so send it "
            "once it has (a launch or a retirement to come is announced by its launchedOn or retiredOn)",
            "/time",
        )
    return event


def _duration(span: timedelta) -> str:
    if span >= timedelta(days=2):
        return f"{span.days:,} days"
    if span >= timedelta(hours=2):
        return f"{span.total_seconds() / 3600:.0f} hours"
    return f"{span.total_seconds() / 60:.0f} minutes"


def parse_batch(raw: bytes | bytearray | str, *, not_after: datetime | None = None) -> list[Event | EventRejected]:
    """A CloudEvents JSON batch (a JSON array of events): one result per element, in order.

    The whole body is rejected (raised) only when it is not a JSON array; a bad element is returned as
    its ``EventRejected`` (with the element as ``payload``) beside its good neighbours.
    """
    value = _load_json(raw, MAX_BATCH_BYTES)
    if not isinstance(value, list):
        raise EventRejected(f"a batch must be a JSON array of events, got {describe(value)}")
    results: list[Event | EventRejected] = []
    for element in value:
        try:
            if len(raw) > MAX_EVENT_BYTES and _encoded_size(element) > MAX_EVENT_BYTES:  # as one event sent alone
                raise EventRejected(f"event is larger than {MAX_EVENT_BYTES} bytes")
            results.append(_not_ahead(_event_from(element), not_after))
        except EventRejected as rejected:
            results.append(rejected.with_payload(_as_text(element)))
    return results


def parse_json_data(raw: bytes | bytearray) -> object:
    """An event's data sent as a body of its own (the HTTP binding's binary mode), under the same limits as an
    event: size, UTF-8, JSON only, nesting."""
    value = _load_json(raw, MAX_EVENT_BYTES)
    if isinstance(value, Mapping | list):
        _check_json_value({"data": value})
    return value


def _encoded_size(element: object) -> int:
    try:
        return len(json.dumps(element, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return 0  # what cannot be written back is refused by the checks of its content


def _as_text(element: object) -> str | None:
    try:
        return json.dumps(element, ensure_ascii=False)
    except (ValueError, RecursionError):
        return None


def iter_json_lines(
    stream: Iterable[bytes] | Iterable[str], *, not_after: Callable[[], datetime] | None = None
) -> Iterator[tuple[int, Event | EventRejected]]:
    """Events of a JSON Lines stream with their 1-based line numbers; blank lines are skipped.

    Given a file (anything with ``readline``), a line is never read whole past the size limit, so one
    enormous line costs bounded memory and is reported as too large.
    """
    for number, line in enumerate(_bounded_lines(stream), start=1):
        if line is None:
            yield number, EventRejected(f"line is larger than {MAX_EVENT_BYTES} bytes")
            continue
        if not line.strip():
            continue
        try:
            yield number, parse_event(_without_newline(line), not_after=not_after() if not_after else None)
        except EventRejected as rejected:
            yield number, rejected.with_payload(_without_newline(line))


def _without_newline(line: bytes | str) -> bytes | str:
    return line.rstrip(b"\r\n") if isinstance(line, bytes) else line.rstrip("\r\n")


def _bounded_lines(stream: Iterable[bytes] | Iterable[str]) -> Iterator[bytes | str | None]:
    """Lines of ``stream``; None stands for a line over the size limit (whose rest is skipped)."""
    readline = getattr(stream, "readline", None)
    if readline is None:
        yield from stream
        return
    limit = MAX_EVENT_BYTES + 2  # room for "\r\n"
    while line := readline(limit):
        if len(line) < limit or line.endswith(b"\n" if isinstance(line, bytes) else "\n"):
            yield line
            continue
        while (rest := readline(limit)) and not rest.endswith(b"\n" if isinstance(rest, bytes) else "\n"):
            pass
        yield None


def _event_from(value: object) -> Event:
    if not isinstance(value, Mapping):
        raise EventRejected(f"an event must be a JSON object, got {describe(value)}")
    _check_json_value(value)
    if "data_base64" in value:  # the JSON format's binary data: never both, and these events carry JSON
        raise EventRejected("data_base64: events carry their data as a JSON object in data, not base64", "/data_base64")
    try:
        event = Event.model_validate(dict(value))
    except ValidationError as error:
        raise rejection_from(error) from None
    return _done_by_its_time(event)


def _done_by_its_time(event: Event) -> Event:
    """A filing, an assessment or a publication is reported once done: one dated after the event's day in China
    would, judged as of the event, count as evidence before it exists (a yearly assessment "completed" next March
    would renew its clock today)."""
    data = event.data
    if data.done_on is None:
        return event
    done, day = getattr(data, data.done_on), event.time.astimezone(CHINA).date()
    if done > day:
        name = type(data).model_fields[data.done_on].alias
        raise EventRejected(
            f"data.{name}: {done.isoformat()} is after the event's day in China ({day.isoformat()}, from its time): "
            "an event reports what was done by its time",
            f"/data/{name}",
        )
    return event


class _NotJsonError(ValueError):
    pass


def _no_constants(name: str) -> object:
    raise _NotJsonError(f"{name} is not a JSON number")


def _load_json(raw: bytes | bytearray | str, limit: int) -> object:
    if len(raw) > limit or (isinstance(raw, str) and len(raw.encode("utf-8", "surrogatepass")) > limit):
        raise EventRejected(f"body is larger than {limit} bytes")
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            reason = f"not valid JSON: not UTF-8 text (bad byte at position {error.start})"
            raise EventRejected(reason) from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}" if "\n" in text.strip() else f"character {error.pos + 1}"
        raise EventRejected(f"not valid JSON: {error.msg.removesuffix(' at')} at {where}") from None
    except _NotJsonError as error:
        raise EventRejected(f"not valid JSON: {error}") from None
    except ValueError:  # int() refuses numbers of more than 4300 digits
        raise EventRejected("not valid JSON: a number has too many digits") from None
    except RecursionError:
        raise EventRejected(f"JSON is nested deeper than {MAX_DEPTH} levels") from None


def _check_json_value(root: Mapping[str, object]) -> None:
    """Nesting depth, JSON types only (a Mapping may come from Python), finite numbers, encodable strings."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(root, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            raise EventRejected(f"JSON is nested deeper than {MAX_DEPTH} levels", json_pointer(path))
        items: Iterable[tuple[str | int, object]]
        if isinstance(value, Mapping):
            for key in value:
                if not isinstance(key, str) or not _encodable(key):
                    reason = f"object keys must be UTF-8 strings, got {describe(key)}"
                    raise EventRejected(reason, json_pointer(path))
            items = value.items()
        else:
            items = enumerate(value)
        for key, item in items:
            if isinstance(item, Mapping | list | tuple):
                stack.append((item, depth + 1, (*path, key)))
            elif problem := _scalar_problem(item):
                raise EventRejected(problem, json_pointer((*path, key)))


def _scalar_problem(value: object) -> str | None:
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"number out of range: {value}"
    if isinstance(value, str):
        return None if _encodable(value) else "string holds a lone UTF-16 surrogate, not encodable as UTF-8"
    return f"not a JSON value: {describe(value)}"


def _encodable(text: str) -> bool:
    """False for lone surrogates (``"\\ud800"``), which no UTF-8 consumer downstream could store."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

"""Hypothesis strategies for valid organisation events, as the JSON objects a producer would send.

``events()`` draws one event of any (or a given) type; ``payloads(type)`` just its ``data``;
``organisation_histories()`` a whole, consistent history of one organisation (registered first; systems
deployed before anything names them and never named after retirement; transfers started before they
end; times increasing), for tests that need many organisations with random profiles.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import iso3166
from hypothesis import strategies as st

from kg.events import EVENT_TYPES
from kg.events.codes import (
    ASSESSMENT_KINDS,
    ASSESSMENT_OUTCOMES,
    CAPABILITIES,
    CN_SUBDIVISIONS,
    DISCLOSURE_KINDS,
    FILING_KINDS,
    ORGANISATION_CONTROL_KINDS,
    SECTORS,
    SYSTEM_CONTROL_KINDS,
    TRANSFER_MECHANISMS,
    authority_codes,
)
from kg.events.values import CHINA, MAX_COUNT

JsonObject = dict[str, Any]
Ids = st.SearchStrategy[str] | None

identifiers = st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)
credit_codes = st.from_regex(r"91[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}", fullmatch=True)
organisation_ids = st.one_of(credit_codes, identifiers)
dates = st.dates(date(2015, 1, 1), date(2035, 12, 31))
iso_dates = dates.map(date.isoformat)
offsets = st.integers(-12 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
instants = st.datetimes(datetime(2015, 1, 1), datetime(2035, 12, 31), timezones=offsets)
timestamps = instants.map(lambda t: t.isoformat().replace("+00:00", "Z"))
DONE_BY_ITS_TIME = frozenset({"filing.completed", "assessment.completed", "disclosure.published"})
texts = st.text(min_size=1, max_size=60).filter(str.strip)
counts = st.one_of(st.integers(0, 2_000_000_000), st.sampled_from([0, 1_000_000, 10_000_000, MAX_COUNT]))
flags = st.booleans()
jurisdictions = st.sampled_from(["CN", *sorted(CN_SUBDIVISIONS)])
destinations = st.sampled_from(sorted(set(iso3166.countries_by_alpha2) - {"CN"}))
authorities = st.deferred(lambda: st.sampled_from(authority_codes()))
urls = st.builds(
    "https://{}.example.cn/{}".format,
    st.text(string.ascii_lowercase, min_size=1, max_size=12),
    st.text(string.ascii_lowercase + string.digits + "-/", max_size=20),
)
sources = st.one_of(organisation_ids.map("urn:org:{}".format), st.just("https://erp.example.cn"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# Unknown fields a producer may add; the "x-" prefix keeps them clear of every contract field.
extras = st.dictionaries(st.from_regex(r"x-[a-zA-Z]{1,8}", fullmatch=True), json_values, max_size=2)


def _codes(values: tuple[str, ...], min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), unique=True, min_size=min_size, max_size=len(values))


ORGANISATION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": texts,
    "jurisdiction": jurisdictions,
    "sectors": _codes(SECTORS),
    "ciiOperator": flags,
    "importantDataProcessor": flags,
    "personalInformationSubjects": counts,
}
SYSTEM_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": texts,
    "capabilities": _codes(CAPABILITIES, min_size=1),
    "launchedOn": iso_dates,
    "publicFacing": flags,
    "publicOpinionAttributes": flags,
    "sectors": _codes(SECTORS),
    "monthlyActiveUsers": counts,
    "processesPersonalInformation": flags,
    "largeScale": flags,
}
_SYSTEM_REQUIRED = ("name", "capabilities", "launchedOn")


def _object(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[JsonObject]:
    fields = st.fixed_dictionaries(required, optional=optional or {})
    return st.tuples(fields, extras).map(lambda pair: {**pair[1], **pair[0]})


def _some(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[JsonObject]:
    """At least one of ``fields`` (what an update needs)."""
    return st.sampled_from(sorted(fields)).flatmap(
        lambda first: st.fixed_dictionaries(
            {first: fields[first]}, optional={k: v for k, v in fields.items() if k != first}
        )
    )


def payloads(
    event_type: str, *, system_ids: Ids = None, transfer_ids: Ids = None, on: Ids = None
) -> st.SearchStrategy[JsonObject]:
    """Valid ``data`` for ``event_type``; ids and the event's date may be pinned by the caller."""
    system = identifiers if system_ids is None else system_ids
    transfer = identifiers if transfer_ids is None else transfer_ids
    day = iso_dates if on is None else on
    system_only = {k: v for k, v in SYSTEM_FIELDS.items() if k not in _SYSTEM_REQUIRED}
    builders: dict[str, Callable[[], st.SearchStrategy[JsonObject]]] = {
        "organisation.registered": lambda: _object(
            {"name": texts, "jurisdiction": jurisdictions},
            {k: v for k, v in ORGANISATION_FIELDS.items() if k not in ("name", "jurisdiction")},
        ),
        "organisation.updated": lambda: st.tuples(_some(ORGANISATION_FIELDS), extras).map(
            lambda pair: {**pair[1], **pair[0]}
        ),
        "aisystem.deployed": lambda: _object(
            {
                "systemId": system,
                "name": texts,
                "capabilities": SYSTEM_FIELDS["capabilities"],
                "launchedOn": day,
            },
            system_only,
        ),
        "aisystem.updated": lambda: st.tuples(_object({"systemId": system}), _some(SYSTEM_FIELDS)).map(
            lambda pair: {**pair[0], **pair[1]}
        ),
        "aisystem.retired": lambda: _object({"systemId": system, "retiredOn": day}),
        "filing.completed": lambda: _object(
            {
                "systemId": system,
                "kind": st.sampled_from(FILING_KINDS),
                "filingNumber": st.from_regex(r"网信算备[0-9]{18}号", fullmatch=True),
                "authority": authorities,
                "filedOn": day,
            }
        ),
        "assessment.completed": lambda: _object(
            {
                "kind": st.sampled_from(ASSESSMENT_KINDS),
                "completedOn": day,
                "outcome": st.sampled_from(ASSESSMENT_OUTCOMES),
            },
            {"systemId": system, "transferId": transfer, "assessor": texts},
        ),
        "disclosure.published": lambda: _object(
            {"systemId": system, "kind": st.sampled_from(DISCLOSURE_KINDS), "publishedOn": day}, {"url": urls}
        ),
        "control.implemented": lambda: _controls(system, day),
        "control.withdrawn": lambda: _controls(system, day),
        "transfer.started": lambda: _object(
            {"transferId": transfer, "destination": destinations, "startedOn": day},
            {
                "personalInformationSubjects": counts,
                "importantData": flags,
                "mechanism": st.sampled_from(TRANSFER_MECHANISMS),
            },
        ),
        "transfer.ended": lambda: _object({"transferId": transfer, "endedOn": day}),
    }
    return builders[event_type]()


def _controls(system: st.SearchStrategy[str], day: st.SearchStrategy[str]) -> st.SearchStrategy[JsonObject]:
    return st.one_of(
        _object({"kind": st.sampled_from(SYSTEM_CONTROL_KINDS), "since": day, "systemId": system}),
        _object({"kind": st.sampled_from(ORGANISATION_CONTROL_KINDS), "since": day}),
    )


def _without(*keys: set[str]) -> Callable[[JsonObject], JsonObject]:
    dropped = set().union(*keys)
    return lambda data: {k: v for k, v in data.items() if k not in dropped}


@st.composite
def events(
    draw: st.DrawFn,
    event_type: str | None = None,
    *,
    subject: str | None = None,
    data: st.SearchStrategy[JsonObject] | None = None,
) -> JsonObject:
    """One valid event (a JSON object), of ``event_type`` or of any type."""
    kind = event_type or draw(st.sampled_from(EVENT_TYPES))
    moment = draw(instants)
    # what a filing, assessment or publication reports was done by the event's day in China (kg.events.envelope)
    done_by = st.dates(date(2014, 12, 31), moment.astimezone(CHINA).date()).map(date.isoformat)
    envelope: JsonObject = {
        "specversion": "1.0",
        "id": draw(st.uuids().map(str) | identifiers),
        "source": draw(sources),
        "type": kind,
        "time": moment.isoformat().replace("+00:00", "Z"),
        "subject": subject or draw(organisation_ids),
        "data": draw(payloads(kind, on=done_by if kind in DONE_BY_ITS_TIME else None) if data is None else data),
    }
    if draw(st.booleans()):
        envelope["datacontenttype"] = "application/json"
    if draw(st.booleans()):
        envelope["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    return envelope


@st.composite
def organisation_histories(
    draw: st.DrawFn, subject: str | None = None, *, max_systems: int = 3, max_steps: int = 15
) -> list[JsonObject]:
    """A consistent history of one organisation, in time order, with ids unique per source."""
    org = subject or draw(organisation_ids)
    source = f"urn:org:{org}"
    now = draw(st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)))
    history: list[JsonObject] = []
    live: list[str] = []
    transfers: list[str] = []

    def emit(kind: str, data: st.SearchStrategy[JsonObject]) -> None:
        nonlocal now
        now += draw(st.timedeltas(timedelta(minutes=1), timedelta(days=90)))
        event = {"specversion": "1.0", "id": f"{org}-{len(history) + 1}", "source": source, "type": kind}
        history.append({**event, "time": now.isoformat(), "subject": org, "data": draw(data)})

    def today() -> st.SearchStrategy[str]:
        return st.just(now.date().isoformat())

    emit("organisation.registered", payloads("organisation.registered"))
    for system_id in draw(st.lists(identifiers, unique=True, max_size=max_systems)):
        emit("aisystem.deployed", payloads("aisystem.deployed", system_ids=st.just(system_id), on=today()))
        live.append(system_id)
    for _ in range(draw(st.integers(0, max_steps))):
        kinds = ["organisation.updated", "transfer.started", "assessment.completed"]
        kinds += ["control.implemented", "control.withdrawn"]
        kinds += ["aisystem.updated", "aisystem.retired", "filing.completed", "disclosure.published"] if live else []
        kinds += ["transfer.ended"] if transfers else []
        kind = draw(st.sampled_from(kinds))
        system = st.sampled_from(live) if live else None
        transfer = st.sampled_from(transfers) if transfers else None
        if kind == "transfer.started":
            transfer = identifiers.filter(lambda t: t not in transfers)
        data = payloads(kind, system_ids=system, transfer_ids=transfer, on=today())
        if kind.startswith("control.") and not live:
            data = _object({"kind": st.sampled_from(ORGANISATION_CONTROL_KINDS), "since": today()})
        if kind == "assessment.completed":  # its optional ids name only what the organisation has
            data = data.map(_without({"systemId"} if not live else set(), {"transferId"} if not transfers else set()))
        emit(kind, data)
        data = history[-1]["data"]
        if kind == "aisystem.retired":
            live.remove(data["systemId"])
        elif kind == "transfer.started":
            transfers.append(data["transferId"])
        elif kind == "transfer.ended":
            transfers.remove(data["transferId"])
    return history

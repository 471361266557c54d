"""The event contract (``shared/spec/events.md``): what parses, what is rejected, and with which reason."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.events import (
    ALL_PAYLOADS,
    EVENT_TYPES,
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    PAYLOADS,
    AISystemDeployed,
    AISystemUpdated,
    Event,
    EventRejected,
    OrganisationRegistered,
    OrganisationUpdated,
    iter_json_lines,
    parse_batch,
    parse_event,
)
from kg.events.codes import authority_codes
from kg.events.parse import MAX_AHEAD
from kg.events.values import CHINA
from tests.support.event_strategies import events, json_values, organisation_histories

ORG = "91110108MA01XXXX0X"

# The contract's field tables as data: type → (required data fields, optional data fields).
CONTRACT: dict[str, tuple[set[str], set[str]]] = {
    "organisation.registered": (
        {"name", "jurisdiction"},
        {"sectors", "ciiOperator", "importantDataProcessor", "personalInformationSubjects"},
    ),
    "organisation.updated": (
        set(),
        {
            "name",
            "jurisdiction",
            "sectors",
            "ciiOperator",
            "importantDataProcessor",
            "personalInformationSubjects",
        },
    ),
    "aisystem.deployed": (
        {"systemId", "name", "capabilities", "launchedOn"},
        {
            "publicFacing",
            "publicOpinionAttributes",
            "sectors",
            "monthlyActiveUsers",
            "processesPersonalInformation",
            "largeScale",
        },
    ),
    "aisystem.updated": (
        {"systemId"},
        {
            "name",
            "capabilities",
            "launchedOn",
            "publicFacing",
            "publicOpinionAttributes",
            "sectors",
            "monthlyActiveUsers",
            "processesPersonalInformation",
            "largeScale",
        },
    ),
    "aisystem.retired": ({"systemId", "retiredOn"}, set()),
    "filing.completed": ({"systemId", "kind", "filingNumber", "authority", "filedOn"}, set()),
    "assessment.completed": ({"kind", "completedOn", "outcome"}, {"systemId", "transferId", "assessor"}),
    "disclosure.published": ({"systemId", "kind", "publishedOn"}, {"url"}),
    "control.implemented": ({"kind", "since"}, {"systemId"}),
    "control.withdrawn": ({"kind", "since"}, {"systemId"}),
    "transfer.started": (
        {"transferId", "destination", "startedOn"},
        {"personalInformationSubjects", "importantData", "mechanism"},
    ),
    "transfer.ended": ({"transferId", "endedOn"}, set()),
}

# One valid example per type, with every required field (and a few optional ones).
EXAMPLES: dict[str, dict[str, Any]] = {
    "organisation.registered": {
        "name": "北京示例科技有限公司",
        "jurisdiction": "CN-BJ",
        "sectors": ["finance"],
    },
    "organisation.updated": {"personalInformationSubjects": 1_200_000},
    "aisystem.deployed": {
        "systemId": "chat-1",
        "name": "Example Chat",
        "capabilities": ["text-generation", "image-generation"],
        "launchedOn": "2026-03-01",
    },
    "aisystem.updated": {"systemId": "chat-1", "monthlyActiveUsers": 2_000_000},
    "aisystem.retired": {"systemId": "chat-1", "retiredOn": "2027-01-31"},
    "filing.completed": {
        "systemId": "chat-1",
        "kind": "generative-ai-service",
        "filingNumber": "Beijing-SC-2026-001",
        "authority": "CAC-BJ",
        "filedOn": "2026-02-27",
    },
    "assessment.completed": {"kind": "security", "completedOn": "2026-02-20", "outcome": "passed"},
    "disclosure.published": {
        "systemId": "chat-1",
        "kind": "transparency-report",
        "publishedOn": "2026-02-28",
    },
    "control.implemented": {"kind": "explicit-content-label", "since": "2026-03-01", "systemId": "chat-1"},
    "control.withdrawn": {"kind": "ethics-committee", "since": "2026-09-01"},
    "transfer.started": {"transferId": "t-1", "destination": "DE", "startedOn": "2026-04-01"},
    "transfer.ended": {"transferId": "t-1", "endedOn": "2026-12-31"},
}


def envelope(event_type: str = "aisystem.deployed", data: Any = None, **attrs: Any) -> dict:
    event = {
        "specversion": "1.0",
        "id": "evt-0001",
        "source": f"urn:org:{ORG}",
        "type": event_type,
        "time": "2026-03-01T09:30:00+08:00",
        "subject": ORG,
        "data": dict(EXAMPLES[event_type]) if data is None else data,
    }
    return {**event, **attrs}


def with_data(event_type: str, **changes: Any) -> dict:
    return envelope(event_type, {**EXAMPLES[event_type], **changes})


def rejection(raw: Any) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(raw)
    return caught.value


# The contract ---------------------------------------------------------------------------------------------


def test_dispatch_table_is_built_from_the_models_and_covers_the_contract() -> None:
    assert set(EVENT_TYPES) == set(CONTRACT)
    assert len(PAYLOADS) == len(ALL_PAYLOADS)
    assert all(PAYLOADS[model.event_type] is model for model in ALL_PAYLOADS)


@pytest.mark.parametrize("event_type", sorted(CONTRACT))
def test_data_model_fields_are_the_contract_fields(event_type: str) -> None:
    required, optional = CONTRACT[event_type]
    fields = PAYLOADS[event_type].model_fields.values()
    assert {f.alias for f in fields if f.is_required()} == required
    assert {f.alias for f in fields if not f.is_required()} == optional


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_example_of_each_type_parses_to_its_model(event_type: str) -> None:
    event = parse_event(json.dumps(envelope(event_type)))
    assert type(event.data) is PAYLOADS[event_type]
    assert event.type == event_type
    assert parse_event(event.model_dump(mode="json")) == event


def test_contract_defaults_are_applied() -> None:
    data = parse_event(envelope("aisystem.deployed")).data
    assert isinstance(data, AISystemDeployed)
    assert data.public_facing is True
    assert data.public_opinion_attributes is False
    assert data.sectors == ()
    assert data.monthly_active_users is None
    assert data.launched_on == date(2026, 3, 1)
    assert data.capabilities == ("text-generation", "image-generation")


def test_event_accessors() -> None:
    deployed = parse_event(envelope("aisystem.deployed"))
    assert deployed.key == (f"urn:org:{ORG}", "evt-0001")
    assert deployed.organisation_id == ORG
    assert deployed.system_id == "chat-1"
    assert deployed.transfer_id is None
    transfer = parse_event(envelope("transfer.started"))
    assert (transfer.system_id, transfer.transfer_id) == (None, "t-1")
    # An unknown field called like a Python attribute is not the system id.
    stray = parse_event(envelope("transfer.ended", {**EXAMPLES["transfer.ended"], "system_id": "x"}))
    assert stray.system_id is None


def test_time_keeps_its_offset() -> None:
    event = parse_event(envelope())
    assert event.time == datetime.fromisoformat("2026-03-01T01:30:00+00:00")
    assert event.time.utcoffset() == timedelta(hours=8)
    assert parse_event(envelope(time="2026-03-01T01:30:00.123Z")).time.utcoffset() == timedelta(0)
    assert event.model_dump(mode="json")["time"] == "2026-03-01T09:30:00+08:00"


def test_authority_codes_are_the_reference_bodies_with_the_event_spelling() -> None:
    reference = Path(__file__).parents[1] / "kg" / "reference" / "bodies_actors_sectors.yaml"
    bodies = {b["id"] for b in yaml.safe_load(reference.read_text(encoding="utf-8"))["enforcement_bodies"]}
    assert set(authority_codes()) == (bodies - {"BJ_CAC"}) | {"CAC-BJ"}
    assert {"CAC", "CAC-BJ", "MIIT", "MPS", "MOST", "SAMR", "NDB"} <= set(authority_codes())


# Missing and wrong fields ---------------------------------------------------------------------------------

ENVELOPE_REQUIRED = ["specversion", "id", "source", "type", "time", "subject", "data"]


@pytest.mark.parametrize("attribute", ENVELOPE_REQUIRED)
def test_missing_envelope_attribute_is_rejected(attribute: str) -> None:
    event = envelope()
    del event[attribute]
    rejected = rejection(event)
    assert rejected.pointer == f"/{attribute}"
    assert rejected.reason == f"{attribute}: required field is missing"


@pytest.mark.parametrize(("event_type", "field"), [(t, f) for t in sorted(CONTRACT) for f in sorted(CONTRACT[t][0])])
def test_missing_required_data_field_is_rejected(event_type: str, field: str) -> None:
    data = {**EXAMPLES[event_type]}
    del data[field]
    rejected = rejection(envelope(event_type, data))
    assert rejected.pointer == f"/data/{field}"
    assert rejected.reason.startswith(f"data.{field}: ")


WRONG: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, event, pointer, words the reason must contain)
    (
        "count as string",
        with_data("aisystem.updated", monthlyActiveUsers="5"),
        "/data/monthlyActiveUsers",
        "'5'",
    ),
    (
        "count as bool",
        with_data("aisystem.updated", monthlyActiveUsers=True),
        "/data/monthlyActiveUsers",
        "true",
    ),
    (
        "negative count",
        with_data("transfer.started", personalInformationSubjects=-1),
        "/data/personalInformationSubjects",
        "-1",
    ),
    (
        "float count",
        with_data("aisystem.updated", monthlyActiveUsers=5.0),
        "/data/monthlyActiveUsers",
        "decimal point",
    ),
    (
        "huge count",
        with_data("aisystem.updated", monthlyActiveUsers=2**64),
        "/data/monthlyActiveUsers",
        "integer",
    ),
    (
        "bool as string",
        with_data("aisystem.deployed", publicFacing="true"),
        "/data/publicFacing",
        "true or false",
    ),
    ("bool as int", with_data("aisystem.deployed", largeScale=1), "/data/largeScale", "true or false"),
    (
        "count past 64 bits",
        with_data("aisystem.deployed", monthlyActiveUsers=2**64),
        "/data/monthlyActiveUsers",
        "at most 9223372036854775807",
    ),
    ("US date", with_data("aisystem.deployed", launchedOn="03/01/2026"), "/data/launchedOn", "'03/01/2026'"),
    (
        "date with time",
        with_data("aisystem.retired", retiredOn="2027-01-31T00:00:00Z"),
        "/data/retiredOn",
        "ISO 8601",
    ),
    ("basic-format date", with_data("aisystem.retired", retiredOn="20270131"), "/data/retiredOn", "ISO 8601"),
    (
        "impossible date",
        with_data("aisystem.retired", retiredOn="2027-02-30"),
        "/data/retiredOn",
        "calendar date",
    ),
    ("date as number", with_data("aisystem.retired", retiredOn=1769817600), "/data/retiredOn", "1769817600"),
    ("date past 2100", with_data("aisystem.retired", retiredOn="2101-01-01"), "/data/retiredOn", "after 2100-12-31"),
    ("time in year 9999", envelope(time="9999-12-20T09:00:00+08:00"), "/time", "after 2100-12-31"),
    ("naive time", envelope(time="2026-03-01T09:30:00"), "/time", "time-zone offset"),
    ("date as time", envelope(time="2026-03-01"), "/time", "RFC 3339"),
    ("impossible time", envelope(time="2026-13-01T00:00:00Z"), "/time", "not a valid"),
    ("subject with space", envelope(subject="9111 0108"), "/subject", "identifier"),
    ("subject of 65 chars", envelope(subject="a" * 65), "/subject", "1–64"),
    ("empty subject", envelope(subject=""), "/subject", "identifier"),
    ("subject with newline", envelope(subject="abc\n"), "/subject", "identifier"),
    ("systemId with slash", with_data("aisystem.retired", systemId="a/b"), "/data/systemId", "identifier"),
    (
        "unknown capability",
        with_data("aisystem.deployed", capabilities=["mind-reading"]),
        "/data/capabilities/0",
        "'mind-reading'",
    ),
    (
        "capabilities not a list",
        with_data("aisystem.deployed", capabilities="text-generation"),
        "/data/capabilities",
        "a list",
    ),
    (
        "unknown sector",
        with_data("organisation.registered", sectors=["banking"]),
        "/data/sectors/0",
        "'banking'",
    ),
    ("unknown authority", with_data("filing.completed", authority="FBI"), "/data/authority", "'FBI'"),
    ("reference spelling", with_data("filing.completed", authority="BJ_CAC"), "/data/authority", "CAC-BJ"),
    ("unknown filing kind", with_data("filing.completed", kind="patent"), "/data/kind", "'patent'"),
    ("unknown outcome", with_data("assessment.completed", outcome="ok"), "/data/outcome", "'passed'"),
    (
        "unknown mechanism",
        with_data("transfer.started", mechanism="email"),
        "/data/mechanism",
        "'standard-contract'",
    ),
    (
        "lower-case destination",
        with_data("transfer.started", destination="de"),
        "/data/destination",
        "ISO 3166-1",
    ),
    (
        "destination China",
        with_data("transfer.started", destination="CN"),
        "/data/destination",
        "cannot be CN",
    ),
    (
        "user-assigned destination",
        with_data("transfer.started", destination="ZZ"),
        "/data/destination",
        "'ZZ' is not an ISO 3166-1 country code",
    ),
    (
        "unknown province",
        with_data("organisation.registered", jurisdiction="CN-XX"),
        "/data/jurisdiction",
        "CN-XX",
    ),
    (
        "jurisdiction abroad",
        with_data("organisation.registered", jurisdiction="US-CA"),
        "/data/jurisdiction",
        "ISO 3166-2",
    ),
    ("blank name", with_data("organisation.registered", name="  "), "/data/name", "non-blank"),
    ("name as number", with_data("organisation.registered", name=42), "/data/name", "42"),
    ("url not http", with_data("disclosure.published", url="ftp://x.cn/r"), "/data/url", "http"),
    (
        "organisation control with systemId",
        with_data("control.withdrawn", systemId="chat-1"),
        "/data/systemId",
        "organisation-wide",
    ),
    ("text/plain content", envelope(datacontenttype="text/plain"), "/datacontenttype", "application/json"),
    ("specversion 0.3", envelope(specversion="0.3"), "/specversion", "'0.3'"),
    ("specversion as number", envelope(specversion=1.0), "/specversion", "1.0"),
    ("unknown type", envelope(type="aisystem.exploded"), "/type", "is not one of: organisation.registered"),
    ("source with space", envelope(source="urn:org:a b"), "/source", "URI-reference"),
    ("empty source", envelope(source=""), "/source", "URI-reference"),
    ("bad scheme", envelope(source="1http://x"), "/source", "URI-reference"),
    ("empty id", envelope(id=""), "/id", "non-blank"),
    ("id as number", envelope(id=7), "/id", "7"),
    ("data as list", envelope(data=[]), "/data", "an object"),
    ("data as string", envelope(data="{}"), "/data", "an object"),
    ("empty update", envelope("organisation.updated", {}), "/data", "at least one of: name"),
    (
        "update of systemId only",
        envelope("aisystem.updated", {"systemId": "chat-1"}),
        "/data",
        "at least one of",
    ),
]


@pytest.mark.parametrize(("event", "pointer", "words"), [w[1:] for w in WRONG], ids=[w[0] for w in WRONG])
def test_wrong_value_is_rejected_naming_the_field(event: dict, pointer: str, words: str) -> None:
    rejected = rejection(json.dumps(event))
    assert rejected.pointer == pointer
    field = pointer.removeprefix("/").replace("/", ".")
    assert rejected.reason.split(": ")[0].replace("[", ".").replace("]", "") == field
    assert words in rejected.reason
    assert "pydantic" not in rejected.reason and "Traceback" not in rejected.reason


def test_control_scope_is_accepted_when_it_matches_the_kind() -> None:
    system_wide = parse_event(envelope("control.implemented"))
    organisation_wide = parse_event(
        envelope("control.implemented", {"kind": "pi-protection-officer", "since": "2026-01-01"})
    )
    assert (system_wide.system_id, organisation_wide.system_id) == ("chat-1", None)
    every_system = parse_event(envelope("control.implemented", {"kind": "audit-trail", "since": "2026-01-01"}))
    assert every_system.system_id is None  # "absent: the control is organisation-wide"


# Leniency: unknown fields, nulls, media types -------------------------------------------------------------


def test_unknown_fields_are_kept_and_never_an_error() -> None:
    raw = envelope(traceparent="00-abc-01", data={**EXAMPLES["aisystem.deployed"], "vendorNote": {"a": [1]}})
    event = parse_event(raw)
    dumped = event.model_dump(mode="json")
    assert dumped["traceparent"] == "00-abc-01"
    assert dumped["data"]["vendorNote"] == {"a": [1]}
    assert dumped["data"]["launchedOn"] == "2026-03-01"


def test_data_base64_is_refused_with_what_to_send_instead() -> None:
    """The JSON format's binary data: alone it was told "data: required field is missing"; with data, accepted."""
    alone = {key: value for key, value in envelope().items() if key != "data"} | {"data_base64": "e30="}
    both = envelope() | {"data_base64": "e30="}
    for raw in (alone, both):
        refused = rejection(raw)
        assert refused.pointer == "/data_base64" and "JSON object in data" in refused.reason


def test_null_optional_field_counts_as_absent() -> None:
    event = parse_event(with_data("aisystem.deployed", publicFacing=None, sectors=None, datacontenttype=None))
    assert isinstance(event.data, AISystemDeployed)
    assert event.data.public_facing is True
    assert event.data.sectors == ()
    assert rejection(with_data("aisystem.deployed", name=None)).pointer == "/data/name"


def test_json_content_type_with_parameters_is_accepted() -> None:
    assert parse_event(envelope(datacontenttype="application/json; charset=utf-8")).datacontenttype


def test_updates_say_which_fields_were_given() -> None:
    data = {"systemId": "chat-1", "monthlyActiveUsers": 0, "publicFacing": False, "name": None, "x": 1}
    update = parse_event(envelope("aisystem.updated", data)).data
    assert isinstance(update, AISystemUpdated)
    assert update.given_fields == {"monthly_active_users", "public_facing"}
    assert update.changes() == {"monthly_active_users": 0, "public_facing": False}
    organisation = parse_event(envelope("organisation.updated", {"sectors": []})).data
    assert isinstance(organisation, OrganisationUpdated)
    assert organisation.changes() == {"sectors": ()}


def test_a_snake_case_field_is_unknown_not_a_change() -> None:
    rejected = rejection(envelope("aisystem.updated", {"systemId": "chat-1", "monthly_active_users": 5}))
    assert rejected.pointer == "/data"


@pytest.mark.parametrize(
    ("event_type", "field"),
    [("filing.completed", "filedOn"), ("assessment.completed", "completedOn"), ("disclosure.published", "publishedOn")],
)
def test_an_act_reported_as_done_after_the_events_day_in_china_is_rejected(event_type: str, field: str) -> None:
    """Judged as of its time, an assessment "completed" next March would be evidence today (a yearly clock renewed
    before the assessment exists). The day is read in China: 2026-03-01T01:30+08:00 is 2026-02-28 in UTC."""
    early = {"time": "2026-02-28T17:30:00Z"}  # 2026-03-01T01:30 in China
    assert parse_event(envelope(event_type, {**EXAMPLES[event_type], field: "2026-03-01"}, **early))
    rejected = rejection(with_data(event_type, **{field: "2026-03-02"}))
    assert rejected.pointer == f"/data/{field}"
    assert f"data.{field}: 2026-03-02 is after the event's day in China (2026-03-01" in rejected.reason


def test_an_event_dated_ahead_of_the_receivers_clock_is_rejected_beyond_five_minutes() -> None:
    """Judged as of a moment to come, such an event opened violations dated then, and the next clock pass (as of
    today) resolved them before they had opened. A producer's clock a few minutes fast is let through."""
    now = datetime.fromisoformat("2026-03-01T09:30:00+08:00")
    assert parse_event(envelope(time="2026-03-01T09:34:00+08:00"), not_after=now + MAX_AHEAD)
    rejected = rejection_with(envelope(time="2026-03-03T09:30:00+08:00"), not_after=now + MAX_AHEAD)
    assert rejected.pointer == "/time" and "is 2 days ahead of when it was received" in rejected.reason
    [batch] = parse_batch(json.dumps([envelope(time="2026-03-01T12:00:00+08:00")]), not_after=now + MAX_AHEAD)
    assert isinstance(batch, EventRejected) and "2 hours ahead" in batch.reason
    assert parse_event(envelope(time="2030-01-01T00:00:00+08:00"))  # no receiver's clock given: a record, a test


def test_a_stream_of_lines_is_judged_against_the_clock_as_each_line_is_read() -> None:
    """``obligraph ingest -`` reads a producer's lines as they come: a line stamped 8 minutes after the first was
    read is in time when it is read 10 minutes after (a clock read once, at the start, refused it)."""
    start = datetime.fromisoformat("2026-03-01T09:30:00+08:00")
    readings = iter([start, start + timedelta(minutes=10)])
    lines = [json.dumps(envelope(time=start.isoformat())), json.dumps(envelope(time="2026-03-01T09:38:00+08:00"))]
    parsed = [item for _, item in iter_json_lines(lines, not_after=lambda: next(readings) + MAX_AHEAD)]
    assert all(isinstance(item, Event) for item in parsed), parsed


def rejection_with(raw: Any, **options: Any) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(raw, **options)
    return caught.value


def test_china_day_is_utc_plus_eight_in_every_year() -> None:
    """China kept summer time from 1986 to 1991; the contract's day in China is UTC+8 all the same."""
    event = parse_event(with_data("assessment.completed", completedOn="1990-07-15") | {"time": "1990-07-15T15:30:00Z"})
    assert event.time.astimezone(CHINA).date() == date(1990, 7, 15)


def test_models_take_native_values_from_python_but_parse_event_takes_only_json() -> None:
    raw = envelope("aisystem.retired", {"systemId": "s", "retiredOn": date(2027, 1, 31)})
    event = Event.model_validate({**raw, "time": datetime.fromisoformat("2027-01-31T00:00:00+08:00")})
    assert event.data.model_dump(mode="json")["retiredOn"] == "2027-01-31"
    assert rejection(raw).reason == "not a JSON value: a date"
    assert isinstance(
        OrganisationRegistered.model_validate({"name": "n", "jurisdiction": "CN"}), OrganisationRegistered
    )


# Hostile input --------------------------------------------------------------------------------------------


def nested(depth: int) -> dict:
    value: Any = 0
    for _ in range(depth - 2):  # the event object and its data are the first two levels
        value = [value]
    return envelope(data={**EXAMPLES["aisystem.deployed"], "deep": value})


def test_nesting_is_bounded() -> None:
    assert parse_event(json.dumps(nested(MAX_DEPTH)))
    assert "nested deeper than 32" in rejection(json.dumps(nested(MAX_DEPTH + 1))).reason
    assert "nested deeper" in rejection(nested(MAX_DEPTH + 1)).reason
    assert "nested deeper" in rejection("[" * 100_000).reason


def test_size_is_bounded() -> None:
    padding = "x" * MAX_EVENT_BYTES
    rejected = rejection(json.dumps(envelope(data={**EXAMPLES["aisystem.deployed"], "pad": padding})).encode())
    assert rejected.reason == f"body is larger than {MAX_EVENT_BYTES} bytes"
    assert rejected.pointer is None
    assert "larger" in rejection("é" * (MAX_EVENT_BYTES // 2 + 1)).reason  # counted in UTF-8 bytes


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[]", "must be a JSON object, got a list"),
        ("null", "must be a JSON object, got null"),
        ('"event"', "must be a JSON object"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": -Infinity}', "not a JSON number"),
        ('{"a": 1e999}', "out of range"),
        ("{" + '"a": ' + "9" * 5000 + "}", "too many digits"),
        ('{"a": "\\ud800"}', "surrogate"),
    ],
)
def test_bodies_that_are_not_json_objects_are_rejected(raw: bytes | str, words: str) -> None:
    assert words in rejection(raw).reason


def test_duplicate_keys_take_the_last_and_a_bom_is_ignored() -> None:
    text = json.dumps(envelope())
    assert parse_event(text.replace('"id": "evt-0001"', '"id": "first", "id": "evt-0001"')).id == "evt-0001"
    assert parse_event(b"\xef\xbb\xbf" + text.encode()).id == "evt-0001"


def test_mapping_with_python_objects_is_rejected() -> None:
    rejected = rejection(envelope(data={**EXAMPLES["aisystem.deployed"], "when": object()}))
    assert rejected.pointer == "/data/when"
    assert rejection({1: "a"}).reason.startswith("object keys must be")
    assert "JSON text" in rejection(42).reason


def test_rejection_survives_pickling() -> None:
    rejected = rejection(envelope(subject="a b"))
    copy = pickle.loads(pickle.dumps(rejected))
    assert (copy.reason, copy.pointer) == (rejected.reason, rejected.pointer)


# Batches and JSON Lines -----------------------------------------------------------------------------------


def test_batch_returns_one_result_per_element() -> None:
    body = json.dumps([envelope(), envelope(subject="a b"), 7, envelope("transfer.ended", id="e2")])
    results = parse_batch(body)
    assert [type(r) for r in results] == [Event, EventRejected, EventRejected, Event]
    bad = results[1]
    assert isinstance(bad, EventRejected) and bad.pointer == "/subject"
    assert isinstance(bad.payload, str) and json.loads(bad.payload)["subject"] == "a b"
    assert parse_batch(b"[]") == []


@pytest.mark.parametrize(("raw", "words"), [("{}", "JSON array"), ("[", "not valid JSON"), ("7", "JSON array")])
def test_batch_that_is_not_an_array_is_rejected_whole(raw: str, words: str) -> None:
    with pytest.raises(EventRejected, match=words):
        parse_batch(raw)


def jsonl(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_json_lines_numbers_each_line_and_skips_blank_ones() -> None:
    text = jsonl(json.dumps(envelope()), "", "not json", "   ", json.dumps(envelope(time="2026-03-01T00:00:00")), "[]")
    for stream in (io.StringIO(text), io.BytesIO(text.encode()), text.splitlines(keepends=True)):
        results = list(iter_json_lines(stream))
        assert [n for n, _ in results] == [1, 3, 5, 6]
        assert isinstance(results[0][1], Event)
        rejected = results[2][1]
        assert isinstance(rejected, EventRejected) and rejected.pointer == "/time"
        assert rejected.payload is not None and "2026-03-01T00:00:00" in str(rejected.payload)
        assert not str(rejected.payload).endswith("\n")


def test_json_lines_reports_an_oversized_line_without_reading_it_whole() -> None:
    big = json.dumps(envelope(data={**EXAMPLES["aisystem.deployed"], "pad": "x" * (2 * MAX_EVENT_BYTES)}))
    results = list(iter_json_lines(io.BytesIO(jsonl(json.dumps(envelope()), big, json.dumps(envelope())).encode())))
    assert [n for n, _ in results] == [1, 2, 3]
    assert isinstance(results[1][1], EventRejected) and "larger than" in results[1][1].reason
    assert isinstance(results[2][1], Event)


# Properties -----------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_rejects(raw: Any) -> None:
    try:
        result = parse_event(raw)
    except EventRejected as rejected:
        assert rejected.reason and "pydantic" not in rejected.reason
    else:
        assert isinstance(result, Event)


@FUZZ
@given(json_values)
def test_arbitrary_json_never_escapes_as_anything_but_a_rejection(value: Any) -> None:
    parses_or_rejects(json.dumps(value))
    if isinstance(value, dict):
        parses_or_rejects(value)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_escape_as_anything_but_a_rejection(raw: bytes) -> None:
    parses_or_rejects(raw)


@FUZZ
@given(events(), st.data())
def test_a_valid_event_with_one_field_replaced_parses_or_is_rejected(event: dict, data: st.DataObject) -> None:
    target = event if data.draw(st.booleans()) or not event["data"] else event["data"]
    key = data.draw(st.sampled_from(sorted(target)) | st.text(max_size=12))
    target[key] = data.draw(json_values | st.sampled_from(["", "2026-03-01", "CN", "CAC", "a" * 65]))
    parses_or_rejects(json.dumps(event))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EVENT_TYPES).flatmap(events))
def test_valid_events_of_every_type_parse_and_round_trip(raw: dict) -> None:
    event = parse_event(json.dumps(raw))
    assert type(event.data) is PAYLOADS[raw["type"]]
    dumped = event.model_dump(mode="json")
    assert parse_event(dumped) == event
    assert parse_event(json.dumps(dumped)) == event


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisation_histories())
def test_generated_histories_parse(history: list[dict]) -> None:
    parsed = [parse_event(raw) for raw in history]
    assert parsed[0].type == "organisation.registered"
    assert len({e.key for e in parsed}) == len(parsed)
    assert [e.time for e in parsed] == sorted(e.time for e in parsed)


# Architecture ---------------------------------------------------------------------------------------------


def test_events_import_no_adapter() -> None:
    code = (
        "import sys, kg.events;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'api', 'ingest', 'obligraph'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""Seeded, reproducible organisation histories at scale, for the differential test and the benchmark.

``tests/support/event_strategies.py`` explores the event contract with hypothesis; this module is its fast
counterpart for volume: a plain ``random.Random(seed)`` draws organisations whose histories exercise the
obligation shapes (roles switched on and off, evidence on time, late, never, failed or withdrawn, clocks around
their deadlines), so ``generate(1000, seed)`` is the same list of CloudEvents on every machine and every run.

Each history is consistent in the way ``organisation_histories()`` is: registered first, systems deployed and
transfers started before any event names them, nothing named after a system's retirement or a transfer's end,
times strictly increasing per organisation. Event ids are unique per source (one source per organisation).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Final

from kg.events import Event, parse_event
from kg.events.codes import (
    ASSESSMENT_OUTCOMES,
    CAPABILITIES,
    ORGANISATION_CONTROL_KINDS,
    SECTORS,
    SYSTEM_CONTROL_KINDS,
    TRANSFER_MECHANISMS,
)

JsonObject = dict[str, Any]

FIRST_DAY: Final = date(2025, 1, 1)
LAST_DAY: Final = date(2026, 10, 31)
"""Events fall in 2025–2026, before the as-of day the tests judge on (``AS_OF``)."""
AS_OF: Final = date(2026, 11, 1)
CHINA_TIME: Final = timezone(timedelta(hours=8))

# Counts around the thresholds the rules and shapes compare with (1,000,000 and 10,000,000).
SUBJECT_COUNTS: Final = (0, 1, 5_000, 999_999, 1_000_000, 1_000_001, 2_500_000, 10_000_000, 10_000_001, 40_000_000)
GENERATION: Final = tuple(code for code in CAPABILITIES if code.endswith("-generation"))
DESTINATIONS: Final = ("US", "SG", "DE", "JP", "HK", "GB")
FILING_AUTHORITIES: Final = ("CAC", "CAC", "CAC-BJ")


def _outcome(rng: random.Random) -> str:
    return rng.choices(ASSESSMENT_OUTCOMES, weights=(60, 25, 15))[0]  # passed, failed, conditional


@dataclass
class _History:
    """One organisation's events, drawn out of order and sorted by (day, draw order) at the end.

    A prerequisite (registration, deployment, transfer start) is always drawn before what depends on it and on
    an earlier or the same day, so the sort keeps every history consistent.
    """

    org: str
    rng: random.Random
    zulu: bool
    drawn: list[tuple[date, int, str, JsonObject]] = field(default_factory=list)

    def add(self, day: date, kind: str, data: JsonObject) -> bool:
        if day > LAST_DAY:
            return False  # it would happen after the window: it never happens
        self.drawn.append((day, len(self.drawn), kind, data))
        return True

    def events(self) -> list[JsonObject]:
        source = f"urn:org:{self.org}"
        result = []
        last: datetime | None = None
        for number, (day, _, kind, data) in enumerate(sorted(self.drawn, key=lambda item: item[:2]), start=1):
            moment = datetime.combine(day, time(8, 0), tzinfo=CHINA_TIME) + timedelta(
                minutes=self.rng.randrange(12 * 60)
            )
            if last is not None and moment <= last:
                moment = last + timedelta(seconds=1 + self.rng.randrange(600))
                if moment.astimezone(CHINA_TIME).date() != day:  # never spill into the next day in China
                    moment = last + timedelta(milliseconds=1)
            last = moment
            stamp = moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if self.zulu else moment.isoformat()
            result.append(
                {
                    "specversion": "1.0",
                    "id": f"{self.org}-{number}",
                    "source": source,
                    "type": kind,
                    "time": stamp,
                    "subject": self.org,
                    "datacontenttype": "application/json",
                    "data": data,
                }
            )
        return result


def _days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


def _organisation_profile(rng: random.Random, index: int) -> JsonObject:
    profile: JsonObject = {
        "name": f"Organisation {index}",
        "jurisdiction": rng.choices(("CN", "CN-BJ", "CN-SH", "CN-GD"), weights=(45, 40, 10, 5))[0],
    }
    if rng.random() < 0.8:
        profile["sectors"] = rng.sample(SECTORS, rng.choice((0, 1, 1, 2)))
    if rng.random() < 0.6:
        profile["ciiOperator"] = rng.random() < 0.15
    if rng.random() < 0.7:
        profile["importantDataProcessor"] = rng.random() < 0.25
    if rng.random() < 0.85:
        profile["personalInformationSubjects"] = rng.choice(SUBJECT_COUNTS)
    return profile


def _system_fields(rng: random.Random) -> JsonObject:
    capabilities = set(rng.sample(CAPABILITIES, rng.choice((1, 1, 2, 3))))
    if rng.random() < 0.35:  # generative systems are the common case in this domain
        capabilities.add(rng.choice(GENERATION))
    fields: JsonObject = {"capabilities": sorted(capabilities)}
    if rng.random() < 0.5:
        fields["publicFacing"] = rng.random() < 0.85  # absent: true
    if rng.random() < 0.8:
        fields["publicOpinionAttributes"] = rng.random() < 0.4  # absent: false
    if rng.random() < 0.5:
        fields["sectors"] = rng.sample(SECTORS, rng.choice((1, 1, 2)))
    if rng.random() < 0.5:
        fields["monthlyActiveUsers"] = rng.choice((0, 1_000, 250_000, 5_000_000))
    if rng.random() < 0.75:
        fields["processesPersonalInformation"] = rng.random() < 0.6
    if rng.random() < 0.5:
        fields["largeScale"] = rng.random() < 0.3
    return fields


def _system(history: _History, rng: random.Random, system_id: str, registered: date) -> None:
    """Deploy one system and draw its evidence: filings, assessments, disclosures, controls, maybe retirement."""
    deployed = registered + _days(rng, 0, 60)
    launch_shift = rng.choices((0, -rng.randint(1, 40), rng.randint(1, 90)), weights=(60, 15, 25))[0]
    launched = deployed + timedelta(days=launch_shift)
    fields = _system_fields(rng)
    history.add(
        deployed,
        "aisystem.deployed",
        {"systemId": system_id, "name": f"System {system_id}", "launchedOn": launched.isoformat(), **fields},
    )
    # Evidence may be dated before the event that reports it, never before the system exists in the graph.
    retired: date | None = None
    if rng.random() < 0.15:
        retired = launched + _days(rng, 30, 400)

    def report(on: date, kind: str, data: JsonObject) -> None:
        when = max(on + _days(rng, 0, 3) if rng.random() < 0.3 else on, deployed)
        if retired is not None and when >= retired:
            return
        history.add(when, kind, {"systemId": system_id, **data})

    for kind in ("algorithm", "generative-ai-service"):
        # early (before launch), on time (within ~10 working days), late, or never
        timing = rng.choices(("early", "on-time", "late", "never"), weights=(15, 30, 20, 35))[0]
        if timing == "never":
            continue
        offset = {"early": (-30, -1), "on-time": (0, 16), "late": (17, 150)}[timing]
        filed = launched + _days(rng, *offset)
        number = f"网信算备{rng.randrange(10**18):018d}号"
        report(
            filed,
            "filing.completed",
            {
                "kind": kind,
                "filingNumber": number,
                "authority": rng.choice(FILING_AUTHORITIES),
                "filedOn": filed.isoformat(),
            },
        )
    for kind in ("security", "pi-impact", "ethics-review"):
        if rng.random() < 0.35:
            done = launched + _days(rng, -30, 90)
            report(
                done,
                "assessment.completed",
                {"kind": kind, "completedOn": done.isoformat(), "outcome": _outcome(rng), "assessor": "Assessor Ltd"},
            )
    for kind in ("algorithm-principles", "training-data-summary"):
        if rng.random() < 0.4:
            published = launched + _days(rng, -10, 60)
            data: JsonObject = {"kind": kind, "publishedOn": published.isoformat()}
            if rng.random() < 0.5:
                data["url"] = f"https://{history.org.lower()}.example.cn/{kind}"
            report(published, "disclosure.published", data)
    published = launched
    for _ in range(rng.choice((0, 0, 1, 2, 3))):  # six-monthly transparency reports, some overdue
        published += _days(rng, 120, 240)
        report(published, "disclosure.published", {"kind": "transparency-report", "publishedOn": published.isoformat()})
    for kind in SYSTEM_CONTROL_KINDS:
        if rng.random() < 0.3:
            since = launched + _days(rng, -20, 40)
            report(since, "control.implemented", {"kind": kind, "since": since.isoformat()})
            if rng.random() < 0.25:
                withdrawn = max(since, deployed) + _days(rng, 1, 300)
                report(withdrawn, "control.withdrawn", {"kind": kind, "since": withdrawn.isoformat()})
    if rng.random() < 0.12:
        changed = deployed + _days(rng, 1, 300)
        update = {key: value for key, value in _system_fields(rng).items() if rng.random() < 0.5}
        update = update or {"publicOpinionAttributes": rng.random() < 0.5}
        report(changed, "aisystem.updated", update)
    if retired is not None:
        history.add(
            max(retired, deployed), "aisystem.retired", {"systemId": system_id, "retiredOn": retired.isoformat()}
        )


def _transfer(history: _History, rng: random.Random, transfer_id: str, registered: date) -> None:
    started = registered + _days(rng, 0, 200)
    data: JsonObject = {
        "transferId": transfer_id,
        "destination": rng.choice(DESTINATIONS),
        "startedOn": started.isoformat(),
    }
    if rng.random() < 0.8:
        data["personalInformationSubjects"] = rng.choice(SUBJECT_COUNTS)
    if rng.random() < 0.5:
        data["importantData"] = rng.random() < 0.3
    if rng.random() < 0.6:
        data["mechanism"] = rng.choice(TRANSFER_MECHANISMS)
    if not history.add(started, "transfer.started", data):
        return
    ended = started + _days(rng, 30, 500) if rng.random() < 0.25 else None
    for kind in ("data-export-security", "pi-impact"):
        if rng.random() < 0.4:
            done = started + _days(rng, -20, 60)
            day = max(done, started)
            if ended is None or day < ended:
                history.add(
                    day,
                    "assessment.completed",
                    {
                        "kind": kind,
                        "completedOn": done.isoformat(),
                        "outcome": _outcome(rng),
                        "transferId": transfer_id,
                    },
                )
    if ended is not None:
        history.add(ended, "transfer.ended", {"transferId": transfer_id, "endedOn": ended.isoformat()})


def organisation_history(rng: random.Random, org: str, index: int) -> list[JsonObject]:
    """One organisation's history, in time order."""
    history = _History(org, rng, zulu=rng.random() < 0.3)
    registered = FIRST_DAY + timedelta(days=rng.randrange((date(2026, 8, 31) - FIRST_DAY).days))
    history.add(registered, "organisation.registered", _organisation_profile(rng, index))
    systems = rng.choices((0, 1, 2, 3), weights=(15, 45, 27, 13))[0]
    for number in range(1, systems + 1):
        _system(history, rng, f"S{number}", registered)
    for number in range(1, rng.choices((0, 1, 2), weights=(60, 30, 10))[0] + 1):
        _transfer(history, rng, f"T{number}", registered)
    for kind in ORGANISATION_CONTROL_KINDS:
        if rng.random() < 0.3:
            since = registered + _days(rng, 0, 300)
            history.add(since, "control.implemented", {"kind": kind, "since": since.isoformat()})
            if rng.random() < 0.2:
                withdrawn = since + _days(rng, 1, 300)
                history.add(withdrawn, "control.withdrawn", {"kind": kind, "since": withdrawn.isoformat()})
    for _ in range(rng.choices((0, 1), weights=(70, 30))[0]):  # organisation-wide risk assessments (DSL-03)
        done = registered + _days(rng, 0, 500)
        history.add(
            done,
            "assessment.completed",
            {
                "kind": rng.choice(("risk", "risk", "security", "ethics-review")),
                "completedOn": done.isoformat(),
                "outcome": _outcome(rng),
            },
        )
    for _ in range(rng.choices((0, 1, 2), weights=(55, 35, 10))[0]):  # profiles change: thresholds crossed
        changed = registered + _days(rng, 1, 500)
        update = {key: value for key, value in _organisation_profile(rng, index).items() if rng.random() < 0.4}
        if rng.random() < 0.6 or not update:
            update["personalInformationSubjects"] = rng.choice(SUBJECT_COUNTS)
        if rng.random() < 0.3:
            update["importantDataProcessor"] = rng.random() < 0.5
        history.add(changed, "organisation.updated", update)
    return history.events()


def organisation_id(seed: int, index: int) -> str:
    return f"G{seed}-{index:07d}"


def generate(n_orgs: int, seed: int, *, first: int = 0) -> list[JsonObject]:
    """``n_orgs`` organisations' histories (ids ``organisation_id(seed, first…)``), merged in time order."""
    rng = random.Random(seed)
    events: list[tuple[datetime, int, JsonObject]] = []
    for index in range(first, first + n_orgs):
        for event in organisation_history(rng, organisation_id(seed, index), index):
            events.append((datetime.fromisoformat(event["time"]), len(events), event))
    events.sort(key=lambda item: item[:2])
    return [event for _, _, event in events]


def by_organisation(events: Iterable[JsonObject]) -> dict[str, list[JsonObject]]:
    grouped: dict[str, list[JsonObject]] = {}
    for event in events:
        grouped.setdefault(event["subject"], []).append(event)
    return grouped


def as_events(dicts: Iterable[JsonObject]) -> list[Event]:
    """Parse generated dicts as the pipeline receives them (``kg.events.parse_event``)."""
    return [parse_event(raw) for raw in dicts]

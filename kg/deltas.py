"""Re-judging only what an event can change.

An organisation judged as of a day, with nothing changed since but its events' triples, needs only the obligations
whose checks read what the events changed (``kg.read_sets``): the others would find what they found last time, so
their stored violations stand. Likewise the role rules: when none reads a changed key, the derived roles are those
the main store holds, and they are copied instead of derived; when one does, the roles are derived again and what
changed with them (a role gained or lost, a reason) calls for the checks reading it and for every obligation that
binds a role gained or lost.

Before a small round's apply the pipeline reads each organisation's own triples, derived roles, validation record
and judged moment (``read_before``); after it, the workspace is made from those triples and the events' update
operations (``kg.workspace.Workspace.load_changed``), and the two are compared (``DeltaPlanner.plan``). The
comparison holds only when the earlier state is what was last judged, as of the same day, by the same checks and
regulation graph: each validation records the day and a fingerprint of the checks, rules and regulation graph
(``record_validated``), and an organisation still marked as awaiting validation (a validation that failed after its
events were applied) has no record and is judged in full, as is every organisation of a round larger than
``DELTA_UP_TO``: each organisation judged by its changes costs a read before the apply, a comparison and a copy
read back from the workspace (~3–4 ms), while the checks it saves run once for the whole round, so their saving
per organisation shrinks as the round grows.

``tests/test_deltas.py`` holds it to the full validation: the same stream, judged both ways, must report the same
violation changes after every event and leave the same violations, roles and history.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Final

from rdflib import URIRef

from kg import read_set_file, read_sets
from kg.checks import Check
from kg.iris import BASE, Graphs
from kg.parallel import QUERIES, constructed
from kg.read_sets import Key
from kg.roles import RoleRule, by_organisation, stored_roles
from kg.store import Store
from kg.workspace import owned_pattern
from ontology.namespaces import OG

META: Final = f"<{Graphs.META}>"
VALIDATED: Final = URIRef(f"{BASE}meta#validated")
"""An organisation's last completed validation: ``"<as-of day> <fingerprint>"``, in the meta graph."""
DELTA_UP_TO: Final = 2
"""Rounds of at most this many organisations are read before the apply and judged by their changes. Measured side
by side (``bench/bench_by_changes.py --batch B --up-to 16``, 1,000 organisations, 2026-12-04): a mean event took
14.0 against 15.0 ms in full in batches of 2, 12.7 against 11.5 ms in batches of 4, 14.2 against 11.2 ms in batches
of 8, 6.7 against 4.5 ms in batches of 32; one event at a time, 14.3–15.8 against 19.5–21.2 ms (2026-12-03)."""
_ANY_DAY: Final = [(URIRef(f"{BASE}org/-"), date(2000, 1, 1))]


@dataclass(frozen=True)
class Before:
    """An organisation as the main store held it before a round's apply."""

    triples: bytes
    derived: bytes
    validated: str | None
    """The record of its last validation; None if it has none or still awaits one."""
    judged: datetime | None
    """The moment it was judged as of (``kg.judged_moments``)."""


@dataclass(frozen=True)
class Delta:
    """What an event changed in an organisation, for the validation that follows it."""

    rules: bool
    """Whether any role rule reads a changed key."""
    obligations: frozenset[URIRef]
    """The obligations whose checks read a changed key: only their checks run."""
    after: bytes = field(default=b"", compare=False, repr=False)
    """The organisation's own triples after the event."""


def validated_record(day: date, fingerprint: str) -> str:
    return f"{day.isoformat()} {fingerprint}"


def record_validated(judged: Mapping[URIRef, date], fingerprint: str) -> list[str]:
    """The update that records each organisation's validation (replacing the previous record)."""
    if not judged:
        return []
    values = " ".join(org.n3() for org in judged)
    records = " ".join(
        f'{org.n3()} {VALIDATED.n3()} "{validated_record(day, fingerprint)}" .' for org, day in judged.items()
    )
    return [
        f"DELETE {{ GRAPH {META} {{ ?org {VALIDATED.n3()} ?old }} }} "
        f"WHERE {{ VALUES ?org {{ {values} }} GRAPH {META} {{ ?org {VALIDATED.n3()} ?old }} }}",
        f"INSERT DATA {{ GRAPH {META} {{ {records} }} }}",
    ]


def read_before(store: Store, organisations: Iterable[URIRef]) -> dict[URIRef, Before]:
    """Each organisation's own triples, derived roles and validation record, as the store holds them now: one
    query for each organisation's triples and record, and one for all their roles, on the query threads."""
    wanted = list(organisations)
    if not wanted:
        return {}
    derived = QUERIES.submit(derived_roles, store, wanted)
    own = list(constructed(store, [_before_query(org) for org in wanted]))
    roles = derived.result()
    return {org: _before(triples, roles[org]) for org, triples in zip(wanted, own, strict=True)}


_RECORD_LINES: Final = (
    f" {VALIDATED.n3()} ".encode(),
    f" {OG.awaitsValidation.n3()} ".encode(),
    f" {OG.judgedAsOf.n3()} ".encode(),
)


def _before_query(organisation: URIRef) -> str:
    return (
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {{ {owned_pattern([organisation])} }} UNION {{ GRAPH {META} {{ "
        f"VALUES ?p {{ {VALIDATED.n3()} {OG.awaitsValidation.n3()} {OG.judgedAsOf.n3()} }} {organisation.n3()} ?p ?o "
        f"BIND({organisation.n3()} AS ?s) }} }} }}"
    )


def _before(triples: bytes, derived: bytes) -> Before:
    """Split the organisation's triples from its validation record and judged moment; a pending mark voids the
    record."""
    own, record, pending, judged = [], None, False, None
    for line in triples.splitlines(keepends=True):
        if _RECORD_LINES[0] in line:
            record = _lexical(line)
        elif _RECORD_LINES[1] in line:
            pending = True
        elif _RECORD_LINES[2] in line:
            moment = datetime.fromisoformat(_lexical(line))
            judged = moment if judged is None else max(judged, moment)  # two racing writers may leave two
        else:
            own.append(line)
    return Before(b"".join(own), derived, None if pending else record, judged)


def _lexical(line: bytes) -> str:
    return line[line.index(b'"') + 1 : line.rindex(b'"')].decode()


def derived_roles(store: Store, organisations: Iterable[URIRef]) -> dict[URIRef, bytes]:
    """Each organisation's derived roles and role assignments as the store holds them (N-Triples)."""
    wanted = list(organisations)
    grouped = by_organisation(stored_roles(store, wanted), wanted)
    return {org: as_ntriples(lines) for org, lines in grouped.items()}


def as_ntriples(lines: Iterable[bytes]) -> bytes:
    """N-Triples lines as one document, in a stable order."""
    return b"".join(line + b"\n" for line in sorted(lines))


@lru_cache(maxsize=1024)
def _read_set(query: str) -> frozenset[Key]:
    return read_sets.read_set(query)


def _read_sets_of(queries: Sequence[str], saved: Path | None) -> dict[str, frozenset[Key]]:
    """Each query's read set: from the file ``saved`` where it holds it, else parsed (and the file written again
    with the current queries' sets)."""
    if saved is None:
        return {query: _read_set(query) for query in queries}
    known = read_set_file.load(saved)
    keys = {query: read_set_file.entry_key(query) for query in queries}
    found = {query: known[key] if key in known else _read_set(query) for query, key in keys.items()}
    if not set(keys.values()) <= known.keys():
        read_set_file.save(saved, {keys[query]: found[query] for query in queries})
    return found


class DeltaPlanner:
    """Which rules and checks an organisation's changes call for. The read sets are parsed on first use (rdflib
    takes ~80 ms a query; once per process, shared by every pipeline with the same shapes), or read from the file
    ``prepare`` is given (``kg.read_set_file``)."""

    def __init__(self, checks: Sequence[Check], rules: Sequence[RoleRule], regulations: bytes) -> None:
        self.checks = tuple(checks)
        self.rules = tuple(rules)
        digest = hashlib.blake2b(regulations, digest_size=8)
        for query in [*(check.query_for(_ANY_DAY) for check in self.checks), *(r.query_for(_ANY_DAY) for r in rules)]:
            digest.update(query.encode())
        self.fingerprint = digest.hexdigest()
        self._lock = threading.Lock()
        self._indexes: tuple[read_sets.ReadIndex[URIRef], read_sets.ReadIndex[int]] | None = None

    def prepare(self, saved: Path | None = None) -> None:
        """Read the read sets now (parsed in ~3 s for the shipped shapes, or from the file ``saved`` where it holds
        them: ``kg.read_set_file``) rather than when the first event needs them."""
        self._read_sets(saved)

    def prepare_in_background(self, saved: Path | None = None) -> None:
        """``prepare`` on a thread of its own, so that a long-running process starts at once and its first event
        judged by its changes does not wait for the parse (unless it comes within the first seconds)."""
        threading.Thread(target=self.prepare, args=(saved,), name="obligraph-read-sets", daemon=True).start()

    def _read_sets(self, saved: Path | None = None) -> tuple[read_sets.ReadIndex[URIRef], read_sets.ReadIndex[int]]:
        """The checks' read sets by obligation, and the rules' by position."""
        with self._lock:
            if self._indexes is None:
                check_queries = [check.query_for(_ANY_DAY) for check in self.checks]
                rule_queries = [rule.query_for(_ANY_DAY) for rule in self.rules]
                found = _read_sets_of([*check_queries, *rule_queries], saved)
                checks = [(check.obligation, found[q]) for check, q in zip(self.checks, check_queries, strict=True)]
                rules = [(number, found[query]) for number, query in enumerate(rule_queries)]
                self._indexes = read_sets.ReadIndex(checks), read_sets.ReadIndex(rules)
            return self._indexes

    def plan(self, before: Before, after: bytes, day: date) -> Delta | None:
        """The delta from ``before`` to ``after`` (the organisation's own triples now) with its roles as they were,
        or None when it must be judged in full (its earlier state was not judged as of ``day`` by these checks).
        When a rule reads a changed key, the roles are derived again and ``rederived`` says what changed with
        them."""
        if before.validated != validated_record(day, self.fingerprint):
            return None
        changed = read_sets.changed_keys(before.triples + before.derived, after + before.derived)
        checks, rules = self._read_sets()
        obligations = frozenset(checks.reading(changed))
        return Delta(rules=bool(rules.reading(changed)), obligations=obligations, after=after)

    def rederived(self, before: Before, delta: Delta, derived: bytes) -> Delta:
        """The delta once the rules derived the organisation's roles again (``derived``): the checks reading what
        changed with them, and every obligation binding a role gained or lost (its checks start or stop targeting
        the organisation)."""
        if derived == before.derived:
            return delta  # a rule read what changed, but the roles came out the same
        changed = read_sets.changed_keys(before.triples + before.derived, delta.after + derived)
        checks, _ = self._read_sets()
        retargeted = _types(before.derived) ^ _types(derived)
        obligations = checks.reading(changed) | {check.obligation for check in self.checks if check.roles & retargeted}
        return Delta(rules=True, obligations=frozenset(obligations), after=delta.after)


_TYPE_LINE: Final = f" <{read_sets.TYPE}> ".encode()


def _types(ntriples: bytes) -> set[URIRef]:
    """The classes the lines give any node."""
    return {URIRef(line.rsplit(b" ", 2)[1][1:-1].decode()) for line in ntriples.splitlines() if _TYPE_LINE in line}

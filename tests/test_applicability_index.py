"""``kg.compliance`` answers applicability from an index of the fixed graphs (``ApplicabilityIndex``) instead of
joining them in the store per request. These tests hold the index to the graph: over generated organisations and
days on both sides of the instruments' effective dates, the obligations that bind, whether each is in force, the
roles each binds through and the summary's counts by authority and instrument equal what SPARQL over the store
gives."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from kg import iris
from kg.build import ensure_built
from kg.catalog import PREFIXES
from kg.compliance import OrganisationReads, Status, applicable_obligations, violation_counts
from kg.events import parse_event
from kg.foresight import Foresight
from kg.iris import Graphs, build_fingerprint_predicate, build_record
from kg.judged_moments import judged_as_of
from kg.organisations import as_of_date
from kg.owed_clocks import compiled
from kg.pipeline import Pipeline
from kg.store import Store, open_store
from kg.why_not import why_not_bound
from ontology.namespaces import OG
from tests.support import generated_data

DAYS = (date(2016, 1, 1), date(2021, 11, 1), date(2023, 8, 15), date(2025, 9, 1), date(2026, 11, 1))
"""Before the Cybersecurity Law; between the PIPL and the generative-AI measures; the day those take effect; the
day the labelling measures do; the data's last day."""


@pytest.fixture(scope="module")
def organisations(store: Store, pipeline: Pipeline) -> list[str]:
    events = generated_data.as_events(generated_data.generate(40, seed=7))
    pipeline.process(events)
    return [str(org) for org in pipeline.organisations()]


def bound_in_the_store(store: Store, organisation: str, day: date, view: Store) -> dict[str, tuple[bool, set[str]]]:
    """By obligation: (in force on ``day``, the organisation's roles it binds and those it requires), joined in the
    store, the roles read from ``view``'s derived graph; only obligations whose instruments reach the organisation's
    jurisdiction (Beijing's bind only there) and whose required roles it plays."""
    types = view.select(f"SELECT ?t WHERE {{ GRAPH <{Graphs.DERIVED}> {{ <{organisation}> a ?t }} }}")
    held = {row["t"].value for row in types}  # type: ignore[union-attr]
    if not held:
        return {}
    rows = store.select(
        f"{PREFIXES}SELECT ?o ?bound (BOUND(?inForce) AS ?force) WHERE {{ "
        f"VALUES ?bound {{ {' '.join(f'<{role}>' for role in sorted(held))} }} "
        "?o og:bindsRole ?bound ; skos:notation ?id ; og:isMachineCheckable ?checkable ; og:hasInstrument ?i . "
        f"{{ SELECT DISTINCT ?o WHERE {{ <{organisation}> og:hasJurisdiction ?home . ?home skos:broader* ?place . "
        "?reaching og:hasJurisdiction ?place . ?o og:hasInstrument ?reaching } } "
        "OPTIONAL { ?i og:effectiveOn ?effective ; og:hasInstrumentStatus ?status "
        f'FILTER(?effective <= "{day.isoformat()}"^^xsd:date && ?status != og:StatusDraft) BIND(true AS ?inForce) }} }}'
    )
    # A role narrowed by the obligation's trigger (og:requiresNarrowerRole) binds only with the narrower one, and
    # that one is a reason too.
    narrowed: dict[tuple[str, str], set[str]] = defaultdict(set)
    narrowing = "SELECT ?o ?b ?n WHERE { ?o og:requiresNarrowerRole ?n ; og:bindsRole ?b . ?n rdfs:subClassOf+ ?b }"
    for row in store.select(PREFIXES + narrowing):
        narrowed[row["o"].value, row["b"].value].add(row["n"].value)  # type: ignore[union-attr]
    found: dict[str, tuple[bool, set[str]]] = {}
    for row in rows:
        narrower = narrowed[row["o"].value, row["bound"].value]  # type: ignore[union-attr]
        if not narrower <= held:
            continue
        in_force, roles = found.setdefault(row["o"].value, (False, set()))  # type: ignore[union-attr]
        roles.add(row["bound"].value)  # type: ignore[union-attr]
        roles.update(narrower)
        found[row["o"].value] = (in_force or row["force"].value == "true", roles)  # type: ignore[union-attr]
    # An obligation whose trigger needs a role too (og:requiresRole) applies only with it, and it is a reason.
    required: dict[str, set[str]] = defaultdict(set)
    for row in store.select(f"{PREFIXES}SELECT ?o ?r WHERE {{ ?o og:requiresRole ?r }}"):
        required[row["o"].value].add(row["r"].value)  # type: ignore[union-attr]
    return {
        obligation: (in_force, roles | required[obligation])
        for obligation, (in_force, roles) in found.items()
        if required[obligation] <= held
    }


def reasons_in_the_store(store: Store, organisation: str, role: str, view: Store) -> set[str]:
    """The role assignments (in ``view``'s derived graph) that make ``role`` apply: those of exactly it, else those
    of narrower roles (by the class hierarchy in ``store``)."""
    narrower = {
        row["role"].value  # type: ignore[union-attr]
        for row in store.select(f"{PREFIXES}SELECT ?role WHERE {{ ?role rdfs:subClassOf* <{role}> }}")
    }
    rows = view.select(
        f"{PREFIXES}SELECT ?a ?role WHERE {{ GRAPH <{Graphs.DERIVED}> {{ ?a og:isAssignedTo <{organisation}> ; "
        "og:assignedRole ?role } }"
    )
    rows = [row for row in rows if row["role"].value in narrower]  # type: ignore[union-attr]
    direct = {row["a"].value for row in rows if row["role"].value == role}  # type: ignore[union-attr]
    return direct or {row["a"].value for row in rows}  # type: ignore[union-attr]


def roles_on(store: Store, organisation: str, day: date) -> Store:
    """A store whose derived graph holds the organisation's roles on ``day``: the store itself from its latest
    judgement on, a scratch copy with the roles derived again as of an earlier day."""
    judged = judged_as_of(store, organisation)
    if judged is None or day >= as_of_date(judged):
        return store
    _, rules = compiled(store, None)
    return Foresight(store, organisation, None, rules).as_of(day)


def test_the_index_gives_the_obligations_the_store_joins(store: Store, organisations: list[str]) -> None:
    assert len(organisations) == 40
    seen: dict[Status, int] = defaultdict(int)
    seen_before_registration = 0
    for organisation in organisations:
        for day in DAYS:
            view = roles_on(store, organisation, day)
            expected = bound_in_the_store(store, organisation, day, view)
            found = applicable_obligations(store, organisation, day)
            registered = OrganisationReads(organisation).registered_on(store)
            if registered is not None and day < registered:
                assert found == [], (organisation, day)  # nothing is known of it before
                seen_before_registration += 1
                continue
            ahead = [item for item in found if item.foreseen]  # owed by a launch after the day, with its roles
            assert all(
                (item.status is Status.DUE and item.due_on and item.due_on >= day)
                or (item.status is Status.NOT_IN_FORCE and item.due_on is None)
                for item in ahead
            ), ahead
            seen[Status.DUE] += len(ahead)
            current = [item for item in found if not item.foreseen]
            assert {item.obligation for item in current} == set(expected) - {item.obligation for item in ahead}, (
                organisation,
                day,
            )
            for item in current:
                in_force, roles = expected[item.obligation]
                assert (item.status != Status.NOT_IN_FORCE) == in_force, (organisation, day, item.obligation_id)
                given = {(reason.bound_role, reason.assignment.iri) for reason in item.reasons}
                assert given == {
                    (role, assignment)
                    for role in roles
                    for assignment in reasons_in_the_store(store, organisation, role, view)
                }, (organisation, day, item.obligation_id)
                assert given
                seen[item.status] += 1
    # the data reaches every status but DUE's rarer cases, and both sides of the effective dates
    assert seen[Status.NOT_IN_FORCE] > 0 and seen[Status.COMPLIANT] > 0 and seen[Status.VIOLATED] > 0
    assert seen_before_registration > 0
    assert seen[Status.NOT_CHECKABLE] > 0


def test_the_index_counts_open_violations_by_the_links_the_store_holds(store: Store, organisations: list[str]) -> None:
    checked = 0
    for organisation in organisations:
        counts = violation_counts(store, organisation)
        rows = store.select(
            f"{PREFIXES}SELECT ?v ?authority ?instrument WHERE {{ GRAPH <{Graphs.VIOLATIONS}> {{ "
            f"?v og:concernsOrganisation <{organisation}> ; og:hasViolationStatus og:ViolationOpen ; "
            "og:isViolationOf ?o } ?o og:hasInstrument ?instrument "
            "OPTIONAL { ?o og:hasCompetentAuthority ?authority } }"
        )
        by_authority: dict[str, set[str]] = defaultdict(set)
        by_instrument: dict[str, set[str]] = defaultdict(set)
        for row in rows:
            by_instrument[row["instrument"].value].add(row["v"].value)  # type: ignore[union-attr]
            if "authority" in row:
                by_authority[row["authority"].value].add(row["v"].value)  # type: ignore[union-attr]
        assert counts.open_by_authority == {key: len(found) for key, found in sorted(by_authority.items())}
        assert counts.open_by_instrument == {key: len(found) for key, found in sorted(by_instrument.items())}
        checked += counts.open
    assert checked > 0


def test_a_rebuilt_regulation_graph_is_what_applies() -> None:
    """After a rebuild (a new fingerprint), an obligation added to the regulation graph binds at once; the index of
    the earlier build is not served for it. The fingerprint names the fixed graphs' content (the process shares
    what it read of them between stores of one build), so this build has a fingerprint of its own."""
    fresh = open_store("memory")
    ensure_built(fresh)
    pipeline = Pipeline.from_store(fresh)
    pipeline.process(generated_data.as_events(generated_data.generate(3, seed=7)))
    organisation = str(pipeline.organisations()[0])
    before = {item.obligation_id for item in applicable_obligations(fresh, organisation, DAYS[-1])}
    instrument = fresh.select(f'{PREFIXES}SELECT ?i WHERE {{ ?o skos:notation "CSL-06" ; og:hasInstrument ?i }}')
    added, record = "https://example.org/obligation/TEST-1", f"<{build_record()}> <{build_fingerprint_predicate()}>"
    fresh.update(
        f"{PREFIXES}DELETE WHERE {{ GRAPH <{Graphs.META}> {{ {record} ?old }} }} ;"
        f'INSERT DATA {{ GRAPH <{Graphs.META}> {{ {record} "rebuilt-with-TEST-1" }} '
        f"GRAPH <{Graphs.REGULATIONS}> {{ <{added}> "
        f'og:bindsRole og:AnyOrganisationOrIndividual ; skos:notation "TEST-1" ; og:isMachineCheckable false ; '
        f"og:hasInstrument <{instrument[0]['i'].value}> }} }}"  # type: ignore[union-attr]
    )
    after = {item.obligation_id: item.status for item in applicable_obligations(fresh, organisation, DAYS[-1])}
    assert "TEST-1" not in before and after.pop("TEST-1") == Status.NOT_CHECKABLE
    assert set(after) == before


def test_beijing_regulations_bind_only_organisations_in_beijing(store: Store, pipeline: Pipeline) -> None:
    """Two handlers of 2,000,000 people's personal information, one in Beijing, one in Shanghai: the Beijing Digital
    Economy Regulations' data duties (BJ-03) bind the first only; national ones bind both."""
    events = []
    for number, (org_id, jurisdiction) in enumerate((("J-BJ", "CN-BJ"), ("J-SH", "CN-SH"))):
        event = {
            "specversion": "1.0",
            "id": f"j-{number}",
            "source": "urn:test:jurisdiction",
            "type": "organisation.registered",
            "time": "2026-03-02T09:00:00+08:00",
            "subject": org_id,
            "data": {"name": org_id, "jurisdiction": jurisdiction, "personalInformationSubjects": 2_000_000},
        }
        events.append(parse_event(event))
    assert not pipeline.process(events).rejected
    bound = {
        org_id: {item.obligation_id for item in applicable_obligations(store, str(iris.organisation(org_id)), DAY)}
        for org_id in ("J-BJ", "J-SH")
    }
    assert "BJ-03" in bound["J-BJ"] and not any(found.startswith("BJ-") for found in bound["J-SH"])
    assert bound["J-BJ"] - {"BJ-03"} == bound["J-SH"]
    assert {"PIPL-01", "DSL-01"} <= bound["J-SH"]


def test_a_threshold_in_the_trigger_narrows_who_is_bound(store: Store, pipeline: Pipeline) -> None:
    """PIPL-06 binds personal information handlers of 1,000,000 people or more, NDSMR-02 those of 10,000,000 or more
    (NDSMR Art. 28): a handler of 5,000 people has neither, one of 1,200,000 PIPL-06, one of exactly 10,000,000
    both; the role the threshold gives is among the reasons, with the organisation's count behind it."""
    sizes = {"T-5K": 5000, "T-1M": 1_200_000, "T-10M": 10_000_000}
    events = [
        parse_event(
            {
                "specversion": "1.0",
                "id": f"t-{org_id}",
                "source": "urn:test:thresholds",
                "type": "organisation.registered",
                "time": "2026-03-02T09:00:00+08:00",
                "subject": org_id,
                "data": {"name": org_id, "jurisdiction": "CN", "personalInformationSubjects": size},
            }
        )
        for org_id, size in sizes.items()
    ]
    assert not pipeline.process(events).rejected
    found = {
        org_id: {
            item.obligation_id: item for item in applicable_obligations(store, str(iris.organisation(org_id)), DAY)
        }
        for org_id in sizes
    }
    assert {"PIPL-06", "NDSMR-02", "PIPL-05"} & found["T-5K"].keys() == set()
    assert "PIPL-06" in found["T-1M"] and "NDSMR-02" not in found["T-1M"]
    assert "PIPL-05" in found["T-1M"]  # PIPL Art. 40 (Data Export Security Assessment Measures Art. 4: 1,000,000)
    assert {"PIPL-06", "NDSMR-02"} <= found["T-10M"].keys()
    assert "PIPL-01" in found["T-5K"]  # every handler's duties stay
    small = OrganisationReads(str(iris.organisation("T-5K")))
    assert why_not_bound(store, str(iris.obligation("PIPL-06")), small) == (
        "it binds PersonalInformationHandler, each only if also PersonalInformationHandlerAboveOfficerThreshold; "
        "of these T-5K plays PersonalInformationHandler (as last judged)"
    )
    assert why_not_bound(store, str(iris.obligation("BJ-02")), small) == (
        "its instruments bind organisations in CN-BJ only, and T-5K is registered in CN"
    )
    for org_id, obligation, role in (
        ("T-1M", "PIPL-06", OG.PersonalInformationHandlerAboveOfficerThreshold),
        ("T-10M", "NDSMR-02", OG.PersonalInformationHandlerOfTenMillionOrMore),
    ):
        reasons = found[org_id][obligation].reasons
        [threshold] = [reason.assignment for reason in reasons if reason.bound_role == str(role)]
        assert threshold.reasons == (str(iris.organisation(org_id)),)


def test_a_trigger_that_narrows_one_bound_role_leaves_the_others(store: Store, pipeline: Pipeline) -> None:
    """DS-09 (Deep Synthesis Provisions Art. 19) binds deep synthesis providers whose service has public-opinion
    attributes or social mobilisation capacity: a public face-swap app without them is a deep synthesis provider
    that DS-09 does not bind; with them, it binds, and the public-opinion role, with its system, is a reason."""
    systems = {"DS-PLAIN": False, "DS-OPINION": True}
    events = []
    for org_id, opinion in systems.items():
        for kind, data in (
            ("organisation.registered", {"name": org_id, "jurisdiction": "CN"}),
            (
                "aisystem.deployed",
                {
                    "systemId": "faces",
                    "name": "Face swap",
                    "capabilities": ["face-or-voice-editing"],
                    "launchedOn": "2026-03-02",
                    "publicOpinionAttributes": opinion,
                },
            ),
        ):
            envelope = {"specversion": "1.0", "id": f"{org_id}-{kind}", "source": "urn:test:narrowing", "type": kind}
            at = {"time": "2026-03-02T09:00:00+08:00", "subject": org_id}
            events.append(parse_event({**envelope, **at, "data": data}))
    assert not pipeline.process(events).rejected
    found = {
        org_id: {
            item.obligation_id: item for item in applicable_obligations(store, str(iris.organisation(org_id)), DAY)
        }
        for org_id in systems
    }
    assert "DS-09" not in found["DS-PLAIN"]
    assert why_not_bound(
        store, str(iris.obligation("DS-09")), OrganisationReads(str(iris.organisation("DS-PLAIN")))
    ) == (
        "it binds DeepSynthesisProvider (only if also PublicOpinionDeepSynthesisProvider) or "
        "DeepSynthesisTechnicalSupporter; of these DS-PLAIN plays DeepSynthesisProvider (as last judged)"
    )
    assert "DS-02" in found["DS-PLAIN"]  # a deep synthesis provider's other duties stay
    reasons = {reason.bound_role: reason.assignment for reason in found["DS-OPINION"]["DS-09"].reasons}
    assert set(reasons) == {str(OG.DeepSynthesisProvider), str(OG.PublicOpinionDeepSynthesisProvider)}
    system = str(iris.ai_system("DS-OPINION", "faces"))
    assert reasons[str(OG.PublicOpinionDeepSynthesisProvider)].reasons == (system,)


DAY = date(2026, 6, 1)


def test_a_day_asked_ahead_of_the_clock_reads_as_its_pass_makes_it() -> None:
    """60 generated organisations, their events up to 1 March 2026 applied, no clock since: each one's statuses as
    of 1 June are those the clock's pass of 1 June leaves, save a deadline that ran out in between, which reads
    DUE with its past date (overdue) until a pass opens it. Before the scratch judgement of such a day (``_Later``),
    three AGC-01 rows read COMPLIANT where the pass made them VIOLATED."""
    store = open_store("memory")
    ensure_built(store)
    pipeline = Pipeline.from_store(store)
    events = generated_data.as_events(generated_data.generate(60, seed=7))
    pipeline.process([event for event in events if as_of_date(event.time) < date(2026, 3, 1)])
    day = date(2026, 6, 1)
    organisations = [str(iris.organisation(org)) for org in sorted({e.subject for e in events})]

    def statuses(org: str) -> dict[str, tuple[Status, date | None]]:
        return {a.obligation_id: (a.status, a.due_on) for a in applicable_obligations(store, org, day)}

    ahead = {org: statuses(org) for org in organisations}
    pipeline.revalidate(day)
    compared = overdue = 0
    for org in organisations:
        for obligation, (status, due_on) in statuses(org).items():
            before = ahead[org].get(obligation)
            compared += 1
            if before is not None and before[0] is Status.DUE and before[1] is not None and before[1] < day:
                assert status is Status.VIOLATED, (org, obligation, before)
                overdue += 1
                continue
            assert before == (status, due_on), (org, obligation, before, status)
    assert compared > 1000 and overdue > 0, (compared, overdue)

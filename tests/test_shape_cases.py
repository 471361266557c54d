"""Every shape case (tests/shapes/cases/*.yaml), judged by the engine and by pyshacl: both must agree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rdflib import Graph

from kg.pipeline import Pipeline
from kg.regulations import build_regulation_graph
from kg.store import Store
from tests.support.parsed_once import sparql_parsed_once
from tests.support.shape_cases import ShapeCase, load_cases, run_engine, run_pyshacl

CASES = load_cases()


@pytest.fixture(scope="module", autouse=True)
def prepared_queries() -> Iterator[None]:
    with sparql_parsed_once():
        yield


@pytest.fixture(scope="module")
def reference() -> Graph:
    return build_regulation_graph()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_shape_case(case: ShapeCase, store: Store, pipeline: Pipeline, reference: Graph) -> None:
    engine, day = run_engine(store, pipeline, case)
    assert engine == case.open, f"engine: {sorted(engine)}"
    assert run_pyshacl(store, reference, case.obligation, day) == case.open, "pyshacl disagrees"

"""The schema is a committed snapshot (``api/graphql/schema.graphql``), and the GraphQL package reads the graph
only through ``kg``."""

from __future__ import annotations

import ast
from pathlib import Path

from api.graphql import schema

PACKAGE = Path(schema.__file__).parent


def test_the_schema_matches_its_committed_snapshot() -> None:
    assert schema.SNAPSHOT.read_text(encoding="utf-8") == schema.printed(), (
        "the GraphQL schema changed: review the change and run `python -m api.graphql.schema` to update "
        "api/graphql/schema.graphql"
    )


def test_the_snapshot_command_checks_freshness() -> None:
    assert schema.main(["--check"]) == 0


def test_graphql_reads_the_graph_only_through_kg() -> None:
    ours = {"obligraph", "ontology", "kg", "shapes", "api", "ingest"}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in ours:
                    assert top == "kg" or name.startswith("api."), f"{path.name} imports {name}"
                assert top not in {"rdflib", "pyoxigraph", "pyshacl"}, f"{path.name} imports {name}: use kg"

"""The schema, and the command that writes its snapshot: ``python -m api.graphql.schema``.

``api/graphql/schema.graphql`` is committed; ``tests/test_graphql_schema.py`` fails when the code's schema
differs from it, so every schema change is a reviewable diff.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Final

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from api.graphql.execution import PlainLeafExecutor
from api.graphql.limits import extensions
from api.graphql.query import Query
from api.graphql.subscription import Subscription

SNAPSHOT: Final = Path(__file__).with_name("schema.graphql")

log = logging.getLogger("obligraph.api.graphql")


class Schema(strawberry.Schema):
    """Logs a fault (an exception a resolver raised: a store down, a bug) with its traceback, as strawberry does;
    a request the client got wrong (syntax, validation, a variable's value, a limit) is answered with the error and
    logged at debug level only, so a client cannot fill the server's log with tracebacks and echoes of its query."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        faults = [error for error in errors if _is_fault(error)]
        super().process_errors(faults, execution_context)
        for error in errors:
            if not _is_fault(error):
                log.debug("GraphQL request refused: %.200s", error.message)


def _is_fault(error: GraphQLError) -> bool:
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


schema = Schema(
    query=Query, subscription=Subscription, extensions=extensions(), execution_context_class=PlainLeafExecutor
)


def printed() -> str:
    return schema.as_str() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the snapshot (or, with ``--check``, exit 1 when it is stale)."""
    args = sys.argv[1:] if argv is None else argv
    if "--check" in args:
        fresh = SNAPSHOT.exists() and SNAPSHOT.read_text(encoding="utf-8") == printed()
        print("schema.graphql is up to date" if fresh else "schema.graphql is stale: run python -m api.graphql.schema")
        return 0 if fresh else 1
    SNAPSHOT.write_text(printed(), encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

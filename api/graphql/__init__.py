"""The GraphQL API for compliance dashboards (strawberry on the FastAPI app), reading the graph through ``kg``.

``router.graphql_router`` is what the app factory mounts at ``/graphql``; ``schema.graphql`` is the committed
schema snapshot (regenerate with ``python -m api.graphql.schema``). See ``docs/graphql.md``.
"""

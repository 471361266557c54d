"""A leaner path through graphql-core for the most common fields: plain attributes of scalar or enum type,
and labels in a language.

A dashboard answer is thousands of fields, most of them an id, a date or a label. For a plain attribute
strawberry already skips its resolver machinery (a "basic" field), but graphql-core still builds a
``GraphQLResolveInfo``, checks for awaitables twice and dispatches on the type for each one — most of the cost
of a field; a label (``title(lang: ZH)``) goes through strawberry's argument conversion as well.
``PlainLeafExecutor`` reads a plain field with the same default resolver and coerces it with the same leaf
type, and reads a label field with the same ``label_in`` when its ``lang`` is a literal or absent. Anything
else (every other field, a ``lang`` given as a variable, a value that would be an error) takes the standard
path, so results and errors are what graphql-core gives.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

from graphql import (
    EnumValueNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from api.graphql.catalog_types import LABELS, Lang
from kg.nodes import label_in

_BASIC_RESOLVER: Final = "_get_basic_result"
"""The name of the resolver strawberry gives a field without resolver, extensions or exception handlers."""


class _Plain:
    """A plain attribute of leaf type."""

    __slots__ = ("attribute", "leaf", "non_null", "resolve")

    def __init__(self, resolve: Callable[[Any, str], object], attribute: str, leaf: GraphQLLeafType, non_null: bool):
        self.resolve, self.attribute, self.leaf, self.non_null = resolve, attribute, leaf, non_null


class _Label:
    """A label field: the attribute holding its texts by language."""

    __slots__ = ("attribute",)

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute


_PLANS: dict[int, tuple[weakref.ref[GraphQLField], _Plain | _Label | None]] = {}
"""By field (graphql-core fields are not hashable): the field, to tell a reused id, and how to read it."""
_LANGS: Final = {lang.name: lang.value for lang in Lang}


def _plan(field: GraphQLField) -> _Plain | _Label | None:
    found = _PLANS.get(id(field))
    if found is not None and found[0]() is field:
        return found[1]
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    field_type = field.type
    non_null = isinstance(field_type, GraphQLNonNull)
    leaf = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    plan: _Plain | _Label | None = None
    if isinstance(definition, StrawberryField):
        metadata: Mapping[str, object] = definition.metadata or {}
        labels = metadata.get(LABELS)
        if (
            definition.is_basic_field
            and getattr(field.resolve, "__name__", None) == _BASIC_RESOLVER
            and is_leaf_type(leaf)
        ):
            plan = _Plain(definition.default_resolver, definition.python_name, leaf, non_null)
        elif isinstance(labels, str) and not definition.extensions and list(field.args) == ["lang"] and not non_null:
            plan = _Label(labels)
    _PLANS[id(field)] = (weakref.ref(field), plan)
    return plan


class PlainLeafExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        middleware = self.middleware_manager
        if middleware is None or not middleware.middlewares:  # no extension resolves fields
            node = field_details_list[0].node
            field = self.schema.get_field(parent_type, node.name.value)
            plan = _plan(field) if field is not None else None
            if isinstance(plan, _Plain):
                value = plan.resolve(source, plan.attribute)
                if value is None:
                    if not plan.non_null:
                        return None
                else:
                    try:
                        coerced = plan.leaf.coerce_output_value(value)
                    except Exception:  # the standard path below reports it
                        coerced = None
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            elif isinstance(plan, _Label):
                arguments = node.arguments
                lang: str | None = "en"
                if arguments:
                    given = arguments[0].value
                    lang = _LANGS.get(given.value) if isinstance(given, EnumValueNode) else None
                if lang is not None:
                    return label_in(getattr(source, plan.attribute), lang)
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

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

Most objects of a dashboard are plain all the way down (a violation: leaves, labels, its history and trace as
attributes holding plain objects). ``execute_fields`` builds such an object's answer in one pass, without a
path, resolve info or awaitable checks per field: an attribute holding an object (or a list of them) of a type
with no ``is_type_of`` recurses with the sub-selection graphql-core collects. Whether a selection is plain is
decided once per selection and request; a value the lean pass cannot give as graphql-core would (a null where
the type says non-null, a leaf that does not coerce) sends the whole object down the standard path, which
answers, or reports the error, as graphql-core does.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

from graphql import (
    EnumValueNode,
    ExecutionResult,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from api.graphql.catalog_types import LABELS, Lang
from kg.nodes import label_in

_BASIC_RESOLVER: Final = "_get_basic_result"
"""The name of the resolver strawberry gives a field without resolver, extensions or exception handlers."""


class _Plain:
    """A plain attribute of leaf type."""

    __slots__ = ("attribute", "leaf", "non_null", "resolve", "verbatim")

    def __init__(self, resolve: Callable[[Any, str], object], attribute: str, leaf: GraphQLLeafType, non_null: bool):
        self.resolve, self.attribute, self.leaf, self.non_null = resolve, attribute, leaf, non_null
        self.verbatim: type | None = _VERBATIM.get(leaf.name)
        """A Python type whose values the leaf gives back as they are (a ``str`` for String and ID)."""


_VERBATIM: Final[dict[str, type]] = {"String": str, "ID": str, "Boolean": bool}


class _Object:
    """An attribute holding an object, or a list of them, of a type graphql-core would not check (no
    ``is_type_of``)."""

    __slots__ = ("attribute", "is_list", "item_non_null", "non_null", "object_type", "resolve")

    def __init__(
        self,
        resolve: Callable[[Any, str], object],
        attribute: str,
        object_type: GraphQLObjectType,
        *,
        non_null: bool,
        is_list: bool,
        item_non_null: bool,
    ) -> None:
        self.resolve, self.attribute, self.object_type = resolve, attribute, object_type
        self.non_null, self.is_list, self.item_non_null = non_null, is_list, item_non_null


class _Label:
    """A label field: the attribute holding its texts by language."""

    __slots__ = ("attribute",)

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute


_PLANS: dict[int, tuple[weakref.ref[GraphQLField], _Plain | _Label | _Object | None]] = {}
"""By field (graphql-core fields are not hashable): the field, to tell a reused id, and how to read it."""
_LANGS: Final = {lang.name: lang.value for lang in Lang}


def _unwrap(field_type: Any) -> tuple[bool, bool, bool, Any]:
    """(non-null, list, non-null items, named type) of a field type; a list of lists is not unwrapped."""
    non_null = isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if non_null else field_type
    if not isinstance(inner, GraphQLList):
        return non_null, False, False, inner
    item = inner.of_type
    item_non_null = isinstance(item, GraphQLNonNull)
    return non_null, True, item_non_null, item.of_type if item_non_null else item


def _plan(field: GraphQLField) -> _Plain | _Label | _Object | None:
    found = _PLANS.get(id(field))
    if found is not None and found[0]() is field:
        return found[1]
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    field_type = field.type
    non_null = isinstance(field_type, GraphQLNonNull)
    leaf = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    plan: _Plain | _Label | _Object | None = None
    if isinstance(definition, StrawberryField):
        metadata: Mapping[str, object] = definition.metadata or {}
        labels = metadata.get(LABELS)
        basic = definition.is_basic_field and getattr(field.resolve, "__name__", None) == _BASIC_RESOLVER
        if basic and is_leaf_type(leaf):
            plan = _Plain(definition.default_resolver, definition.python_name, leaf, non_null)
        elif basic and not field.args:
            non_null, is_list, item_non_null, named = _unwrap(field_type)
            if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
                plan = _Object(
                    definition.default_resolver,
                    definition.python_name,
                    named,
                    non_null=non_null,
                    is_list=is_list,
                    item_non_null=item_non_null,
                )
        elif isinstance(labels, str) and not definition.extensions and list(field.args) == ["lang"] and not non_null:
            plan = _Label(labels)
    _PLANS[id(field)] = (weakref.ref(field), plan)
    return plan


class _StandardPathError(Exception):
    """The lean pass cannot answer this object as graphql-core would; the standard path will."""


_TYPENAME: Final = "__typename"
Selected = list[tuple[str, "_Plain | _Label | _Object | str", Any]]
"""A plain selection: (response name, how to read it, and for an object its sub-selection's fields; for a label
its language)."""


def _coerced(plan: _Plain, value: object) -> Any:
    """The leaf's output value, as graphql-core coerces it; ``_StandardPathError`` where that would fail."""
    try:
        coerced = plan.leaf.coerce_output_value(value)
    except Exception as error:
        raise _StandardPathError from error
    if coerced is None or coerced is Undefined:
        raise _StandardPathError
    return coerced


class PlainLeafExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        """The operation's result; once it is complete, the executor lets go of its resolver helpers.

        graphql-core's executor holds helpers bound to its own methods, a reference cycle that keeps it and all
        it collected (a dashboard: ~500 objects) alive until the cycle collector runs. Broken once the answer is
        built, everything is freed at once, and the collector, which otherwise ran every ~20 dashboard requests
        and stopped one for several milliseconds, has nothing to do (measured in process at 100,000 organisations
        on disk: p95 24 → 19 ms with the collector off). Only a finished plain result lets go: an incremental one
        (``@defer``) goes on executing, and an executor per subscription event is a copy that shares the helpers
        of the subscription's own."""
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._released_after(result)
        self._release(result)
        return result

    async def _released_after(self, pending: Any) -> Any:
        result = await pending
        self._release(result)
        return result

    def _release(self, result: object) -> None:
        if isinstance(result, ExecutionResult) and not self.background_futures:
            self.__dict__.pop("async_helpers", None)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        middleware = self.middleware_manager
        if middleware is None or not middleware.middlewares:
            selected = self._plain_selection(parent_type, grouped_field_set)
            if selected is not None:
                try:
                    return self._answer(source_value, selected)
                except _StandardPathError:
                    pass
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

    def _plain_selection(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Selected | None:
        """How to answer ``grouped_field_set`` on ``parent_type`` in the lean pass, or None when some field
        needs the standard path. Kept per request by the identity of the field set, which graphql-core keeps
        alive and reuses for every item of a list."""
        cache: dict[int, tuple[Any, Selected | None]] = self.__dict__.setdefault("_plain_selections", {})
        key = id(grouped_field_set)
        found = cache.get(key)
        if found is not None and found[0] is grouped_field_set:
            return found[1]
        selected = self._select(parent_type, grouped_field_set)
        cache[key] = (grouped_field_set, selected)
        return selected

    def _select(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Selected | None:
        selected: Selected = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            name = node.name.value
            if name == _TYPENAME:
                selected.append((response_name, _TYPENAME, parent_type.name))
                continue
            field = self.schema.get_field(parent_type, name)
            plan = _plan(field) if field is not None else None
            if isinstance(plan, _Plain):
                selected.append((response_name, plan, None))
            elif isinstance(plan, _Label):
                lang: str | None = "en"
                if node.arguments:
                    given = node.arguments[0].value
                    lang = _LANGS.get(given.value) if isinstance(given, EnumValueNode) else None
                if lang is None:
                    return None
                selected.append((response_name, plan, lang))
            elif isinstance(plan, _Object):
                collected = self.collect_subfields(plan.object_type, field_details_list)
                inner = (
                    None
                    if collected.new_defer_usages
                    else self._plain_selection(plan.object_type, collected.grouped_field_set)
                )
                if inner is None:
                    return None
                selected.append((response_name, plan, inner))
            else:
                return None
        return selected

    def _answer(self, source: Any, selected: Selected) -> dict[str, Any]:
        """A plain object's answer; raises ``_StandardPathError`` where graphql-core would answer otherwise or fail."""
        answer: dict[str, Any] = {}
        for response_name, plan, extra in selected:
            if isinstance(plan, _Label):
                answer[response_name] = label_in(getattr(source, plan.attribute), extra)
                continue
            if isinstance(plan, str):  # __typename
                answer[response_name] = extra
                continue
            value = plan.resolve(source, plan.attribute)
            if value is None:
                if plan.non_null:
                    raise _StandardPathError
                answer[response_name] = None
            elif isinstance(plan, _Plain):
                answer[response_name] = value if type(value) is plan.verbatim else _coerced(plan, value)
            elif not plan.is_list:
                answer[response_name] = self._answer(value, extra)
            elif isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
                raise _StandardPathError
            else:
                items: list[Any] = []
                for item in value:
                    if item is None:
                        if plan.item_non_null:
                            raise _StandardPathError
                        items.append(None)
                    else:
                        items.append(self._answer(item, extra))
                answer[response_name] = items
        return answer

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

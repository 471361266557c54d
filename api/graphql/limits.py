"""How much one query may ask: depth, aliases, tokens, and a cost that multiplies by page sizes.

A field costs 1, and what it selects costs as many times as the page it asks for (``first``; a variable
counts as the largest page). The limits keep one request from reading the whole graph.

The limits are validation rules, so they run once per document, never per field; and since a dashboard sends
the same few documents again and again, parsing and validating (with these rules) are cached by query text
(bounded LRU caches). The rule classes are made once, so the validation cache's key is the same every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from api.graphql.pagination import DEFAULT_PAGE, MAX_PAGE

MAX_DEPTH: Final = 12
MAX_ALIASES: Final = 30
MAX_TOKENS: Final = 4_000
MAX_COST: Final = 50_000
MAX_FIELDS_TOGETHER: Final = 300
"""Fields one selection set gathers, its fragments' included: graphql-core's check that they can be merged
recurses, and at ~700 it stops with nothing but "Validation aborted." (a dashboard's widest set holds ~20)."""
CACHED_DOCUMENTS: Final = 256


def _multiplier(field: FieldNode) -> int:
    for argument in field.arguments or ():
        if argument.name.value == "first":
            return int(argument.value.value) if isinstance(argument.value, IntValueNode) else MAX_PAGE
    return DEFAULT_PAGE if any(a.name.value == "after" for a in field.arguments or ()) else 1


class CostLimitRule(ValidationRule):
    """Refuses an operation whose estimated cost passes ``MAX_COST``."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = self._cost(node.selection_set, set())
        if cost > MAX_COST:
            self.report_error(
                GraphQLError(f"the query is too expensive: estimated cost {cost} > {MAX_COST}; ask for smaller pages")
            )

    def _cost(self, selections: SelectionSetNode | None, fragments: set[str]) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += 1 + _multiplier(selection) * self._cost(selection.selection_set, fragments)
            elif isinstance(selection, InlineFragmentNode):
                total += self._cost(selection.selection_set, fragments)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in fragments:
                fragment = self.context.get_fragment(selection.name.value)
                if fragment is not None:
                    total += self._cost(fragment.selection_set, fragments | {selection.name.value})
        return total


class SelectionWidthLimiter(SchemaExtension):
    """Refuses a query with a selection set wider than ``MAX_FIELDS_TOGETHER`` with a message that says so, in place
    of the errors validation found (which, for such a query, are only "Validation aborted.")."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            widest = _widest_selection(document)
            if widest > MAX_FIELDS_TOGETHER:
                context.pre_execution_errors = [
                    GraphQLError(
                        f"a selection set gathers more than {MAX_FIELDS_TOGETHER} fields (fragments included); "
                        "ask for fewer at once"
                    )
                ]
        yield


def _widest_selection(document: DocumentNode) -> int:
    """The most fields any selection set gathers (its inline fragments and fragment spreads expanded), counted up
    to just past the limit; iterative, so that a deeply nested document cannot exhaust the stack."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    sets = [d.selection_set for d in document.definitions if hasattr(d, "selection_set")]
    widest = 0
    while sets:
        selection_set = sets.pop()
        gathered = 0
        expanded: set[str] = set()  # a fragment spread twice in one set gathers its fields once
        pending = [selection_set]
        while pending and gathered <= MAX_FIELDS_TOGETHER:
            for selection in pending.pop().selections:
                if isinstance(selection, FieldNode):
                    gathered += 1
                    if selection.selection_set is not None:
                        sets.append(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in expanded:
                    expanded.add(selection.name.value)
                    spread = fragments.get(selection.name.value)
                    if spread is not None:
                        pending.append(spread.selection_set)
        widest = max(widest, gathered)
        if widest > MAX_FIELDS_TOGETHER:
            break
    return widest


RULES: Final = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    CostLimitRule,
)
"""Made once: the depth and alias limiters build a new rule class per instance, which would defeat the cache."""


def extensions() -> list[Any]:
    """Factories, so each request gets fresh extension instances (the caches live at module level)."""
    return [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(list(RULES)),
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
        SelectionWidthLimiter,  # after the cache, which validates and sets the errors in its own hook
    ]

"""How much one query may ask: depth, aliases, tokens, and a cost that multiplies by page sizes.

A field costs 1, and what it selects costs as many times as the page it asks for (``first``; a variable
counts as the largest page). The limits keep one request from reading the whole graph.

The limits are validation rules, so they run once per document, never per field; and since a dashboard sends
the same few documents again and again, parsing and validating (with these rules) are cached by query text
(bounded LRU caches). The rule classes are made once, so the validation cache's key is the same every request.
"""

from __future__ import annotations

from typing import Any, Final

from graphql import (
    FieldNode,
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
    ValidationCache,
)

from api.graphql.pagination import DEFAULT_PAGE, MAX_PAGE

MAX_DEPTH: Final = 12
MAX_ALIASES: Final = 30
MAX_TOKENS: Final = 4_000
MAX_COST: Final = 50_000
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
    ]

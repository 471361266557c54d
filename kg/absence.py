"""Absence checks rewritten for pyoxigraph: ``FILTER NOT EXISTS { P }`` → ``OPTIONAL { P } FILTER(!BOUND(…))``.

Most obligation shapes say "the organisation has no such control in place": a ``FILTER NOT EXISTS`` whose
pattern starts from ``$this``. pyoxigraph 0.5 plans that inner pattern without knowing ``$this`` is bound, so
it starts from the triple with a constant object (``?control og:hasEvidenceKind og:ControlX``) and scans every
organisation's controls once per row: the cost of a check grows with the organisations in the store times
those being checked (55 ms per organisation with 500 organisations loaded). As a left join the same pattern
is planned from the bound side: 68× faster on that workspace.

The two forms are equivalent here (SPARQL 1.1 §18.2.2.6: the filters of an OPTIONAL group become the
left join's condition, evaluated with the outer solution, so ``?asOf`` and nested ``NOT EXISTS`` still see the
organisation's bindings) provided the pattern's own variables cannot meet an outer one: they are renamed
apart, and the OPTIONAL goes at the end of the group so that every outer pattern is already joined. Only
top-level ``FILTER NOT EXISTS`` are rewritten; nested ones run per row of an already-anchored pattern.
The shapes keep the readable form that pyshacl evaluates; the shape cases and the differential test run
both engines on the same data, so a rewrite that changed a verdict would fail them.
"""

from __future__ import annotations

import re
from typing import Final

_NOT_EXISTS: Final = re.compile(r"FILTER\s+NOT\s+EXISTS\s*\{", re.IGNORECASE)
_VARIABLE: Final = re.compile(r"[?$]([A-Za-z_][A-Za-z0-9_]*)")


def closing_brace(text: str, opening: int) -> int:
    """The index of the ``}`` that closes the ``{`` at ``opening`` (the shapes hold no braces in strings)."""
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError("unbalanced braces in a SPARQL group")


def _top_level_blocks(group: str) -> list[tuple[int, int, int]]:
    """``(start, opening, closing)`` of each ``FILTER NOT EXISTS {…}`` at the group's own level."""
    blocks = []
    position = 0
    while match := _NOT_EXISTS.search(group, position):
        opening = match.end() - 1
        closing = closing_brace(group, opening)
        depth = group.count("{", 0, match.start()) - group.count("}", 0, match.start())
        if depth == 0:
            blocks.append((match.start(), opening, closing))
        position = closing + 1
    return blocks


def rewrite_group(group: str) -> str:
    """Rewrite the top-level absence filters of a group pattern's text (without its outer braces)."""
    blocks = _top_level_blocks(group)
    if not blocks:
        return group
    kept, start = [], 0
    for block_start, _, closing in blocks:
        kept.append(group[start:block_start])
        start = closing + 1
    kept.append(group[start:])
    outside = "".join(kept)
    outer = set(_VARIABLE.findall(outside))
    optionals = []
    for number, (_, opening, closing) in enumerate(blocks, start=1):
        found = f"absent{number}_found"

        def rename(match: re.Match[str], suffix: str = f"_absent{number}") -> str:
            name = match.group(1)
            return match.group(0) if name in outer else f"?{name}{suffix}"

        pattern = _VARIABLE.sub(rename, group[opening + 1 : closing])
        optionals.append(f"OPTIONAL {{ {pattern} BIND(true AS ?{found}) }} FILTER(!BOUND(?{found}))")
    return f"{outside.rstrip()}\n{' '.join(optionals)}\n"


def rewrite_where(query: str) -> str:
    """Rewrite the WHERE group of a SELECT or CONSTRUCT query (text after it, e.g. ORDER BY, is kept)."""
    match = re.search(r"\bWHERE\s*\{", query, flags=re.IGNORECASE)
    if match is None:
        return query
    opening = match.end() - 1
    closing = closing_brace(query, opening)
    return f"{query[: opening + 1]}{rewrite_group(query[opening + 1 : closing])}{query[closing:]}"

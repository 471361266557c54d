"""Whether a SPARQL request makes this server call other hosts (a query's ``SERVICE``, an update's ``LOAD``), which
the endpoint refuses unless it is told to allow it.

pyoxigraph evaluates ``SERVICE <iri>`` by sending the sub-query over HTTP from this server, to any host the query
names: an open endpoint would let anyone make the server call its own network (a cloud metadata address, a service
behind the firewall) and wait on slow hosts. ``LOAD <iri>`` fetches the IRI from this server too, for whoever holds
the update token. So both are opt-in (``OBLIGRAPH_SPARQL_ALLOW_SERVICE``).

pyoxigraph does not expose its parsed algebra, so this reads the keyword as a lexer would: strings, IRIs,
comments, variables and prefixed names are skipped, left to right, and ``SERVICE`` must stand as a word of its
own, in any case. SPARQL 1.1 (§19.2) lets an engine decode ``\\u`` escapes in the whole query before parsing;
pyoxigraph does not, a remote server may, and each reading can hide the keyword from the other (``"a\\u0022"``
is one string undecoded, a string and an opening quote decoded), so both are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

_ESCAPE: Final = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_TOKEN: Final = re.compile(
    r'(?P<skip>"""(?:[^"\\]|\\.|"(?!""))*"""'  # long strings first, so '""' + '"…' is not read as two short ones
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r"|'(?:[^'\\\n\r]|\\.)*'"
    r"|<[^<>\"{}|^`\\\x00-\x20]*>"  # an IRI: no space inside, so `?a < ?b` is not one
    r"|#[^\n\r]*"
    r"|[?$]\w+"  # a variable
    r"|_:[\w.\-]+"  # a blank node label
    r"|(?P<name>(?:[^\W\d][\w.\-]*)?:[\w.\-:%\\]*))"  # a prefixed name (ex:service, :service)
    r"|(?P<word>[^\W\d]\w*)",
    flags=re.DOTALL,
)

_BLOCK: Final = re.compile(r"(?:\s|#[^\n\r]*)*\{")


def _decoded(query: str) -> str:
    def character(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF else match.group(0)

    return _ESCAPE.sub(character, query)


def calls_service(query: str) -> bool:
    """Whether ``query`` holds a ``SERVICE`` clause, read with its ``\\u`` escapes as they are or decoded."""
    return _has_keyword(query) or _has_keyword(_decoded(query))


def loads_from_the_web(update: str) -> bool:
    """Whether ``update`` holds a ``LOAD`` operation, read as ``calls_service`` reads a query."""
    return any(word == "LOAD" for text in (update, _decoded(update)) for word in keywords(text))


def keywords(text: str) -> Iterator[str]:
    """The words of a SPARQL text outside its strings, IRIs, comments, variables and prefixed names, upper-cased:
    its keywords (and function names), in order."""
    for match in _TOKEN.finditer(text):
        if word := match.group("word"):
            yield word.upper()


def prefixed_names(text: str) -> Iterator[str]:
    """The prefixed names of a SPARQL text (``og:Obligation``, ``:x``), outside its strings, IRIs and comments."""
    for match in _TOKEN.finditer(text):
        if name := match.group("name"):
            yield name


def _has_keyword(query: str) -> bool:
    for match in _TOKEN.finditer(query):
        if (word := match.group("word")) and word.upper() == "SERVICE":
            return True
        if (name := match.group("name")) and name[:8].upper() == "SERVICE:" and _BLOCK.match(query, match.end()):
            return True  # pyoxigraph's parser reads `SERVICE:x {` as the keyword and the IRI `:x`
    return False

"""The SPARQL endpoint's page for a browser: a query form, the README's example queries, the answer as a table.

A browser asks ``/sparql`` for HTML first (its Accept header prefers ``text/html``), and a service description or
SPARQL XML is no way to explore a graph, so such a request gets this page. A query sent from its form (``GET
/sparql?query=``) comes back as a table, and every IRI in an answer links to the triples it is the subject of and
to those that point at it: a legal engineer can walk from an obligation to its articles, authorities and penalty
without a client. The page has no script and loads nothing from elsewhere. The query runs as every other answer
does (``api.sparql``: the same timeout, result cap and refusals); only the rendering is here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Final
from urllib.parse import urlencode

import pyoxigraph as ox

from api.sparql_examples import EXAMPLES
from kg.answer_prefixes import STANDARD, query_prefixes
from kg.sparql_answers import (
    GRAPH_FORMATS,
    N_TRIPLES,
    SOLUTION_FORMATS,
    SPARQL_JSON,
    Answer,
    NotAcceptableError,
    negotiate,
)

HTML: Final = "text/html"
ROWS_SHOWN: Final = 1_000
"""At most this many rows or triples on the page (fewer if the endpoint's result cap is lower); past it, the page
says there were more and how to read them all."""
ANSWER_ACCEPT: Final = f"{SPARQL_JSON}, {N_TRIPLES}"
"""What the page asks ``answer_query`` for: rows as SPARQL JSON, triples as N-Triples; pyoxigraph reads both back."""
HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept",
}
"""A page that shows whatever the graph holds: nothing in it may run, load or be framed."""

_XSD_STRING: Final = "http://www.w3.org/2001/XMLSchema#string"
_LOCAL_NAME: Final = re.compile(r"[A-Za-z0-9_](?:[\w.-]*[\w-])?")
"""A local part a prefixed name can show as is (Turtle's PN_LOCAL without escapes); others are shown in full."""


def wants_page(accept: str | None) -> bool:
    """Whether the client prefers HTML to every format the endpoint answers in: a browser does; a SPARQL client,
    or curl's ``*/*``, does not (their answer is unchanged)."""
    if not accept:
        return False
    try:
        return negotiate(accept, [*SOLUTION_FORMATS, *GRAPH_FORMATS, HTML]) == HTML
    except NotAcceptableError:
        return False


def about_query(iri: str) -> str:
    """What the page runs when an IRI is followed: the triples it is the subject of, with their named graph."""
    where = f"{{ GRAPH ?graph {{ {ox.NamedNode(iri)} ?predicate ?object }} }}"
    return f"SELECT ?predicate ?object ?graph\nWHERE {where}\nORDER BY ?predicate ?object"


def linking_query(iri: str) -> str:
    """What the page runs for an IRI's ←: the triples whose object it is."""
    where = f"{{ GRAPH ?graph {{ ?subject ?predicate {ox.NamedNode(iri)} }} }}"
    return f"SELECT ?subject ?predicate ?graph\nWHERE {where}\nORDER BY ?predicate ?subject"


def page_link(query: str) -> str:
    """The page's own URL for a query (relative, so the page works wherever the endpoint is mounted)."""
    return "?" + urlencode({"query": query}, safe=":/")


def render(
    query: str | None, *, answer: Answer | None = None, error: str | None = None, elapsed_ms: float | None = None
) -> str:
    """The whole page: the form holding ``query`` (the first example when there is none), then the answer or the
    error."""
    text = EXAMPLES[0].query if query is None else query
    prefixes = query_prefixes(text)
    if error is not None:
        shown = f'<p class="error" role="alert">{escape(error)}</p>'
    elif answer is not None:
        shown, table = _answer(answer, prefixes, elapsed_ms)
        if table and answer.rows:  # rows or triples to save, not an ASK's one word
            shown += _saving(text, answer)
    else:
        shown = ""
    examples = "\n".join(
        f'<li><a href="{escape(page_link(example.query))}">{escape(example.title)}</a></li>' for example in EXAMPLES
    )
    known = "\n".join(f"<tr><td>{escape(name)}:</td><td>{escape(iri)}</td></tr>" for name, iri in STANDARD.items())
    return _PAGE.format(
        query=escape(text),
        shown=shown,
        examples=examples,
        prefixes=known,
    )


def _answer(answer: Answer, prefixes: Mapping[str, str], elapsed_ms: float | None) -> tuple[str, bool]:
    """The answer as HTML, and whether it is a table (an ASK's is one word)."""
    took = f" in {elapsed_ms:,.0f} ms" if elapsed_ms is not None else ""
    if answer.media_type == SPARQL_JSON:
        result = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
        if isinstance(result, ox.QueryBoolean):
            word = "true" if result else "false"
            return f'<p class="status">ASK answered{took}:</p><p class="boolean">{word}</p>', False
        names = [variable.value for variable in result.variables]
        rows: list[Sequence[object]] = [[solution[name] for name in names] for solution in result]
        noun = "row"
    else:
        names = ["subject", "predicate", "object"]
        rows = [
            [triple.subject, triple.predicate, triple.object]
            for triple in ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES)
        ]
        noun = "triple"
    count = f"{len(rows):,} {noun}{'' if len(rows) == 1 else 's'}"
    status = f"{count}{took}."
    if answer.truncated:
        status = (
            f"The first {count}{took}; there are more. Narrow the query (LIMIT, OFFSET, more specific patterns), or "
            "save the whole answer below (up to the endpoint's result cap)."
        )
    head = "".join(f"<th>{escape(name)}</th>" for name in names)
    body = "\n".join("<tr>" + "".join(f"<td>{_term(value, prefixes)}</td>" for value in row) + "</tr>" for row in rows)
    table = f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    return f'<p class="status">{status}</p>\n{table}', True


SAVED_AS: Final = {
    SPARQL_JSON: (("CSV", "csv"), ("TSV", "tsv"), ("SPARQL JSON", "json"), ("SPARQL XML", "xml")),
    N_TRIPLES: (("Turtle", "turtle"), ("N-Triples", "ntriples"), ("RDF/XML", "rdfxml"), ("JSON-LD", "jsonld")),
}
"""The formats the page offers an answer's download in (the endpoint's ``download`` parameter), by the page's own."""


def _saving(query: str, answer: Answer) -> str:
    """Links that fetch the whole answer again as a file (up to the endpoint's cap, not the page's)."""
    links = " · ".join(
        f'<a href="?{escape(urlencode({"query": query, "download": name}, safe=":/"))}">{label}</a>'
        for label, name in SAVED_AS[answer.media_type]
    )
    return f'\n<p class="tag">Save the whole answer: {links}</p>'


def _term(term: object, prefixes: Mapping[str, str]) -> str:
    """One value of an answer as HTML: an IRI as its short name, linked to what it says and to what links to it; a
    literal with its language or datatype; nothing where the variable is unbound."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return (
            f'<a href="{escape(page_link(about_query(term.value)))}" title="{escape(term.value)}">'
            f"{escape(short_name(term.value, prefixes))}</a> "
            f'<a class="in" href="{escape(page_link(linking_query(term.value)))}" title="what links to it">←</a>'
        )
    if isinstance(term, ox.BlankNode):
        return f'<span class="tag">_:{escape(term.value)}</span>'
    if isinstance(term, ox.Literal):
        if term.language:
            tag = f"@{term.language}"
        elif term.datatype.value != _XSD_STRING:
            tag = f"^^{short_name(term.datatype.value, prefixes)}"
        else:
            tag = ""
        return escape(term.value) + (f' <span class="tag">{escape(tag)}</span>' if tag else "")
    if isinstance(term, ox.Triple):
        parts = " ".join(_term(part, prefixes) for part in (term.subject, term.predicate, term.object))
        return f"&lt;&lt; {parts} &gt;&gt;"
    return escape(str(term))


def short_name(iri: str, prefixes: Mapping[str, str]) -> str:
    """``og:Obligation`` for an IRI under one of ``prefixes`` (the longest namespace that leaves a plain local name),
    else the IRI in angle brackets, as a query would write it."""
    fitting = [  # the longest namespace; of two equal ones, the later name (a query's own comes after the standard)
        (len(namespace), position, f"{name}:{iri[len(namespace) :]}")
        for position, (name, namespace) in enumerate(prefixes.items())
        if iri.startswith(namespace) and (iri == namespace or _LOCAL_NAME.fullmatch(iri[len(namespace) :]))
    ]
    return max(fitting)[2] if fitting else f"<{iri}>"


_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>obligraph · SPARQL</title>
<style>
body {{ font-family: system-ui, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 1.5rem;
  color: #1b1f23; }}
h1 {{ font-size: 1.3rem; margin: 0 0 .3rem; }}
h2 {{ font-size: 1rem; margin: 1.2rem 0 .4rem; }}
nav a {{ margin-right: 1rem; }}
textarea {{ width: 100%; box-sizing: border-box; font: .9rem/1.4 ui-monospace, "SFMono-Regular", Menlo, monospace; }}
button {{ margin-top: .4rem; padding: .3rem 1.2rem; }}
table {{ border-collapse: collapse; margin-top: .5rem; }}
th, td {{ border: 1px solid #d0d7de; padding: .2rem .5rem; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }}
td {{ max-width: 48rem; overflow-wrap: anywhere; }}
a {{ color: #0550ae; text-decoration: none; }}
a:hover {{ text-decoration: underline; }}
a.in, .tag {{ color: #6e7781; font-size: .85em; }}
.error {{ color: #a40e26; white-space: pre-wrap; }}
.boolean {{ font-size: 1.4rem; }}
details td {{ border: none; padding: 0 .6rem 0 0; }}
</style>
</head>
<body>
<h1>obligraph · SPARQL 1.1</h1>
<nav><a href="/graphql">GraphQL</a><a href="/docs">HTTP routes</a>
<a href="https://www.w3.org/TR/sparql11-query/">SPARQL 1.1 Query Language</a></nav>
<p>The default graph is the union of the named graphs. Follow an IRI in an answer to see what it says; ← shows what
links to it.</p>
<form method="get">
<textarea name="query" rows="16" spellcheck="false" aria-label="SPARQL query">{query}</textarea>
<button type="submit">Run</button>
</form>
<section aria-label="answer">
{shown}
</section>
<h2>Queries to start with</h2>
<ol>
{examples}
</ol>
<details><summary>Prefixes a query may use without declaring them, and answers are shown with (a query's own
<code>PREFIX</code> of the same name holds)</summary>
<table>
{prefixes}
</table>
</details>
</body>
</html>
"""

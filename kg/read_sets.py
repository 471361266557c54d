"""What a role rule or an obligation check can read, and what an event changed, as comparable keys.

A query's answer for an organisation depends on the organisation's triples only through its triple patterns. A
pattern is keyed by its predicate and by a class its subject and object must have (``ANY`` when none is known). A
variable gets a class from a pattern of the same basic graph pattern that gives it a constant ``rdf:type`` or
``og:hasEvidenceKind`` (``?a a og:Assessment ; og:concernsSystem ?s`` reads only the ``og:concernsSystem``
triples of assessments): a solution matches all of a basic graph pattern's triples at once, so a triple whose
subject lacks the class cannot be part of one. A variable keeps that class wherever the solutions it is bound in
reach: the patterns joined with it, the other side of an OPTIONAL, and the ``EXISTS`` / ``NOT EXISTS`` of a
filter over them, which see it bound. An ``rdf:type`` pattern has its class as the object. A variable predicate or a
property path can read anything (``ANYTHING``).

An organisation's triples are keyed the same way, each subject and object by the classes the organisation's own
triples (and its derived roles) give it; a node they do not describe (a code list entry such as
``og:SectorFinance``) matches any class. The keys under which an organisation's triples differ before and after an
event are the keys the event changed (``changed_keys``); a query whose keys meet none of them (``reads``) gives
the same answer as before. ``kg.deltas`` uses this to re-run only the checks an event can affect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Generic, TypeVar

from rdflib import RDF, URIRef
from rdflib.paths import Path
from rdflib.plugins.sparql.algebra import translateQuery, triples
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from ontology.namespaces import OG

Label = TypeVar("Label")
Key = tuple[str, str, str]
"""(predicate, class of the subject, class of the object); for ``rdf:type`` the object is the class itself."""

ANY: Final = "*"
"""In a query's key: the pattern does not restrict this position. In a triple's key: the node's classes are not
known from the organisation's triples."""
UNTYPED: Final = "-"
"""In a triple's key: a node the organisation's triples describe without a class, or a literal."""
ANYTHING: Final[Key] = (ANY, ANY, ANY)
TYPE: Final = str(RDF.type)
KIND: Final = str(OG.hasEvidenceKind)
_CLASSIFYING: Final = {TYPE: "", KIND: "kind "}
"""The predicates whose constant objects class a node: its types, and the kind of a piece of evidence (a control,
an assessment, a filing all share their other predicates)."""
_CLASSIFYING_TERMS: Final = {f"<{predicate}>".encode(): prefix for predicate, prefix in _CLASSIFYING.items()}
_PASS_SCOPE: Final = frozenset(
    {"SelectQuery", "ConstructQuery", "Filter", "Extend", "Distinct", "Reduced", "Slice", "OrderBy", "Graph",
     "ToMultiSet", "Group", "AggregateJoin"}
)  # fmt: skip
"""Algebra operators whose solutions are (a subset of) their pattern ``p``'s, so they keep its classes."""


def read_set(query: str) -> frozenset[Key]:
    """The keys of every triple pattern of ``query`` (SPARQL SELECT or CONSTRUCT; the template is not read)."""
    keys: set[Key] = set()
    _walk(translateQuery(parseQuery(query)).algebra, {}, keys)
    return frozenset(keys)


Classes = Mapping[object, str]
"""A class every solution's value of a variable has."""


def _walk(node: object, inherited: Classes, keys: set[Key]) -> None:
    if isinstance(node, list | tuple):
        for item in node:
            _walk(item, inherited, keys)
        return
    if not isinstance(node, CompValue):
        return
    if node.name in ("BGP", "TriplesBlock"):
        _patterns(_triples_of(node), inherited, keys)
        return
    scope = {**inherited, **_bound(node)}
    for name, value in node.items():
        if name == "template":
            continue
        if node.name == "LeftJoin" and name == "expr":  # the OPTIONAL's filter sees both sides bound
            _walk(value, {**scope, **_bound(node.get("p2"))}, keys)
        elif node.name == "Project":
            _walk(value, {}, keys)  # a sub-select's variables are its own
        else:
            _walk(value, scope, keys)


def _triples_of(node: CompValue) -> list[Sequence[object]]:
    """A basic graph pattern's triples; inside ``EXISTS`` rdflib leaves them parsed (flattened lists)."""
    found = node.get("triples") or []
    return list(found) if node.name == "BGP" else list(triples(found))


def _classes(patterns: Iterable[Sequence[object]]) -> dict[object, str]:
    classes: dict[object, str] = {}
    for subject, predicate, kind in patterns:
        prefix = _CLASSIFYING.get(str(predicate)) if isinstance(predicate, URIRef) else None
        # a kind says more than a type
        if prefix is not None and isinstance(kind, URIRef) and (prefix or subject not in classes):
            classes[subject] = prefix + str(kind)
    return classes


def _bound(node: object) -> dict[object, str]:
    """Classes every solution of ``node`` gives its variables."""
    if not isinstance(node, CompValue):
        return {}
    if node.name in ("BGP", "TriplesBlock"):
        return _classes(_triples_of(node))
    if node.name in _PASS_SCOPE:
        return _bound(node.get("p"))
    if node.name in ("Join", "LeftJoin", "Minus"):
        return {**_bound(node.get("p2")), **_bound(node.get("p1"))} if node.name == "Join" else _bound(node.get("p1"))
    if node.name == "GroupGraphPatternSub":
        bound: dict[object, str] = {}
        for part in node.get("part") or []:
            if isinstance(part, CompValue) and part.name == "TriplesBlock":
                bound.update(_bound(part))
        return bound
    return {}


def _patterns(patterns: list[Sequence[object]], inherited: Classes, keys: set[Key]) -> None:
    classes = {**inherited, **_classes(patterns)}
    for subject, predicate, kind in patterns:
        if not isinstance(predicate, URIRef) or isinstance(predicate, Path):
            keys.add(ANYTHING)  # a variable, or a property path (parsed or translated)
        elif str(predicate) == TYPE:
            keys.add((TYPE, classes.get(subject, ANY), str(kind) if isinstance(kind, URIRef) else ANY))
        else:
            keys.add((str(predicate), classes.get(subject, ANY), classes.get(kind, ANY)))


def _line_classes(lines: Iterable[bytes]) -> tuple[dict[bytes, set[str]], set[bytes]]:
    """The classes of each node the lines describe, and the nodes they describe (their subjects)."""
    classes: dict[bytes, set[str]] = defaultdict(set)
    subjects = set()
    for line in lines:
        subject, predicate, rest = line.split(b" ", 2)
        subjects.add(subject)
        prefix = _CLASSIFYING_TERMS.get(predicate)
        if prefix is not None:
            classes[subject].add(prefix + rest.rsplit(b" ", 1)[0][1:-1].decode())
    return classes, subjects


def _line_keys(lines: Iterable[bytes], classes: Mapping[bytes, set[str]], subjects: set[bytes]) -> set[Key]:
    def of(node: bytes) -> Iterable[str]:
        if node in subjects:
            return classes.get(node) or (UNTYPED,)
        return (ANY,) if node.startswith((b"<", b"_:")) else (UNTYPED,)

    keys: set[Key] = set()
    for line in lines:
        subject, verb, rest = line.split(b" ", 2)
        predicate, kind = verb[1:-1].decode(), rest.rsplit(b" ", 1)[0]
        for subject_class in of(subject):
            for object_class in (kind[1:-1].decode(),) if predicate == TYPE else of(kind):
                keys.add((predicate, subject_class, object_class))
    return keys


def changed_keys(before: bytes, after: bytes) -> Changes:
    """The keys under which the lines (N-Triples) of ``before`` and ``after`` differ: all the keys of a line only
    one holds; and for a line both hold about a node whose classes differ, the keys it gains or loses."""
    old, new = set(before.splitlines()) - {b""}, set(after.splitlines()) - {b""}
    old_classes, old_subjects = _line_classes(old)
    new_classes, new_subjects = _line_classes(new)
    moved = {
        node
        for node in old_subjects | new_subjects
        if old_classes.get(node) != new_classes.get(node) or (node in old_subjects) != (node in new_subjects)
    }
    keys = _line_keys(old - new, old_classes, old_subjects) | _line_keys(new - old, new_classes, new_subjects)
    if moved:
        kept = [line for line in old & new if _mentions(line, moved)]
        keys |= _line_keys(kept, old_classes, old_subjects) ^ _line_keys(kept, new_classes, new_subjects)
    return Changes(keys)


def _mentions(line: bytes, nodes: set[bytes]) -> bool:
    subject, _, rest = line.split(b" ", 2)
    return subject in nodes or rest.rsplit(b" ", 1)[0] in nodes


class Changes:
    """The keys an event changed, by predicate, for asking many read sets (``reads``) about them."""

    def __init__(self, keys: Iterable[Key]) -> None:
        self.keys = frozenset(keys)
        self._by_predicate: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for predicate, subject_class, object_class in self.keys:
            self._by_predicate[predicate].append((subject_class, object_class))

    def __bool__(self) -> bool:
        return bool(self.keys)

    @property
    def predicates(self) -> Iterable[str]:
        return self._by_predicate.keys()

    def met_by(self, key: Key) -> bool:
        """Whether a query's key matches a changed key: the same predicate, and classes that agree or are ANY."""
        predicate, subject_class, object_class = key
        if predicate == ANY:
            return bool(self.keys)
        return any(
            (subject_class in (ANY, s) or s == ANY) and (object_class in (ANY, o) or o == ANY)
            for s, o in self._by_predicate.get(predicate, ())
        )


def reads(read: frozenset[Key], changed: Changes) -> bool:
    """Whether a query with read set ``read`` can answer differently once the keys ``changed`` changed."""
    return any(changed.met_by(key) for key in read)


class ReadIndex(Generic[Label]):
    """Many queries' read sets, by predicate, to find those a change calls for without asking each one."""

    def __init__(self, read_sets: Iterable[tuple[Label, frozenset[Key]]]) -> None:
        self._anything: set[Label] = set()
        self._by_predicate: dict[str, list[tuple[Label, Key]]] = defaultdict(list)
        for label, keys in read_sets:
            for key in keys:
                if key[0] == ANY:
                    self._anything.add(label)
                else:
                    self._by_predicate[key[0]].append((label, key))

    def reading(self, changed: Changes) -> set[Label]:
        """The labels of the queries that can answer differently (``reads``)."""
        if not changed:
            return set()
        found = set(self._anything)
        for predicate in changed.predicates:
            for label, key in self._by_predicate.get(predicate, ()):
                if label not in found and changed.met_by(key):
                    found.add(label)
        return found

"""When each field of an organisation's nodes was last set, so that an event delivered late does not undo a later one.

Upstream systems deliver late: an ``organisation.updated`` dated 1 March may arrive after one dated 1 April. Events
that set state (a profile field, a system's attributes, its retirement, a control in place or withdrawn, a transfer
started or ended) would otherwise leave the graph as the last to *arrive* said, not the last to *happen*. Each node
keeps, in the meta graph, the time of the latest event that set each of its fields (``og:fieldsWrittenAt``, one
JSON object per node); an event dated before it leaves that field alone and sets the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rdflib import Literal, URIRef

from kg.iris import Graphs
from kg.store import Store
from ontology.namespaces import OG

_META = f"<{Graphs.META}>"
_PROPERTY = OG.fieldsWrittenAt.n3()


@dataclass
class FieldTimes:
    """The field times of the nodes a batch touches, as read before it and as its events set them."""

    times: dict[URIRef, dict[str, datetime]] = field(default_factory=dict)
    touched: set[URIRef] = field(default_factory=set)

    @classmethod
    def read(cls, store: Store, nodes: Iterable[URIRef]) -> FieldTimes:
        values = " ".join(node.n3() for node in nodes)
        if not values:
            return cls()
        rows = store.select(f"SELECT ?x ?w WHERE {{ VALUES ?x {{ {values} }} {pattern('?x', '?w')} }}")
        return cls.of({URIRef(row["x"].value): row["w"].value for row in rows})  # type: ignore[union-attr]

    @classmethod
    def of(cls, written: Mapping[URIRef, str]) -> FieldTimes:
        """From each node's stored JSON (as ``pattern`` reads it alongside other reads)."""
        times = {
            node: {name: datetime.fromisoformat(at) for name, at in json.loads(text).items()}
            for node, text in written.items()
        }
        return cls(times)

    def merge(self, other: FieldTimes) -> None:
        self.times.update(other.times)

    def fresh(self, node: URIRef, when: datetime, fields: Iterable[str]) -> set[str]:
        """The fields an event of time ``when`` sets on ``node``: those no event dated later has set. Records
        ``when`` for them; call it once the event is known to be applied."""
        fresh = {name for name in fields if not self.set_later(node, when, name)}
        times = self.times.setdefault(node, {})
        for name in fresh:
            times[name] = when
        if fresh:
            self.touched.add(node)
        return fresh

    def set_later(self, node: URIRef, when: datetime, name: str) -> bool:
        """Whether an event dated after ``when`` set the field (``fresh`` without recording anything)."""
        at = self.times.get(node, {}).get(name)
        return at is not None and at > when

    def update(self) -> list[str]:
        """The operations that store the touched nodes' field times (none when nothing was set)."""
        if not self.touched:
            return []
        rows = " ".join(f"({node.n3()} {_json(self.times[node]).n3()})" for node in sorted(self.touched))
        return [
            f"DELETE {{ {pattern('?x', '?old')} }} INSERT {{ {pattern('?x', '?new')} }} "
            f"WHERE {{ VALUES (?x ?new) {{ {rows} }} OPTIONAL {{ {pattern('?x', '?old')} }} }}"
        ]


def pattern(node: str, written: str) -> str:
    """The graph pattern binding ``written`` to ``node``'s stored field times (JSON)."""
    return f"GRAPH {_META} {{ {node} {_PROPERTY} {written} }}"


def _json(times: Mapping[str, datetime]) -> Literal:
    return Literal(json.dumps({name: at.isoformat() for name, at in sorted(times.items())}, separators=(",", ":")))

"""Consumer positions kept in the graph: the Kafka offsets that the graph's state reflects.

A stream consumer (``ingest.worker``) commits a batch's graph change and the positions it reached in ONE
store transaction (``Pipeline.process(events, also=record_operations(...))``). After a crash or a rebalance,
records below the stored position are skipped, so each event changes the graph once whatever Kafka
redelivers. A position is the *next* offset to read in a partition (Kafka's convention for committed
offsets), and it only moves forward: an update that would move it back changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pyoxigraph as ox
from rdflib import Literal as Lit
from rdflib import URIRef

from kg import iris
from kg.iris import BASE, Graphs
from kg.store import Store

META: Final = f"<{Graphs.META}>"
CONSUMER_GROUP: Final = URIRef(f"{BASE}meta#consumerGroup")
TOPIC: Final = URIRef(f"{BASE}meta#topic")
PARTITION: Final = URIRef(f"{BASE}meta#partition")
NEXT_OFFSET: Final = URIRef(f"{BASE}meta#nextOffset")


def record_operations(group: str, topic: str, offsets: Mapping[int, int]) -> list[str]:
    """Update operations that set the next offset to read per partition, never moving one back.

    Each position is replaced only when the stored one is absent or smaller (``FILTER(?old < new)``), in
    the store, inside the caller's transaction: two writers racing cannot move a position backwards.
    """
    if not offsets:
        return []
    for partition, offset in offsets.items():
        if partition < 0 or offset < 0:
            raise ValueError(f"not a partition position: partition {partition}, offset {offset}")
    rows = " ".join(
        f"({iris.consumer_position(group, topic, partition).n3()} {int(partition)} {int(offset)})"
        for partition, offset in sorted(offsets.items())
    )
    group_term, topic_term = Lit(group).n3(), Lit(topic).n3()
    return [
        f"DELETE {{ GRAPH {META} {{ ?position {NEXT_OFFSET.n3()} ?old }} }} "
        f"INSERT {{ GRAPH {META} {{ ?position {CONSUMER_GROUP.n3()} {group_term} ; {TOPIC.n3()} {topic_term} ; "
        f"{PARTITION.n3()} ?partition ; {NEXT_OFFSET.n3()} ?next }} }} "
        f"WHERE {{ VALUES (?position ?partition ?next) {{ {rows} }} "
        f"OPTIONAL {{ GRAPH {META} {{ ?position {NEXT_OFFSET.n3()} ?old }} }} "
        "FILTER(!BOUND(?old) || ?old < ?next) }"
    ]


def stored_offsets(store: Store, group: str, topic: str) -> dict[int, int]:
    """The next offset to read per partition, as the graph records it (partitions never seen are absent)."""
    rows = store.select(
        f"SELECT ?partition (MAX(?next) AS ?offset) WHERE {{ GRAPH {META} {{ "
        f"?position {CONSUMER_GROUP.n3()} {Lit(group).n3()} ; {TOPIC.n3()} {Lit(topic).n3()} ; "
        f"{PARTITION.n3()} ?partition ; {NEXT_OFFSET.n3()} ?next }} }} GROUP BY ?partition"
    )
    offsets = {}
    for row in rows:
        partition, offset = row["partition"], row["offset"]
        assert isinstance(partition, ox.Literal) and isinstance(offset, ox.Literal)
        offsets[int(partition.value)] = int(offset.value)
    return offsets

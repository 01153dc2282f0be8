"""What `/metrics` says of the service's two bounded memory stores: the live topics' replay
buffers, which a quiet topic takes hours to fill, and SQLite's page caches, which grow with the
database. A soak tells their growth from a leak by them (bench/soak.py)."""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

import pytest

from robodine_edge.data.db import sqlite_memory_used
from robodine_edge.http.topics import TopicLog
from tests.http.conftest import unique
from tests.service import ServiceProcess


def _kept(log: TopicLog) -> int:
    return sum(sys.getsizeof(m) + sys.getsizeof(m.frame) for m in log.replay)


def test_a_topics_kept_bytes_follow_its_replay_buffer_and_stop_growing_once_full() -> None:
    log = TopicLog("orders", replay=5, first_seq=100)  # seqs and ids of three digits: frames of one size
    sizes = []
    for n in range(100, 105):
        log.append("upsert", {"id": n, "note": "x" * 100})
        sizes.append(log.kept_bytes)
        assert log.kept_bytes == _kept(log)
    assert sizes == sorted(sizes) and sizes[0] > 100
    full = log.kept_bytes
    for n in range(105, 125):  # as big as the first: the buffer is full, the figure stays put
        log.append("upsert", {"id": n, "note": "x" * 100})
        assert log.kept_bytes == _kept(log) == full
    for n in range(125, 130):  # smaller ones push the big ones out
        log.append("delete", {"id": n})
        assert log.kept_bytes == _kept(log)
    assert log.kept_bytes < full - 5 * 100  # each lost its 100-byte note


def test_sqlite_memory_is_read_from_the_library_the_sqlite3_module_uses(tmp_path: Path) -> None:
    before = sqlite_memory_used()
    assert before is not None
    with sqlite3.connect(tmp_path / "t.sqlite3") as conn:
        conn.execute("PRAGMA cache_size = -8000")
        conn.execute("CREATE TABLE t (b BLOB)")
        conn.executemany("INSERT INTO t VALUES (randomblob(1000))", [()] * 3000)  # ~3 MB of pages, cached
        during = sqlite_memory_used()
        assert during is not None and during - before > 2_000_000
    conn.close()


def _gauge(service: ServiceProcess, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", service.http.get("/metrics").text, re.M)
    assert found, f"{name} is not in /metrics"
    return float(found.group(1))


@pytest.mark.e2e
def test_metrics_show_the_replay_buffers_and_sqlites_memory(service: ServiceProcess, admin: dict[str, str]) -> None:
    before = _gauge(service, "robodine_websocket_replay_bytes")
    for _ in range(5):
        response = service.http.post("/api/tables", headers=admin, json={"name": unique("memory-"), "seats": 2})
        assert response.status_code == 201
    grown = _gauge(service, "robodine_websocket_replay_bytes") - before
    assert grown >= 5 * 150, grown  # five `tables` upserts (and their events) kept for since=
    assert _gauge(service, "robodine_sqlite_memory_bytes") > 100_000

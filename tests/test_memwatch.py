"""The memory debug hook (`ROBODINE_DEBUG_MEMORY`): off by default, snapshots a leak hunt can compare."""

from __future__ import annotations

import logging
import tracemalloc
from pathlib import Path

import orjson
import pytest

from robodine_edge.process.memwatch import MemoryWatch
from tests.service import ServiceProcess, service_env
from tests.waiting import eventually


def test_no_variable_no_watch() -> None:
    assert MemoryWatch.from_env({}) is None
    assert MemoryWatch.from_env({"ROBODINE_DEBUG_MEMORY": ""}) is None
    assert not tracemalloc.is_tracing()


@pytest.mark.parametrize("interval", ["soon", "0", "-5", "nan"])
def test_an_unusable_interval_is_logged_and_nothing_is_watched(
    tmp_path: Path, interval: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"ROBODINE_DEBUG_MEMORY": str(tmp_path / "mem"), "ROBODINE_DEBUG_MEMORY_S": interval}
    with caplog.at_level(logging.ERROR, logger="robodine_edge.process.memwatch"):
        assert MemoryWatch.from_env(env) is None
    assert "memory is not watched" in caplog.text
    assert not tracemalloc.is_tracing()


def test_a_snapshot_shows_what_was_allocated_between_two(tmp_path: Path) -> None:
    watch = MemoryWatch.from_env({"ROBODINE_DEBUG_MEMORY": str(tmp_path / "mem"), "ROBODINE_DEBUG_MEMORY_S": "3600"})
    assert watch is not None
    try:
        first = watch.write()
        kept = [bytearray(1000) for _ in range(2000)]  # ~2 MB held between the two
        second = watch.write()
    finally:
        watch.stop()
    assert not tracemalloc.is_tracing()
    assert first is not None and second is not None  # tracing: each write took a snapshot
    grown = tracemalloc.Snapshot.load(str(second)).compare_to(tracemalloc.Snapshot.load(str(first)), "lineno")
    top = grown[0]
    assert top.traceback[0].filename == __file__ and top.size_diff >= 2_000_000, top
    lines = [orjson.loads(line) for line in (tmp_path / "mem" / "memwatch.jsonl").read_bytes().splitlines()]
    assert [line["snapshot"] for line in lines] == [first.name, second.name]
    assert lines[1]["traced_mb"] - lines[0]["traced_mb"] >= 1.9
    assert all(line["rss_mb"] > 0 and len(line["gc_counts"]) == 3 for line in lines)
    del kept


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_the_service_writes_snapshots_when_asked(tmp_path: Path) -> None:
    data, mem = tmp_path / "data", tmp_path / "mem"
    env = service_env(data, ROBODINE_DEBUG_MEMORY=str(mem), ROBODINE_DEBUG_MEMORY_S="2")
    service = ServiceProcess(data, env).start(timeout=90)  # tracing slows start-up several times over
    try:
        snaps = eventually(lambda: sorted(mem.glob("tracemalloc-*.snap")), timeout=30, what="a snapshot")
        assert "memory is watched (a debug mode, traced" in service.log
    finally:
        assert service.stop(timeout=60) == 0
    stats = tracemalloc.Snapshot.load(str(snaps[0])).statistics("filename")
    assert any("robodine_edge" in stat.traceback[0].filename for stat in stats)

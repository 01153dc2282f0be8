"""The database's upkeep: checkpoints off the writer's path, the WAL bytes each kind of
write costs, and the nightly truncate and VACUUM (only when it pays)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.storage.writer import Writer, WriterActor
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.care.checkpoints import Checkpoints, Nightly, seconds_until
from robodine_edge.care.walindex import WalIndex
from robodine_edge.care.wear import WearMeter, kind_of
from robodine_edge.data.db import WAL_SIZE_LIMIT, database_path
from robodine_edge.data.events import record_event
from robodine_edge.data.models import DiningTable, Event, Order
from robodine_edge.data.robots import add_poses
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.pose import Pose

NOW = datetime(2026, 11, 26, 4, 0, 0)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def meter(data_dir: Path, metrics: Metrics) -> WearMeter:
    return WearMeter(database_path(data_dir), metrics)


@pytest.fixture
def store(db: SqliteDatabase, meter: WearMeter) -> Writer:
    slot: ActorSlot[WriterActor] = ActorSlot("writer")
    slot.install(WriterActor.start(db, on_units=meter.committed))
    return Writer(slot)


def wal_bytes(metrics: Metrics) -> dict[str, float]:
    return {
        sample.labels["kind"]: sample.value
        for family in metrics.db_wal_bytes.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def wal_size(data_dir: Path) -> int:
    return Path(f"{database_path(data_dir)}-wal").stat().st_size


def poses(n: int) -> list[tuple[str, Pose, datetime]]:
    return [("world", Pose(x=float(i), y=0.0), NOW) for i in range(n)]


def test_each_kind_of_write_is_counted_as_the_wal_grew(data_dir: Path, store: Writer, metrics: Metrics) -> None:
    store.write(record_event, "t", "first").get(timeout=5)  # the meter's first look
    before = wal_size(data_dir)
    for n in range(20):
        store.write(add_poses, "r1", None, poses(50)).get(timeout=5)
        store.write(record_event, "t", f"event {n}").get(timeout=5)
    counted = wal_bytes(metrics)
    assert set(counted) == {"poses", "events"}
    assert counted["poses"] > counted["events"] > 0
    assert sum(counted.values()) == wal_size(data_dir) - before  # no checkpoint ran: the WAL only grew


def test_unit_names_give_their_kind() -> None:
    assert kind_of("robodine_edge.data.robots.save_states") == "poses"
    assert kind_of("robodine_edge.data.orders.place_order") == "orders"
    assert kind_of("robodine_edge.data.tasks.set_task_state") == "orders"
    assert kind_of("robodine_edge.data.idempotency.remember") == "other"  # a party's key: an order's is placing's
    assert kind_of("robodine_edge.data.events.record_event") == "events"
    assert kind_of("robodine_edge.care.retention.purge_poses") == "purge"
    assert kind_of("tests.care.test_upkeep.<lambda>") == "other"


def test_checkpoints_run_beside_the_writer_once_the_wal_is_long_enough(
    data_dir: Path, store: Writer, metrics: Metrics
) -> None:
    job = Checkpoints(database_path(data_dir), metrics, frames=200)
    index = WalIndex(database_path(data_dir))
    try:
        store.write(add_poses, "r1", None, poses(10)).get(timeout=5)
        job.run()
        state = index.read()
        assert state is not None and state.backfilled == 0  # too short to bother
        for _ in range(40):
            store.write(add_poses, "r1", None, poses(200)).get(timeout=5)
        job.run()
        state = index.read()
        assert state is not None and state.frames >= 200 and state.backfilled == state.frames
    finally:
        job.close()
        index.close()


def test_a_checkpoint_a_reader_cut_short_is_finished_once_the_reader_is_done(
    data_dir: Path, store: Writer, metrics: Metrics
) -> None:
    """Else the WAL runs on for another `frames` before the next try, and the file keeps
    that size: each round a reader cuts short grows it."""
    index = WalIndex(database_path(data_dir))
    reader = sqlite3.connect(database_path(data_dir), isolation_level=None)
    try:
        for _ in range(10):
            store.write(add_poses, "r1", None, poses(200)).get(timeout=5)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM pose").fetchone()  # a snapshot of the WAL as it is now
        held = index.read()
        for _ in range(10):
            store.write(add_poses, "r1", None, poses(200)).get(timeout=5)
        grown = index.read()
        assert held is not None and grown is not None and 0 < held.frames < grown.frames
        # A mark the whole WAL reaches and the part after the reader's snapshot does not:
        job = Checkpoints(database_path(data_dir), metrics, frames=grown.frames - held.frames + 1)
        try:
            job.run()
            state = index.read()
            assert state is not None and state.backfilled == held.frames  # only what the reader moved past
            reader.execute("COMMIT")
            job.run()
            state = index.read()
            assert state is not None and state.backfilled == state.frames  # finished at the next look
            salt = state.salt
            store.write(add_poses, "r1", None, poses(10)).get(timeout=5)
            state = index.read()
            assert state is not None and state.salt != salt and state.frames < held.frames  # the WAL began again
            job.run()
            assert index.read() == state  # a new WAL, short: nothing to finish
        finally:
            job.close()
    finally:
        reader.close()
        index.close()


def test_a_wal_grown_past_its_limit_is_cut_back_when_it_begins_again(
    db: SqliteDatabase, data_dir: Path, store: Writer, metrics: Metrics
) -> None:
    """A long stretch without a checkpoint (a backup's snapshot held it) grows the WAL
    file; once it is copied and begins again, the file is cut back to the limit — the
    card does not keep a day's largest WAL until the nightly TRUNCATE."""

    def big_write() -> None:
        db.execute_sql("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
        db.execute_sql("INSERT INTO filler VALUES (randomblob(?))", (WAL_SIZE_LIMIT + 2 * 2**20,))

    store.write(big_write).get(timeout=10)
    assert wal_size(data_dir) > WAL_SIZE_LIMIT
    job = Checkpoints(database_path(data_dir), metrics, frames=1)
    try:
        job.run()  # everything copied: the next write begins the WAL again
    finally:
        job.close()
    store.write(record_event, "t", "after the copy").get(timeout=5)
    assert wal_size(data_dir) <= WAL_SIZE_LIMIT


def vacuum_job(store: Writer, *, clock: datetime = NOW) -> Nightly:
    return Nightly(store, 0, vacuum_min_bytes=2 * 2**20, clock=lambda: clock)


def test_the_night_truncates_the_wal_and_vacuums_when_it_pays(
    db: SqliteDatabase, store: Writer, data_dir: Path
) -> None:
    table = DiningTable.create(name="T", seats=2)
    Order.create(table=table, total_cents=1, updated_at=NOW - timedelta(hours=2))
    Event.insert_many([{"type": "t", "message": "x" * 1000} for _ in range(4000)]).execute()  # ~5 MiB
    Event.delete().execute()
    pages = db.execute_sql("PRAGMA page_count").fetchone()[0]
    assert vacuum_job(store).run() > 0  # the seconds to the next night
    assert db.execute_sql("PRAGMA page_count").fetchone()[0] < pages / 4
    assert database_path(data_dir).stat().st_size < pages * 4096 / 4
    assert wal_size(data_dir) == 0


def test_no_vacuum_while_the_store_is_busy_or_when_it_would_not_pay(db: SqliteDatabase, store: Writer) -> None:
    table = DiningTable.create(name="T", seats=2)
    Order.create(table=table, total_cents=1, updated_at=NOW - timedelta(minutes=5))
    assert "not worth it" in store.maintain(vacuum_job(store).tidy).get(timeout=10)["vacuum"]
    Event.insert_many([{"type": "t", "message": "x" * 1000} for _ in range(4000)]).execute()
    Event.delete().execute()
    assert "not quiet" in store.maintain(vacuum_job(store).tidy).get(timeout=10)["vacuum"]
    assert store.maintain(vacuum_job(store, clock=NOW + timedelta(hours=1)).tidy).get(timeout=10)["vacuum"] == "done"


def test_the_night_comes_at_four_local_time() -> None:
    local = datetime(2026, 11, 26, 3, 30).astimezone()
    assert seconds_until(4, local) == 1800
    assert seconds_until(4, local.replace(hour=4, minute=0)) == 86400
    assert seconds_until(4, local.replace(hour=23, minute=0)) == 5 * 3600

"""Retention: exactly the history past its days goes, in units of at most `batch` rows
through the writer actor, while other writes go on; orders are kept."""

from __future__ import annotations

import random
import re
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.storage.writer import Writer, WriterActor
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.care.retention import Retention, purge_events, purge_poses
from robodine_edge.clock import utcnow
from robodine_edge.config import RetentionConfig
from robodine_edge.data.db import database_path, open_database
from robodine_edge.data.migrations import migrate
from robodine_edge.data.models import DiningTable, Event, Notification, Order, Pose, User
from robodine_edge.process.metrics import Metrics
from tests.http.store_setup import make_dish, make_stock, make_table
from tests.service import ServiceProcess, service_env

NOW = datetime(2026, 11, 26, 12, 0, 0)
OLD = NOW - timedelta(days=30)
LONG_AGO = NOW - timedelta(days=120)
RECENT = NOW - timedelta(hours=1)


class Units(list[tuple[str, int]]):
    """(unit name, rows changed) of every committed unit, from the store's own report."""

    def __call__(self, units: list[tuple[str, int]]) -> None:
        self.extend(units)

    def purges(self) -> list[int]:
        return [rows for name, rows in self if name.startswith("robodine_edge.care.retention.")]


@pytest.fixture
def units() -> Units:
    return Units()


@pytest.fixture
def store(db: SqliteDatabase, units: Units) -> Writer:
    slot: ActorSlot[WriterActor] = ActorSlot("writer")
    slot.install(WriterActor.start(db, on_units=units))
    return Writer(slot)


def seed_poses(count: int, seed: int = 1, now: datetime = NOW) -> tuple[set[int], set[int]]:
    """Samples of two robots (two frames each) and of ingredients (robot_id NULL), old and
    recent mixed in id order (a clock set right after boot writes old times late)."""
    rng = random.Random(seed)
    old_at, recent_at = now - (NOW - OLD), now - (NOW - RECENT)
    groups = [("r1", "world"), ("r1", "pinky"), ("r2", "world"), (None, "global"), (None, "cookbot")]
    rows = []
    for _ in range(count):
        robot_id, frame = rng.choice(groups)
        at = (old_at if rng.random() < 0.6 else recent_at) + timedelta(seconds=rng.randrange(3600))
        rows.append({"robot_id": robot_id, "ingredient_id": None if robot_id else 7, "frame": frame, "x": 1.0,
                     "y": 2.0, "recorded_at": at})  # fmt: skip
    for start in range(0, len(rows), 1000):
        Pose.insert_many(rows[start : start + 1000]).execute()
    old = {p.id for p in Pose.select(Pose.id).where(Pose.recorded_at < now - timedelta(days=7))}
    new = {p.id for p in Pose.select(Pose.id)} - old
    return old, new


def late_old_samples(count: int) -> set[int]:
    """Old samples written after recent ones (a clock set after boot): what only the index finds."""
    rows = [{"robot_id": "r2", "frame": "world", "x": 0.0, "y": 0.0, "recorded_at": OLD} for _ in range(count)]
    Pose.insert_many(rows).execute()
    return {p.id for p in Pose.select(Pose.id).order_by(Pose.id.desc()).limit(count)}


def test_poses_older_than_their_days_go_exactly_in_small_units(db: SqliteDatabase, store: Writer, units: Units) -> None:
    old, new = seed_poses(3000)
    Pose.insert_many([{"robot_id": "r1", "frame": "world", "x": 0.0, "y": 0.0, "recorded_at": RECENT}] * 300).execute()
    new |= {p.id for p in Pose.select(Pose.id).where(Pose.id > max(old | new))}
    old |= late_old_samples(150)
    job = Retention(store, RetentionConfig(poses_days=7, events_days=0, recordings_mb=0), clock=lambda: NOW, batch=97)
    while job.run() < 1.0:  # one unit per run, until the pass is over
        pass
    assert {p.id for p in Pose.select(Pose.id)} == new
    assert sum(units.purges()) == len(old)
    assert all(rows <= 97 for rows in units.purges())
    by_kind = {name.rsplit(".", 1)[1]: 0 for name, _ in units}
    for name, rows in units:
        by_kind[name.rsplit(".", 1)[1]] += rows
    assert by_kind["purge_pose_prefix"] > 0 and by_kind["purge_poses"] == 150  # the late ones: through the index


def test_a_purge_finds_nothing_when_nothing_is_old(db: SqliteDatabase) -> None:
    Pose.create(robot_id="r1", frame="world", x=0, y=0, recorded_at=RECENT)
    assert purge_poses(NOW - timedelta(days=7), None, 1000) == (0, None)
    assert purge_events(NOW - timedelta(days=7), 1000) == (0, 0)
    assert Pose.select().count() == 1


def test_events_go_with_their_notifications_and_orders_stay(db: SqliteDatabase, store: Writer, units: Units) -> None:
    staff = [User.create(username=f"s{n}", password_hash="x", role="staff") for n in range(3)]
    table = DiningTable.create(name="T1", seats=4)
    old_order = Order.create(table=table, total_cents=900, created_at=OLD, updated_at=OLD)
    kept_events, kept_notes = set(), set()
    for n in range(400):
        at = LONG_AGO if n % 3 else RECENT
        event = Event.create(type="low_stock" if n % 2 else "order_placed", message=str(n), created_at=at)
        notes = {Notification.create(user=u, event=event, type=event.type, message="m", created_at=at).id
                 for u in staff} if n % 2 else set()  # fmt: skip
        if at == RECENT:
            kept_events.add(event.id)
            kept_notes |= notes
    job = Retention(store, RetentionConfig(poses_days=0, events_days=90, recordings_mb=0), clock=lambda: NOW, batch=50)
    while job.run() < 1.0:
        pass
    assert {e.id for e in Event.select(Event.id)} == kept_events
    assert {n.id for n in Notification.select(Notification.id)} == kept_notes
    assert [o.id for o in Order.select()] == [old_order.id]
    assert all(rows <= 50 for rows in units.purges())


def test_one_event_with_more_notifications_than_a_unit_holds(db: SqliteDatabase) -> None:
    users = [User.create(username=f"u{n}", password_hash="x", role="staff") for n in range(12)]
    event = Event.create(type="emergency", message="fire", created_at=LONG_AGO)
    for user in users:
        Notification.create(user=user, event=event, type="emergency", message="fire", created_at=LONG_AGO)
    cutoff = NOW - timedelta(days=90)
    assert purge_events(cutoff, 5) == (0, 5)
    assert purge_events(cutoff, 5) == (0, 5)
    assert purge_events(cutoff, 5) == (1, 2)
    assert Event.select().count() == 0 and Notification.select().count() == 0


def test_other_writes_keep_committing_while_a_large_purge_runs(
    db: SqliteDatabase, store: Writer, units: Units, data_dir: Path
) -> None:
    old, new = seed_poses(40_000, seed=2)
    done = threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def place_orders() -> None:
        table_id = store.write(lambda: DiningTable.create(name="T", seats=2).id).get(timeout=10)
        while not done.is_set():
            try:
                unit = store.write(lambda: Order.create(table=table_id, total_cents=100, created_at=OLD).id)
                written.append(unit.get(timeout=10))
            except BaseException as exc:
                failures.append(exc)

    writer = threading.Thread(target=place_orders)
    writer.start()
    try:
        job = Retention(
            store, RetentionConfig(poses_days=7, events_days=0, recordings_mb=0), clock=lambda: NOW,
            metrics=Metrics(),
        )  # fmt: skip
        while job.run() < 1.0:
            pass
    finally:
        done.set()
        writer.join()
    assert not failures
    assert len(written) > 10
    with sqlite3.connect(database_path(data_dir)) as conn:
        assert {row[0] for row in conn.execute("SELECT id FROM pose")} == new
        assert {row[0] for row in conn.execute('SELECT id FROM "order"')} == set(written)  # old orders are kept
    assert max(units.purges()) <= 1000 and sum(units.purges()) == len(old)


def purged(service: ServiceProcess, table: str) -> float:
    found = re.search(rf'robodine_purged_rows_total\{{table="{table}"\}} ([\d.e+]+)', service.http.get("/metrics").text)
    return float(found.group(1)) if found else 0.0


@pytest.mark.e2e
def test_the_running_service_purges_exactly_the_old_rows_while_orders_are_placed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = open_database(database_path(data_dir))
    migrate(db)
    now = utcnow()
    old, new = seed_poses(30_000, seed=3, now=now)
    Event.insert_many(
        [{"type": "t", "message": str(n), "created_at": now - timedelta(days=2 if n % 2 else 0)} for n in range(900)]
    ).execute()
    new_events = {e.id for e in Event.select(Event.id).where(Event.created_at > now - timedelta(days=1))}
    db.close()
    env = service_env(data_dir, ROBODINE_RETENTION_POSES_DAYS="7", ROBODINE_RETENTION_EVENTS_DAYS="1")
    with ServiceProcess(data_dir, env) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin)
        dish = make_dish(service, admin, {make_stock(service, admin, 100_000)["id"]: 1})
        body = {"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]}
        placed = []
        while purged(service, "pose") < len(old) or purged(service, "event") < 450:
            response = service.http.post("/api/orders", headers=admin, json=body)
            assert response.status_code == 201, response.text
            placed.append(response.json()["id"])
            assert len(placed) < 20_000, "the purge did not finish"
        with sqlite3.connect(f"file:{database_path(data_dir)}?mode=ro", uri=True) as conn:
            poses_left = {row[0] for row in conn.execute("SELECT id FROM pose")}
            events_left = {row[0] for row in conn.execute("SELECT id FROM event WHERE type = 't'")}
            orders = {row[0] for row in conn.execute('SELECT id FROM "order"')}
    assert poses_left == new and events_left == new_events
    assert set(placed) <= orders and len(placed) > 5

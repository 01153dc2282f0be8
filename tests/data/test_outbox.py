"""Every event gets a gapless `seq` and an `event_id` in its own transaction; with
federation on, an outbox entry too, as it will be published."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from peewee import SqliteDatabase
from playhouse.migrate import SqliteMigrator
from playhouse.migrate import migrate as apply

from robodine_edge.data import federation, outbox
from robodine_edge.data.db import database_path, open_database
from robodine_edge.data.events import record_event
from robodine_edge.data.migrations import current_version, migrate
from robodine_edge.data.models import DiningTable, Event, FederationOutbox, Order, SchemaVersion


@pytest.fixture
def federated(db: SqliteDatabase) -> Iterator[list[int]]:
    woken: list[int] = []
    outbox.enable("s1", lambda: woken.append(1))
    yield woken
    outbox.disable()


def test_seq_counts_from_one_and_a_rolled_back_event_gives_its_seq_back(db: SqliteDatabase) -> None:
    first = record_event("a", "one")
    with pytest.raises(RuntimeError), db.atomic():  # a unit that fails after recording (the store's savepoint)
        record_event("b", "two")
        raise RuntimeError("unit failed")
    second = record_event("c", "three")
    rows = list(Event.select().order_by(Event.id))
    assert [row.seq for row in rows] == [1, 2]
    assert [row.id for row in rows] == [first.event["id"], second.event["id"]]
    assert all(uuid.UUID(row.event_id).version == 4 for row in rows)
    assert len({row.event_id for row in rows}) == 2


def test_with_federation_off_nothing_is_written_to_the_outbox(db: SqliteDatabase) -> None:
    record_event("order_placed", "placed", entity_type="order", entity_id=1)
    assert not outbox.enabled()
    assert FederationOutbox.select().count() == 0


def test_with_federation_on_an_entry_is_written_as_it_will_be_published(
    db: SqliteDatabase, federated: list[int]
) -> None:
    table = DiningTable.create(name="T1", seats=2)
    order = Order.create(table=table, status="placed", total_cents=950)
    recorded = record_event("order_placed", "placed", entity_type="order", entity_id=order.id)
    record_event("robot_online", "r1 online", entity_type="robot", entity_id="r1")
    entries = list(FederationOutbox.select().order_by(FederationOutbox.seq))
    assert [(e.seq, e.type) for e in entries] == [(1, "order_placed"), (2, "robot_online")]
    body = orjson.loads(entries[0].body)
    stored = Event.get_by_id(recorded.event["id"])
    assert body == {
        "event_id": stored.event_id,
        "seq": 1,
        "store": "s1",
        "type": "order_placed",
        "occurred_at": recorded.event["created_at"],
        "data": {**recorded.event, "order": body["data"]["order"]},
    }
    assert body["data"]["order"]["id"] == order.id and body["data"]["order"]["total"] == 9.5
    assert "order" not in orjson.loads(entries[1].body)["data"]
    outbox.committed()
    outbox.committed()
    assert federated == [1]  # woken once per commit that wrote entries


def test_pending_reads_entries_and_makes_bodies_for_events_from_before(db: SqliteDatabase) -> None:
    record_event("robot_online", "before federation", entity_type="robot", entity_id="r1")
    outbox.enable("s1", lambda: None)
    try:
        record_event("robot_offline", "after", entity_type="robot", entity_id="r1")
    finally:
        outbox.disable()
    FederationOutbox.update(body=b'{"kept": true}').where(FederationOutbox.seq == 2).execute()
    rows = federation.pending(0, None, 10, "s1")
    assert [(r.seq, r.type) for r in rows] == [(1, "robot_online"), (2, "robot_offline")]
    made = orjson.loads(rows[0].body)
    assert made["seq"] == 1 and made["store"] == "s1" and made["data"]["message"] == "before federation"
    assert rows[1].body == b'{"kept": true}'  # the entry, not a new body
    assert federation.pending(1, None, 10, "s1") == [federation.Pending(2, "robot_offline", b'{"kept": true}')]
    assert [r.seq for r in federation.pending(1, 1, 10, "s1")] == []
    assert [r.seq for r in federation.pending(0, 1, 10, "s1")] == [1]
    assert federation.head_seq() == 2


def test_forget_deletes_what_the_ack_covers_a_batch_at_a_time(db: SqliteDatabase, federated: list[int]) -> None:
    for n in range(7):
        record_event("note", f"n{n}")
    assert federation.forget(5, batch=3) == 3
    assert federation.forget(5, batch=3) == 2
    assert federation.forget(5, batch=3) == 0
    assert [e.seq for e in FederationOutbox.select().order_by(FederationOutbox.seq)] == [6, 7]
    assert federation.load_memory().acked == 5


def test_migration_3_numbers_existing_events_in_commit_order(data_dir: Path) -> None:
    db = open_database(database_path(data_dir))
    migrate(db)
    db.execute_sql('DROP INDEX "event_seq"')  # the table as version 2 made it
    apply(SqliteMigrator(db).drop_column("event", "seq"), SqliteMigrator(db).drop_column("event", "event_id"))
    db.drop_tables([FederationOutbox])
    SchemaVersion.delete().where(SchemaVersion.version > 2).execute()
    for n in range(3):
        db.execute_sql(
            'INSERT INTO "event" (type, level, message, created_at) VALUES (?, ?, ?, ?)',
            ("note", "info", f"old {n}", "2026-01-01 00:00:00"),
        )
    db.execute_sql('DELETE FROM "event" WHERE message = ?', ("old 1",))  # a gap in the ids
    assert migrate(db) == 2 and current_version(db) >= 3
    rows = list(Event.select().order_by(Event.id))
    assert [(row.message, row.seq) for row in rows] == [("old 0", 1), ("old 2", 2)]
    assert all(uuid.UUID(row.event_id) for row in rows)
    assert record_event("note", "new").event["id"] and Event.select().order_by(Event.id.desc()).first().seq == 3
    db.close()

"""The indexes: each one costs a page of every commit that touches it (docs/BENCH.md,
"Writes to the card"), so the schema keeps those a query or a foreign key needs, and an
old database ends up with the same ones as a fresh database."""

from __future__ import annotations

from datetime import datetime

from peewee import ForeignKeyField, SqliteDatabase

from robodine_edge.data.migrations import migrate
from robodine_edge.data.models import ALL_MODELS, DiningTable, Order, SchemaVersion, Task
from robodine_edge.data.orders import load_active_orders

NOT_LOOKED_UP = {(Order._meta.table_name, "party_id")}
"""Foreign keys whose parent row is never deleted (a party's row stays when it leaves), so
SQLite never looks their rows up by them."""

VERSION_4_INDEXES = {
    "order_party_id": 'CREATE INDEX "order_party_id" ON "order" ("party_id")',
    "task_kind": 'CREATE INDEX "task_kind" ON "task" ("kind")',
    "task_table_id": 'CREATE INDEX "task_table_id" ON "task" ("table_id")',
    "task_robot_id": 'CREATE INDEX "task_robot_id" ON "task" ("robot_id")',
    "robot_command_status": 'CREATE INDEX "robot_command_status" ON "robot_command" ("status")',
    "robot_command_created_by_id": 'CREATE INDEX "robot_command_created_by_id" ON "robot_command" ("created_by_id")',
    "order_status": 'CREATE INDEX "order_status" ON "order" ("status")',
    "task_state": 'CREATE INDEX "task_state" ON "task" ("state")',
    "event_type": 'CREATE INDEX "event_type" ON "event" ("type")',
    "event_level": 'CREATE INDEX "event_level" ON "event" ("level")',
    "idempotency_record_created_at": (
        'CREATE INDEX "idempotency_record_created_at" ON "idempotency_record" ("created_at")'
    ),
}
"""What version 4 had that later versions changed, as version 4 made it."""
ADDED_SINCE_4 = {"order_active", "order_cancelled", "task_open", "task_ended_badly"}


def indexes(db: SqliteDatabase) -> dict[str, str]:
    rows = db.execute_sql("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL").fetchall()
    return dict(rows)


def plan(db: SqliteDatabase, sql: str, params: tuple[object, ...] = ()) -> str:
    return " / ".join(row[3] for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())


def test_every_foreign_key_finds_its_rows_by_an_index(db: SqliteDatabase) -> None:
    """Deleting a row makes SQLite look up the rows that point at it (to refuse, cascade
    or set NULL): without an index that is a scan of the whole table, on the writer's
    thread, every order ever placed included. An index on the rows where the key is set
    serves as well (`column = ?` implies it is set)."""
    for model in ALL_MODELS:
        for field in model._meta.sorted_fields:
            if not isinstance(field, ForeignKeyField):
                continue
            table, column = model._meta.table_name, field.column_name
            if (table, column) in NOT_LOOKED_UP:
                continue
            found = plan(db, f'SELECT 1 FROM "{table}" WHERE "{column}" = ?', (1,))
            assert "USING COVERING INDEX" in found or "USING INDEX" in found, (table, column, found)


def test_a_version_4_database_gets_the_indexes_a_fresh_one_has(db: SqliteDatabase) -> None:
    fresh = indexes(db)
    for name in ADDED_SINCE_4:
        db.execute_sql(f'DROP INDEX "{name}"')
    for name, sql in VERSION_4_INDEXES.items():
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
        db.execute_sql(sql)
    SchemaVersion.delete().where(SchemaVersion.version > 4).execute()
    assert migrate(db) == 4
    assert indexes(db) == fresh


def test_rows_from_before_version_7_agree_with_the_open_and_ended_indexes(db: SqliteDatabase) -> None:
    """An ended order or task without its end's stamp would sit among the active ones in
    the index; an active one with such a stamp would be missing from it, and so from
    start-up. Whatever older software left, the migration makes them agree."""
    table = DiningTable.create(name="T", seats=2)
    at = datetime(2026, 1, 2, 3, 4, 5)
    served = Order.create(table=table, status="served", total_cents=1, updated_at=at)
    cancelled = Order.create(table=table, status="cancelled", total_cents=1, updated_at=at)
    cooking = Order.create(table=table, status="cooking", total_cents=1, served_at=at)
    done = Task.create(kind="cook", state="done", updated_at=at)
    running = Task.create(kind="cook", state="running", finished_at=at)
    SchemaVersion.delete().where(SchemaVersion.version > 6).execute()
    assert migrate(db) == 6
    assert Order.get_by_id(served.id).served_at == at and Order.get_by_id(cancelled.id).cancelled_at == at
    assert Order.get_by_id(cooking.id).served_at is None
    assert Task.get_by_id(done.id).finished_at == at and Task.get_by_id(running.id).finished_at is None
    assert [order.id for order in load_active_orders()] == [cooking.id]

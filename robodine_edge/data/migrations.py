"""Schema versions: a fresh database gets the current schema, an old one its migrations.

Each migration is a numbered step applied in its own transaction (SQLite DDL is
transactional) and recorded in `schema_version`. Later steps use
`playhouse.migrate.SqliteMigrator` to alter tables in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

from peewee import CharField, IntegerField, SqliteDatabase
from playhouse.migrate import SqliteMigrator
from playhouse.migrate import migrate as migrate_schema

from robodine_edge.data.models import ALL_MODELS, FederationOutbox, FederationState, SchemaVersion
from robodine_edge.errors import BackupError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[SqliteDatabase, SqliteMigrator], None]


def _initial_schema(db: SqliteDatabase, _migrator: SqliteMigrator) -> None:
    db.create_tables(ALL_MODELS)


def _menu_position(db: SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Dishes get a menu position; existing ones keep the order they were added in.
    Plain table names and SQL: a step must do the same whatever the models become."""
    migrate_schema(migrator.add_column("menu_item", "position", IntegerField(default=0)))
    db.execute_sql('UPDATE "menu_item" SET "position" = "id"')


def _orders_by_placing_time(db: SqliteDatabase, _migrator: SqliteMigrator) -> None:
    """`order.created_at` is indexed (a day's orders for the dashboard's figures); the
    same index a fresh database gets from the model, so both end up alike."""
    db.execute_sql('CREATE INDEX IF NOT EXISTS "order_created_at" ON "order" ("created_at")')


def _event_seq(db: SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Events get `seq` (1, 2, ... in commit order, which is id order: one writer) and an
    `event_id`; the federation tables are created. A store that turns federation on
    later publishes its whole log from seq 1."""
    columns = {column.name for column in db.get_columns("event")}
    if "seq" not in columns:
        migrate_schema(
            migrator.add_column("event", "seq", IntegerField(null=True)),
            migrator.add_column("event", "event_id", CharField(null=True)),
        )
    db.execute_sql(
        'UPDATE "event" SET "seq" = (SELECT n FROM (SELECT "id", ROW_NUMBER() OVER (ORDER BY "id") AS n FROM "event")'
        ' AS numbered WHERE numbered."id" = "event"."id")'
    )
    ids = [row[0] for row in db.execute_sql('SELECT "id" FROM "event" WHERE "event_id" IS NULL')]
    db.cursor().executemany('UPDATE "event" SET "event_id" = ? WHERE "id" = ?', [(str(uuid4()), i) for i in ids])
    db.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS "event_seq" ON "event" ("seq")')
    db.create_tables([FederationOutbox, FederationState])


def _leaner_indexes(db: SqliteDatabase, _migrator: SqliteMigrator) -> None:
    """Indexes an order's writes paid for and no query needs: every commit writes each page
    it changed, and an insert or update writes a page of each index it touches. Gone: an
    order's party (no query; parties are never deleted), a task's kind (no query), a
    command's status (no query; three or four changes per command) and an idempotency
    record's time (the hourly prune reads the 48 hours kept). A task's table and robot and
    a command's sender are indexed only where set (deleting a table, robot or user still
    finds the rows by them; a serve task has no table, a new task no robot, the
    dispatcher's commands no sender)."""
    for name in ("order_party_id", "task_kind", "robot_command_status", "idempotency_record_created_at"):
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    for table, column in (("task", "table_id"), ("task", "robot_id"), ("robot_command", "created_by_id")):
        db.execute_sql(f'DROP INDEX IF EXISTS "{table}_{column}"')
        db.execute_sql(f'CREATE INDEX "{table}_{column}" ON "{table}" ("{column}") WHERE "{column}" IS NOT NULL')


def _event_indexes_without_orders(db: SqliteDatabase, _migrator: SqliteMigrator) -> None:
    """An event's type and level are indexed except for an order's own events and `info`:
    five events an order, and most of the log, which then write no page of either index
    (models.Event says how the queries still use them)."""
    db.execute_sql('DROP INDEX IF EXISTS "event_type"')
    db.execute_sql('DROP INDEX IF EXISTS "event_level"')
    db.execute_sql(
        'CREATE INDEX "event_type" ON "event" ("type") WHERE "type" NOT IN (\'order_placed\', \'order_status\')'
    )
    db.execute_sql('CREATE INDEX "event_level" ON "event" ("level") WHERE "level" != \'info\'')


def _open_and_ended_indexes(db: SqliteDatabase, _migrator: SqliteMigrator) -> None:
    """An order's status and a task's state change at every step, and each change wrote a
    page of their index: the indexes now hold the active orders and the open tasks, by
    the stamps only the end sets (`served_at`, `cancelled_at`; `finished_at`), and the
    cancelled orders and the failed or cancelled tasks, by a status no other step sets.
    Rows written before are made to agree with that: an ended row without its stamp
    gets its last change's time, an open one keeps none."""
    active = "'placed', 'cooking', 'ready', 'serving'"
    db.execute_sql(
        f'UPDATE "order" SET "served_at" = NULL, "cancelled_at" = NULL WHERE "status" IN ({active}) '
        'AND ("served_at" IS NOT NULL OR "cancelled_at" IS NOT NULL)'
    )
    db.execute_sql('UPDATE "order" SET "served_at" = "updated_at" WHERE "status" = \'served\' AND "served_at" IS NULL')
    db.execute_sql(
        'UPDATE "order" SET "cancelled_at" = "updated_at" WHERE "status" = \'cancelled\' AND "cancelled_at" IS NULL'
    )
    opened = "'queued', 'assigned', 'running'"
    db.execute_sql(f'UPDATE "task" SET "finished_at" = NULL WHERE "state" IN ({opened}) AND "finished_at" IS NOT NULL')
    db.execute_sql(
        f'UPDATE "task" SET "finished_at" = "updated_at" WHERE "state" NOT IN ({opened}) AND "finished_at" IS NULL'
    )
    db.execute_sql('DROP INDEX IF EXISTS "order_status"')
    db.execute_sql('DROP INDEX IF EXISTS "task_state"')
    db.execute_sql(
        'CREATE INDEX IF NOT EXISTS "order_active" ON "order" ("id") '
        'WHERE "served_at" IS NULL AND "cancelled_at" IS NULL'
    )
    db.execute_sql('CREATE INDEX IF NOT EXISTS "order_cancelled" ON "order" ("id") WHERE "status" = \'cancelled\'')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "task_open" ON "task" ("id") WHERE "finished_at" IS NULL')
    db.execute_sql(
        'CREATE INDEX IF NOT EXISTS "task_ended_badly" ON "task" ("id") WHERE "state" IN (\'failed\', \'cancelled\')'
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial_schema),
    Migration(2, "menu item position", _menu_position),
    Migration(3, "orders by placing time", _orders_by_placing_time),
    Migration(4, "event seq and federation outbox", _event_seq),
    Migration(5, "leaner indexes for an order's writes", _leaner_indexes),
    Migration(6, "event indexes without an order's own events", _event_indexes_without_orders),
    Migration(7, "active orders and open tasks indexed by their end", _open_and_ended_indexes),
)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(db: SqliteDatabase) -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select(SchemaVersion.version).order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate(db: SqliteDatabase, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the schema to the last of `migrations`; returns the version found before.

    Runs on the main thread at start-up, before any actor touches the database.
    """
    latest = migrations[-1].version
    found = current_version(db)
    if found > latest:
        raise BackupError(f"database schema version {found} is newer than this software ({latest})")
    if found == 0:
        with db.atomic():
            db.create_tables(ALL_MODELS)
            SchemaVersion.insert_many([{"version": m.version, "name": m.name} for m in migrations]).execute()
        log.info("created database schema version %d", latest)
        return 0
    migrator = SqliteMigrator(db)
    for step in migrations:
        if step.version > found:
            with db.atomic():
                step.apply(db, migrator)
                SchemaVersion.create(version=step.version, name=step.name)
            log.info("migrated database to schema version %d (%s)", step.version, step.name)
    return found

"""Schema versions: fresh databases, upgrades, and databases from the future."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from peewee import SqliteDatabase
from playhouse.migrate import SqliteMigrator
from playhouse.migrate import migrate as apply

from robodine_edge.data.db import PAGE_SIZE, open_database
from robodine_edge.data.migrations import LATEST_VERSION, MIGRATIONS, Migration, current_version, migrate
from robodine_edge.data.models import ALL_MODELS, MenuItem, SchemaVersion, Setting, User
from robodine_edge.errors import BackupError


def test_fresh_database_gets_the_whole_schema_at_the_latest_version(db: SqliteDatabase) -> None:
    assert current_version(db) == LATEST_VERSION
    for model in ALL_MODELS:
        assert db.table_exists(model._meta.table_name), model.__name__
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute_sql("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 1024


def test_a_database_made_with_sqlites_default_pages_keeps_them_and_works(tmp_path: Path) -> None:
    """A store's file from before 1 KiB pages: SQLite cannot change the size in WAL mode,
    and the service must neither fail on it nor half-convert it."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode=wal")
    old.execute("CREATE TABLE kept (x)")  # made: the page size is fixed from here
    old.close()
    db = open_database(path)
    try:
        migrate(db)
        assert current_version(db) == LATEST_VERSION
        assert db.execute_sql("PRAGMA page_size").fetchone()[0] == 4096
        Setting.create(key="store_name", value="Old")
        assert Setting.get_by_id("store_name").value == "Old"
    finally:
        db.close()


def test_migrating_twice_changes_nothing(db: SqliteDatabase) -> None:
    assert migrate(db) == LATEST_VERSION
    assert SchemaVersion.select().count() == len(MIGRATIONS)


def test_an_old_database_gets_the_missing_steps(db: SqliteDatabase) -> None:
    from peewee import CharField

    def add_column(database: SqliteDatabase, migrator: SqliteMigrator) -> None:
        apply(migrator.add_column("setting", "note", CharField(null=True)))

    steps = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "setting note", add_column))
    Setting.create(key="store_name", value="Kept")
    assert migrate(db, steps) == LATEST_VERSION
    assert current_version(db) == LATEST_VERSION + 1
    assert [c.name for c in db.get_columns("setting")][-1] == "note"
    assert Setting.get_by_id("store_name").value == "Kept"


def test_a_version_1_menu_gets_positions_in_the_order_its_dishes_were_added(db: SqliteDatabase) -> None:
    """Migration 2: a menu from before positions keeps its order (position = id)."""
    apply(SqliteMigrator(db).drop_column("menu_item", "position"))  # the table as version 1 made it
    SchemaVersion.delete().where(SchemaVersion.version > 1).execute()
    now = "2026-01-01 00:00:00"
    for name in ("Soup", "Rice", "Tea"):
        db.execute_sql(
            'INSERT INTO "menu_item" (name, price_cents, prepare_time_s, category, available, created_at, updated_at)'
            " VALUES (?, 100, 60, 'main', 1, ?, ?)",
            (name, now, now),
        )
    assert migrate(db) == 1
    assert current_version(db) == LATEST_VERSION
    assert [(m.name, m.position) for m in MenuItem.select().order_by(MenuItem.id)] == [
        ("Soup", 1),
        ("Rice", 2),
        ("Tea", 3),
    ]


def test_a_database_from_newer_software_is_refused(db: SqliteDatabase) -> None:
    SchemaVersion.create(version=LATEST_VERSION + 5, name="future")
    with pytest.raises(BackupError, match="newer"):
        migrate(db)


def test_a_failed_step_leaves_the_version_unchanged(db: SqliteDatabase) -> None:
    def broken(database: SqliteDatabase, migrator: SqliteMigrator) -> None:
        database.execute_sql("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("step failed")

    with pytest.raises(RuntimeError):
        migrate(db, (*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", broken)))
    assert current_version(db) == LATEST_VERSION
    assert not db.table_exists("half_done")
    assert User.select().count() == 0


def test_a_version_1_database_gets_the_order_placing_time_index(db: SqliteDatabase) -> None:
    db.execute_sql('DROP INDEX "order_created_at"')  # the tables as version 1 created them
    apply(SqliteMigrator(db).drop_column("menu_item", "position"))
    SchemaVersion.delete().where(SchemaVersion.version > 1).execute()
    assert migrate(db) == 1
    assert "order_created_at" in {index.name for index in db.get_indexes("order")}
    assert current_version(db) == LATEST_VERSION

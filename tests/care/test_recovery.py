"""A damaged database never keeps the store closed: zeroed pages, a truncated file,
random bytes and a WAL from another database are each moved to `corrupt/`, the newest
good backup (or nothing) takes their place, and the error event, the notification and
the log say so."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from robodine_edge.auth import accounts
from robodine_edge.care import identity
from robodine_edge.care.recovery import damage, recover
from robodine_edge.care.snapshot import backup
from robodine_edge.data.db import database_path, open_database
from robodine_edge.data.migrations import migrate
from robodine_edge.data.models import DiningTable
from tests.service import ADMIN_PASSWORD, ServiceProcess, service_env

PAGE = 4096


def make_store(data_dir: Path, tables: int = 40) -> None:
    """A robodine-edge database as the service leaves it: migrated, stamped, with rows
    on many pages, closed (its WAL folded in)."""
    db = open_database(database_path(data_dir))
    migrate(db)
    identity.stamp(db)
    accounts.ensure_admin(data_dir, ADMIN_PASSWORD)
    with db.atomic():
        for n in range(tables):
            DiningTable.create(name=f"table {n:03d} " + "x" * 200, seats=4)
    db.close()


def zero_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[PAGE * 3 : PAGE * 6] = bytes(PAGE * 3)
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def foreign_wal(path: Path) -> None:
    """Another robodine-edge database's WAL, taken while it was running (never checkpointed)."""
    other_dir = path.parent.parent / f"other-{path.parent.name}"
    other_dir.mkdir()
    other = open_database(database_path(other_dir))
    other.execute_sql("PRAGMA wal_autocheckpoint = 0")
    migrate(other)
    identity.stamp(other)
    DiningTable.create(name="the other store's table", seats=2)
    shutil.copyfile(f"{database_path(other_dir)}-wal", f"{path}-wal")
    other.close()


DAMAGES: dict[str, Callable[[Path], None]] = {
    "zeroed pages": zero_pages,
    "truncated": truncate,
    "random bytes": random_bytes,
    "WAL of another database": foreign_wal,
}


@pytest.mark.parametrize("kind", DAMAGES)
def test_every_kind_of_damage_is_seen_without_changing_its_files(data_dir: Path, kind: str) -> None:
    make_store(data_dir)
    path = database_path(data_dir)
    assert damage(path) is None
    DAMAGES[kind](path)
    before = {p.name: p.read_bytes() for p in data_dir.glob("robodine.sqlite3*") if not p.name.endswith("-shm")}
    assert damage(path) is not None
    assert {p.name: p.read_bytes() for p in data_dir.glob("robodine.sqlite3*") if p.name in before} == before


def test_no_database_and_an_empty_file_are_new_databases(data_dir: Path) -> None:
    path = database_path(data_dir)
    assert damage(path) is None
    path.write_bytes(b"")
    assert damage(path) is None and recover(data_dir) is None


def test_a_database_of_another_program_is_not_ours(data_dir: Path) -> None:
    with sqlite3.connect(database_path(data_dir)) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    assert damage(database_path(data_dir)) == "not a robodine-edge database"


def test_the_newest_good_backup_is_restored_and_damaged_ones_skipped(data_dir: Path) -> None:
    make_store(data_dir, tables=3)
    folder = data_dir / "backups"
    backup(data_dir, folder / "robodine-20261101T030000Z.sqlite3")
    backup(data_dir, folder / "robodine-20261102T030000Z.sqlite3")
    (folder / "robodine-20261103T030000Z.sqlite3").write_bytes(b"half a backup")  # newest, but no good
    (folder / "before-restore-20261104T030000.sqlite3").write_bytes(b"not a scheduled one")
    truncate(database_path(data_dir))
    damaged = database_path(data_dir).read_bytes()
    recovered = recover(data_dir)
    assert recovered is not None and recovered.backup == folder / "robodine-20261102T030000Z.sqlite3"
    assert recovered.moved_to.parent == data_dir / "corrupt" and recovered.moved_to.read_bytes() == damaged
    assert "backups/robodine-20261102T030000Z.sqlite3" in recovered.message()
    assert damage(database_path(data_dir)) is None
    assert oct(database_path(data_dir).stat().st_mode & 0o777) == "0o600"
    assert (folder / "robodine-20261102T030000Z.sqlite3").exists()  # a backup stays a backup


def events_and_notes(service: ServiceProcess) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    admin = service.auth(service.token())
    events = service.http.get("/api/events", headers=admin, params={"type": "database_recovered"}).json()
    notes = [
        n for n in service.http.get("/api/notifications", headers=admin).json() if n["type"] == "database_recovered"
    ]
    return events, notes


@pytest.mark.e2e
@pytest.mark.parametrize("kind", DAMAGES)
def test_the_service_starts_on_the_newest_good_backup(tmp_path: Path, kind: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    make_store(data_dir, tables=40)
    backup(data_dir, data_dir / "backups" / "robodine-20261126T030000Z.sqlite3")
    DAMAGES[kind](database_path(data_dir))
    damaged = database_path(data_dir).read_bytes()
    with ServiceProcess(data_dir, service_env(data_dir)) as service:
        events, notes = events_and_notes(service)
        tables = service.http.get("/api/tables", headers=service.auth(service.token())).json()
    assert [e["level"] for e in events] == ["error"]
    assert "backups/robodine-20261126T030000Z.sqlite3" in str(events[0]["message"])
    assert len(notes) == 1 and notes[0]["message"] == events[0]["message"]
    assert len(tables) == 40  # the backup's store, not a fresh one
    moved = sorted((data_dir / "corrupt").iterdir())
    assert moved[0].name.startswith("robodine-") and moved[0].read_bytes() == damaged
    assert any("level=error" in line and "damaged" in line for line in service.lines)
    assert any("level=error" in line and "robodine-20261126T030000Z.sqlite3" in line for line in service.lines)


@pytest.mark.e2e
def test_without_a_backup_the_service_starts_fresh_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    make_store(data_dir)
    (data_dir / "initial-admin-password").write_text("the old database's admin\n")
    random_bytes(database_path(data_dir))
    env = service_env(data_dir)
    del env["ROBODINE_ADMIN_PASSWORD"]
    with ServiceProcess(data_dir, env) as service:
        password = (data_dir / "initial-admin-password").read_text().strip()
        admin = service.auth(service.token("admin", password))
        events = service.http.get("/api/events", headers=admin, params={"type": "database_recovered"}).json()
        notes = service.http.get("/api/notifications", headers=admin).json()
        tables = service.http.get("/api/tables", headers=admin).json()
    assert password != "the old database's admin"
    assert len(events) == 1 and "Backup used: none" in events[0]["message"]
    assert [n["type"] for n in notes] == ["database_recovered"]
    assert tables == []
    kept = {p.name for p in (data_dir / "corrupt").iterdir()}
    assert any(name.endswith(".initial-admin-password") for name in kept)


@pytest.mark.e2e
def test_a_healthy_database_is_left_alone(tmp_path: Path, db: SqliteDatabase) -> None:
    data_dir = tmp_path / "healthy"
    data_dir.mkdir()
    make_store(data_dir)
    with ServiceProcess(data_dir, service_env(data_dir)) as service:
        events, _ = events_and_notes(service)
    assert events == [] and not (data_dir / "corrupt").exists()

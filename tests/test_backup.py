"""Online backup and guarded restore of the SQLite database."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from robodine_edge.care.snapshot import backup, backup_target, restore
from robodine_edge.data.datadir import DataDirLock
from robodine_edge.data.db import database_path
from robodine_edge.data.models import Event
from robodine_edge.errors import BackupError, DataDirBusy


def count_events(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM event").fetchone()[0]


def test_backup_is_a_consistent_single_file_while_writes_continue(
    db: SqliteDatabase, data_dir: Path, tmp_path: Path
) -> None:
    Event.insert_many([{"type": "t", "message": str(i)} for i in range(500)]).execute()
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            with db.atomic():
                Event.create(type="t", message="more")
        db.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        size = backup(data_dir, tmp_path / "out" / "copy.sqlite3")
    finally:
        stop.set()
        writer.join()
    copy = tmp_path / "out" / "copy.sqlite3"
    assert size == copy.stat().st_size
    assert count_events(copy) >= 500
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not list((tmp_path / "out").glob(".*partial"))


def test_backup_without_a_database_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        backup(tmp_path, tmp_path / "x.sqlite3")


def test_a_folder_gets_a_backup_named_by_its_utc_time(data_dir: Path, tmp_path: Path) -> None:
    existing = tmp_path / "usb"
    existing.mkdir()
    named = backup_target(data_dir, existing)
    assert named.parent == existing and re.fullmatch(r"robodine-\d{8}T\d{6}Z\.sqlite3", named.name)
    assert backup_target(data_dir, f"{tmp_path}/new/").parent == tmp_path / "new"  # ends in /: a folder to make
    assert backup_target(data_dir, tmp_path / "plain.sqlite3") == tmp_path / "plain.sqlite3"


def test_an_existing_file_is_replaced_only_when_forced(db: SqliteDatabase, data_dir: Path, tmp_path: Path) -> None:
    kept = tmp_path / "keep.sqlite3"
    kept.write_bytes(b"the copy of last week")
    with pytest.raises(BackupError, match=r"keep.sqlite3 already exists; .* add --force to replace it"):
        backup_target(data_dir, kept)
    assert kept.read_bytes() == b"the copy of last week"
    backup(data_dir, backup_target(data_dir, kept, force=True))
    assert count_events(kept) == 0


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_the_live_database_is_never_a_backup_target(db: SqliteDatabase, data_dir: Path, suffix: str) -> None:
    with pytest.raises(BackupError, match="is the live database"):
        backup_target(data_dir, f"{database_path(data_dir)}{suffix}", force=True)


def test_restore_replaces_the_database_and_keeps_the_old_one(
    db: SqliteDatabase, data_dir: Path, tmp_path: Path
) -> None:
    Event.create(type="t", message="before backup")
    backup(data_dir, tmp_path / "b.sqlite3")
    Event.create(type="t", message="after backup")
    db.close()
    kept = restore(data_dir, tmp_path / "b.sqlite3")
    assert count_events(database_path(data_dir)) == 1
    assert kept is not None and count_events(kept) == 2


def test_restore_is_refused_while_the_data_dir_is_in_use(db: SqliteDatabase, data_dir: Path, tmp_path: Path) -> None:
    backup(data_dir, tmp_path / "b.sqlite3")
    with DataDirLock(data_dir), pytest.raises(DataDirBusy, match="in use by a running robodine-edge: stop the service"):
        restore(data_dir, tmp_path / "b.sqlite3")


@pytest.mark.parametrize("content", [b"", b"not a database at all", b"SQLite format 3\x00" + b"\x00" * 200])
def test_restore_refuses_files_that_are_not_robodine_databases(data_dir: Path, tmp_path: Path, content: bytes) -> None:
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_bytes(content)
    with pytest.raises(BackupError):
        restore(data_dir, bogus)
    assert not database_path(data_dir).exists()


def test_restore_refuses_a_foreign_sqlite_database(data_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    with pytest.raises(BackupError, match="not a robodine-edge database"):
        restore(data_dir, other)


def test_restore_of_a_missing_file(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no such file"):
        restore(data_dir, tmp_path / "absent.sqlite3")

"""Scheduled backups: named by their UTC time, pruned to `keep` of that name, nothing
else in the folder touched, each a whole database; a stop abandons a copy cleanly."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.writer import Writer, WriterActor
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.care.backups import FIRST_DELAY_S, ScheduledBackup, prune, scheduled_backups
from robodine_edge.care.snapshot import backup, check_database
from robodine_edge.config import BackupConfig
from robodine_edge.data.models import Event
from robodine_edge.process.metrics import Metrics
from tests.service import ServiceProcess, service_env
from tests.waiting import eventually

NOW = datetime(2026, 11, 26, 9, 30, 0)
NAME = re.compile(r"robodine-\d{8}T\d{6}Z\.sqlite3")
OTHERS = {
    "notes.txt": b"the manager's notes",
    "before-restore-20261101T030000.sqlite3": b"kept by restore",
    "robodine-latest.sqlite3": b"not the name's time",
    "robodine-20200101T000000Z.sqlite3.bak": b"someone's copy",
}


@pytest.fixture
def store(db: SqliteDatabase) -> Writer:
    slot: ActorSlot[WriterActor] = ActorSlot("writer")
    slot.install(WriterActor.start(db))
    return Writer(slot)


def job(data_dir: Path, store: Writer, *, keep: int = 7, interval: int = 86400, min_free: int = 0,
        stopping: threading.Event | None = None, clock: datetime = NOW) -> ScheduledBackup:  # fmt: skip
    return ScheduledBackup(
        data_dir, BackupConfig(interval_s=interval, keep=keep), min_free, stopping or threading.Event(),
        Journal(store, lambda *_: None).record, Metrics(), clock=lambda: clock,
    )  # fmt: skip


@pytest.mark.e2e
def test_backups_on_a_short_interval_are_named_pruned_and_whole(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    folder = data_dir / "backups"
    folder.mkdir(parents=True)
    for name, content in OTHERS.items():
        (folder / name).write_bytes(content)
    env = service_env(data_dir, ROBODINE_BACKUP_INTERVAL_S="1", ROBODINE_BACKUP_KEEP="3")
    with ServiceProcess(data_dir, env) as service:
        eventually(lambda: service.log.count("backup written") >= 5, timeout=20, what="five backups")
        ours = eventually(lambda: len(scheduled_backups(folder)) == 3 and scheduled_backups(folder), what="pruned")
    assert {p.name for p in folder.iterdir()} == {*OTHERS, *(p.name for p in ours)}
    for name, content in OTHERS.items():
        assert (folder / name).read_bytes() == content
    for path in ours:
        assert NAME.fullmatch(path.name)
        check_database(path)  # quick_check, and a robodine-edge schema
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not list(folder.glob(".*partial"))


def test_prune_keeps_the_newest_of_the_name_only(tmp_path: Path) -> None:
    for name, content in OTHERS.items():
        (tmp_path / name).write_bytes(content)
    stamps = ["20261120T030000Z", "20261121T030000Z", "20261119T030000Z", "20261122T030000Z"]
    for stamp in stamps:
        (tmp_path / f"robodine-{stamp}.sqlite3").write_bytes(b"x")
    removed = prune(tmp_path, 2)
    assert sorted(p.name for p in removed) == ["robodine-20261119T030000Z.sqlite3", "robodine-20261120T030000Z.sqlite3"]
    assert [p.name for p in scheduled_backups(tmp_path)] == [
        "robodine-20261122T030000Z.sqlite3", "robodine-20261121T030000Z.sqlite3",
    ]  # fmt: skip
    assert {p.name for p in tmp_path.iterdir()} == {*OTHERS, *(p.name for p in scheduled_backups(tmp_path))}


def test_a_restart_keeps_the_schedule(data_dir: Path, store: Writer) -> None:
    assert job(data_dir, store).first_delay() == FIRST_DELAY_S  # none yet: soon after start
    folder = data_dir / "backups"
    folder.mkdir()
    (folder / f"robodine-{NOW - timedelta(hours=20):%Y%m%dT%H%M%SZ}.sqlite3").write_bytes(b"x")
    assert job(data_dir, store).first_delay() == pytest.approx(4 * 3600)
    (folder / f"robodine-{NOW + timedelta(days=3):%Y%m%dT%H%M%SZ}.sqlite3").write_bytes(b"x")  # clock went back
    assert job(data_dir, store).first_delay() == 86400
    assert job(data_dir, store, interval=1).first_delay() == 1


def test_a_stop_abandons_the_copy_and_leaves_nothing_behind(data_dir: Path, store: Writer) -> None:
    stopping = threading.Event()
    stopping.set()
    assert job(data_dir, store, stopping=stopping).run() == 86400
    assert scheduled_backups(data_dir / "backups") == []
    assert list((data_dir / "backups").iterdir()) == []


def test_a_failing_backup_is_reported_once_until_one_works_again(data_dir: Path, store: Writer) -> None:
    (data_dir / "backups").write_bytes(b"a file where the folder should be")
    scheduled = job(data_dir, store)
    scheduled.run()
    scheduled.run()
    (data_dir / "backups").unlink()
    scheduled.run()

    def recorded() -> list[tuple[str, str]]:
        return [(e.type, e.level) for e in Event.select().order_by(Event.id)]

    eventually(lambda: len(recorded()) == 2, what="two events")
    assert recorded() == [("backup_failed", "error"), ("backup_ok", "info")]
    assert len(scheduled_backups(data_dir / "backups")) == 1


def test_a_backup_that_would_leave_too_little_free_space_is_not_started(data_dir: Path, store: Writer) -> None:
    job(data_dir, store, min_free=2**60).run()
    assert list((data_dir / "backups").iterdir()) == []
    eventually(lambda: Event.select().where(Event.type == "backup_failed").exists(), what="backup_failed")
    assert "not enough free space" in Event.get(Event.type == "backup_failed").message


def test_a_copy_reads_one_snapshot_while_writes_go_on(db: SqliteDatabase, data_dir: Path, tmp_path: Path) -> None:
    Event.insert_many([{"type": "t", "message": "x" * 500} for _ in range(4000)]).execute()  # ~500 pages
    steps: list[int] = []
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            with db.atomic():
                Event.create(type="t", message="during")
        db.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:

        def step(copied: int, total: int) -> None:
            steps.append(copied)
            stop.wait(0.01)  # the writer commits between steps

        backup(data_dir, tmp_path / "copy.sqlite3", between_steps=step)
    finally:
        stop.set()
        writer.join()
    assert len(steps) > 1 and steps == sorted(steps)  # stepped, never restarted from the beginning
    check_database(tmp_path / "copy.sqlite3")

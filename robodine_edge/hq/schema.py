"""The chain database: its tables and how it is opened (PostgreSQL or a SQLite file).

PostgreSQL goes through psycopg 3 (peewee's `PostgresqlDatabase` speaks both psycopg 2 and
3): the maintained one of the two (psycopg 2 only gets fixes), with binary wheels for
x86-64 and 64-bit ARM and the libpq it needs inside them. A SQLite file (WAL) serves a
trial: the same tables and statements, one machine.

Times are naive UTC. An event is kept once per (store, event_id); `hq_store.acked_seq` is
the store's gapless watermark: every seq up to it is stored (what `ack` says).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from peewee import (
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    CompositeKey,
    Database,
    DatabaseProxy,
    DateTimeField,
    Field,
    Model,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
)

from robodine_edge.data.datadir import create_private, private_dir

SQLITE_FILENAME = "hq.sqlite3"
SQLITE_PRAGMAS: dict[str, object] = {
    "journal_mode": "wal",
    "synchronous": "full",
    "busy_timeout": 10_000,
    "cache_size": -16_000,
}
"""`synchronous=full`: an `ack` tells a store it may forget events; what it covers must
survive a power loss of HQ too."""
CONNECT_TIMEOUT_S = 5
SCHEMA_LOCK = 0x526F626F  # PostgreSQL advisory lock key held while creating tables (released on close)

database = DatabaseProxy()


class JsonField(Field):
    """JSON: `jsonb` on PostgreSQL (queryable by the chain's own reports), text on SQLite."""

    field_type = "JSON"

    def db_value(self, value: Any) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def python_value(self, value: Any) -> Any:
        return orjson.loads(value) if isinstance(value, str | bytes) else value


class _Table(Model):
    class Meta:
        database = database
        legacy_table_names = False


class ChainStore(_Table):
    """One row per store HQ has heard from."""

    store = CharField(max_length=64, primary_key=True)
    acked_seq = BigIntegerField(default=0)
    online = BooleanField(default=False)
    version = TextField(null=True)
    boot_id = TextField(null=True)
    reported_head = BigIntegerField(default=0)
    """The store's newest seq as its last `status` implied (the watermark then + its backlog)."""
    status_at = DateTimeField(null=True)
    last_seen = DateTimeField(null=True)

    class Meta:
        table_name = "hq_store"


class ChainEvent(_Table):
    id = BigAutoField()
    store = CharField(max_length=64)
    seq = BigIntegerField()
    event_id = CharField(max_length=36)
    type = CharField(max_length=64)
    occurred_at = DateTimeField()
    data = JsonField()
    received_at = DateTimeField()

    class Meta:
        table_name = "hq_event"
        indexes = (
            (("store", "event_id"), True),
            (("store", "seq"), False),
            (("type", "store", "seq"), False),
        )


class ChainOrder(_Table):
    """The newest state of each order, from the order events (`seq` decides which is newest)."""

    store = CharField(max_length=64)
    order_id = BigIntegerField()
    seq = BigIntegerField()
    status = CharField(max_length=32)
    total_cents = BigIntegerField()
    created_at = DateTimeField()

    class Meta:
        table_name = "hq_order"
        primary_key = CompositeKey("store", "order_id")
        indexes = ((("store", "created_at"), False),)


class ChainRobot(_Table):
    """The retained state of each robot of each store."""

    store = CharField(max_length=64)
    robot_id = CharField(max_length=64)
    state = JsonField()
    updated_at = DateTimeField()

    class Meta:
        table_name = "hq_robot"
        primary_key = CompositeKey("store", "robot_id")


TABLES: list[type[Model]] = [ChainStore, ChainEvent, ChainOrder, ChainRobot]


def open_database(url: str, data_dir: Path) -> Database:
    """Bind the chain database named by `hq.database_url` (empty: `hq.sqlite3` in the data
    directory) and create its tables; connections then open per thread on use. Main thread.
    Raises peewee's `OperationalError` when PostgreSQL cannot be reached."""
    if url.startswith(("postgresql://", "postgres://")):
        db: Database = PostgresqlDatabase(
            "postgresql://" + url.split("://", 1)[1], prefer_psycopg3=True, connect_timeout=CONNECT_TIMEOUT_S
        )
    else:
        path = Path(url.removeprefix("sqlite:///")) if url else data_dir / SQLITE_FILENAME
        private_dir(path.parent)
        if not path.exists():
            create_private(path)
        db = SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, timeout=10)
    database.initialize(db)
    with db.connection_context():
        if is_postgres(db):  # two hq processes starting together must not both create a table
            db.execute_sql("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        db.create_tables(TABLES, safe=True)
    return db


def is_postgres(db: Database | DatabaseProxy) -> bool:
    """Whether `db` (or the database a proxy is bound to) is PostgreSQL."""
    return isinstance(db.obj if isinstance(db, DatabaseProxy) else db, PostgresqlDatabase)

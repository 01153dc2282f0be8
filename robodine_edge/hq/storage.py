"""Writing the chain database: one batch of messages per transaction, then the watermarks.

Runs on the writer thread (`Writer`), the only thread of an hq process that writes. Every
statement is idempotent, so a batch written twice (a re-sent event, a retry after a lost
connection) or by two hq processes at once changes nothing more: events are inserted with
ON CONFLICT DO NOTHING on (store, event_id), orders keep their newest `seq`, robots and
statuses their newest message.

The watermarks are advanced in a transaction of their own, after the batch has committed:
with two hq processes each storing part of a store's events, whichever of them advances
last sees both commits, so no watermark is left behind a stored event.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import orjson
from peewee import EXCLUDED, Database, DataError, IntegrityError

from robodine_edge.hq.messages import OrderFacts, StoreEvent, StoreStatus
from robodine_edge.hq.schema import ChainRobot, ChainStore, is_postgres

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
INSERT_CHUNK = 500


@dataclass
class Batch:
    """What arrived since the last write, coalesced: each event once, each store's and robot's
    newest status or state. Built on the event loop, then handed whole to the writer."""

    events: dict[tuple[str, str], StoreEvent] = field(default_factory=dict)
    statuses: dict[str, StoreStatus] = field(default_factory=dict)
    robots: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    seen: dict[str, datetime] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.seen)

    def add_event(self, event: StoreEvent, at: datetime) -> None:
        self.events[(event.store, event.event_id)] = event
        self.seen[event.store] = at

    def add_status(self, store: str, status: StoreStatus, at: datetime) -> None:
        self.statuses[store] = status
        self.seen[store] = at

    def add_robot(self, store: str, robot_id: str, state: dict[str, Any], at: datetime) -> None:
        self.robots[(store, robot_id)] = state
        self.seen[store] = at


def write_batch(batch: Batch, now: datetime) -> set[str]:
    """Store `batch` in one transaction; returns the stores whose events it held. Writer thread."""
    db: Database = ChainStore._meta.database
    with db.atomic():
        _touch_stores(batch.seen)
        _insert_events(list(batch.events.values()), now)
        _upsert_orders(batch.events.values())
        _upsert_robots(batch.robots, now)
        _update_statuses(batch.statuses, now)
    return {store for store, _ in batch.events}


def write_singly(batch: Batch, now: datetime) -> set[str]:
    """`write_batch` for a batch the database refused: each event in a transaction of its own,
    so one it refuses outright (a value out of its range) costs only itself. Such an event is
    never stored, so never acknowledged: the error names it for the chain's operators. Writer thread."""
    db: Database = ChainStore._meta.database
    with db.atomic():
        _touch_stores(batch.seen)
        _upsert_robots(batch.robots, now)
        _update_statuses(batch.statuses, now)
    stored: set[str] = set()
    for event in batch.events.values():
        try:
            with db.atomic():
                _insert_events([event], now)
                _upsert_orders([event])
        except (DataError, IntegrityError) as exc:
            log.error("event %s (seq %d, %s) of store %s was refused by the database: %s",
                      event.event_id, event.seq, event.type, event.store, exc)  # fmt: skip
        else:
            stored.add(event.store)
    return stored


def _touch_stores(seen: dict[str, datetime]) -> None:
    rows = [{"store": store, "last_seen": at} for store, at in sorted(seen.items())]
    if rows:
        ChainStore.insert_many(rows).on_conflict(
            conflict_target=[ChainStore.store], update={ChainStore.last_seen: EXCLUDED.last_seen}
        ).execute()


EVENT_COLUMNS = ("store", "seq", "event_id", "type", "occurred_at", "data", "received_at")
ORDER_COLUMNS = ("store", "order_id", "seq", "status", "total_cents", "created_at")
INSERT_EVENTS = "INSERT INTO hq_event ({columns}) VALUES {rows} ON CONFLICT (store, event_id) DO NOTHING"
UPSERT_ORDERS = (
    "INSERT INTO hq_order ({columns}) VALUES {rows} ON CONFLICT (store, order_id) DO UPDATE SET"
    " seq = excluded.seq, status = excluded.status, total_cents = excluded.total_cents,"
    " created_at = excluded.created_at WHERE hq_order.seq < excluded.seq"
)
"""The two statements of every event: written as SQL rather than built by peewee, whose query
building cost more CPU than the database's work at 2,000 events/s."""


def _insert_many(statement: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    db: Database = ChainStore._meta.database
    row = "(" + ", ".join([db.param] * len(columns)) + ")"
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        sql = statement.format(columns=", ".join(columns), rows=", ".join([row] * len(chunk)))
        db.execute_sql(sql, [value for values in chunk for value in values])


def _time(db: Database, moment: datetime) -> Any:
    """A time as the backend keeps it: PostgreSQL's timestamp, SQLite's text (as peewee writes it)."""
    return moment if is_postgres(db) else moment.isoformat(" ")


def _insert_events(events: list[StoreEvent], now: datetime) -> None:
    db: Database = ChainStore._meta.database
    received = _time(db, now)
    rows = [
        (e.store, e.seq, e.event_id, e.type, _time(db, e.occurred_at), orjson.dumps(e.data).decode(), received)
        for e in events
    ]
    _insert_many(INSERT_EVENTS, EVENT_COLUMNS, rows)


def _upsert_orders(events: Collection[StoreEvent]) -> None:
    """Each order's newest state by `seq`; events arrive in any order, re-sent or not."""
    db: Database = ChainStore._meta.database
    newest: dict[tuple[str, int], tuple[int, OrderFacts]] = {}
    for event in events:
        if event.order is not None:
            key = (event.store, event.order.order_id)
            if key not in newest or newest[key][0] < event.seq:
                newest[key] = (event.seq, event.order)
    rows = [
        (store, order_id, seq, o.status, o.total_cents, _time(db, o.created_at))
        for (store, order_id), (seq, o) in newest.items()
    ]
    _insert_many(UPSERT_ORDERS, ORDER_COLUMNS, rows)


def _upsert_robots(robots: dict[tuple[str, str], dict[str, Any]], now: datetime) -> None:
    rows = [{"store": s, "robot_id": r, "state": state, "updated_at": now} for (s, r), state in robots.items()]
    if rows:
        ChainRobot.insert_many(rows).on_conflict(
            conflict_target=[ChainRobot.store, ChainRobot.robot_id],
            update={ChainRobot.state: EXCLUDED.state, ChainRobot.updated_at: EXCLUDED.updated_at},
        ).execute()


def _update_statuses(statuses: dict[str, StoreStatus], now: datetime) -> None:
    """The newest status of each store, in the order the broker delivered them (a last will
    carries the time its connection began, so its `at` cannot order it)."""
    for store, status in statuses.items():
        changes: dict[Any, Any] = {ChainStore.online: status.online, ChainStore.status_at: now}
        if status.version is not None:
            changes[ChainStore.version] = status.version
        if status.boot_id is not None:
            changes[ChainStore.boot_id] = status.boot_id
        if status.backlog is not None:
            changes[ChainStore.reported_head] = ChainStore.acked_seq + status.backlog
        ChainStore.update(changes).where(ChainStore.store == store).execute()


ADVANCE = """
UPDATE hq_store SET acked_seq = {greatest}(acked_seq, COALESCE((
    SELECT MIN(e.seq) FROM hq_event e
    WHERE e.store = hq_store.store AND e.seq > hq_store.acked_seq
      AND NOT EXISTS (SELECT 1 FROM hq_event n WHERE n.store = e.store AND n.seq = e.seq + 1)
), acked_seq))
WHERE EXISTS (SELECT 1 FROM hq_event f WHERE f.store = hq_store.store AND f.seq = hq_store.acked_seq + 1)
{which}
RETURNING store, acked_seq
"""
"""A watermark moves from N to the end of the unbroken run of seqs starting at N + 1, and
only when N + 1 is stored: a gap holds it until the missing event arrives."""


def advance_watermarks(stores: Collection[str] | None = None) -> dict[str, int]:
    """Move the watermarks of `stores` (None: every store) as far as their stored events allow;
    returns the ones that moved. Writer thread."""
    db: Database = ChainStore._meta.database
    if stores is not None and not stores:
        return {}
    greatest = "GREATEST" if is_postgres(db) else "MAX"
    which, params = "", []
    if stores is not None:
        which = f"AND store IN ({', '.join([db.param] * len(stores))})"
        params = sorted(stores)
    with db.atomic():
        cursor = db.execute_sql(ADVANCE.format(greatest=greatest, which=which), params)
        return {store: int(seq) for store, seq in cursor.fetchall()}


def watermarks() -> dict[str, int]:
    """Every store's watermark above 0 (published again on each connection to the broker)."""
    query = ChainStore.select(ChainStore.store, ChainStore.acked_seq).where(ChainStore.acked_seq > 0)
    return {row.store: row.acked_seq for row in query}


class Worker:
    """One thread with its own database connection: the writer of an hq process, or the
    reader of its HTTP API. Submitted work runs in order. After a failure the connection is
    closed, so the next call opens a new one (PostgreSQL restarted, a network cut)."""

    def __init__(self, db: Database, name: str) -> None:
        self._db = db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self._pool.submit(self._run, functools.partial(fn, *args, **kwargs))

    def _run(self, work: Callable[[], T]) -> T:
        """Runs on the worker's thread."""
        try:
            return work()
        except Exception:
            self._close_connection()
            raise

    def _close_connection(self) -> None:
        try:
            self._db.close()
        except Exception as exc:  # a broken connection may refuse even to close
            log.debug("closing the database connection: %s", exc)

    def close(self) -> None:
        """Let submitted work finish, close the thread's connection and end the thread. Main thread."""
        self._pool.submit(self._close_connection)
        self._pool.shutdown(wait=True)

"""Reading the chain database for the HTTP API. Runs on the API's reader thread.

`orders_today` and `revenue_today` count from HQ's own clock: orders whose `created_at`
is at or after the last local midnight of the machine HQ runs on (its `TZ`), whatever the
store's time zone; revenue leaves out cancelled orders.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any, cast

from peewee import JOIN, Case, fn

from robodine_edge.clock import to_iso
from robodine_edge.hq.schema import ChainEvent, ChainOrder, ChainRobot, ChainStore

CANCELLED = "cancelled"


def local_midnight(now: datetime | None = None) -> datetime:
    """The last midnight of the machine's local day (its `TZ`), as naive UTC (how the database
    keeps times). The local midnight's own offset is used, which differs from now's on a day
    that changes to or from daylight-saving time."""
    today = (now or datetime.now()).date()
    return datetime.combine(today, time()).astimezone(UTC).replace(tzinfo=None)


def chain_stores(midnight: datetime) -> list[dict[str, Any]]:
    last_seq = ChainEvent.select(fn.MAX(ChainEvent.seq)).where(ChainEvent.store == ChainStore.store)
    today = (
        ChainOrder.select(
            ChainOrder.store,
            fn.COUNT(ChainOrder.order_id).alias("orders"),
            fn.SUM(Case(None, [(ChainOrder.status == CANCELLED, 0)], ChainOrder.total_cents)).alias("cents"),
        )
        .where(ChainOrder.created_at >= midnight)
        .group_by(ChainOrder.store)
        .alias("today")
    )
    query = (
        ChainStore.select(ChainStore, last_seq.alias("last_seq"), today.c.orders, today.c.cents)
        .join(today, JOIN.LEFT_OUTER, on=(today.c.store == ChainStore.store))
        .order_by(ChainStore.store)
        .dicts()
    )
    return [_store_json(cast("dict[str, Any]", row)) for row in query]  # `.dicts()` rows; the stubs say models


def _store_json(row: dict[str, Any]) -> dict[str, Any]:
    last_seq = int(row["last_seq"] or 0)
    head = max(int(row["reported_head"] or 0), last_seq)
    return {
        "store": row["store"],
        "online": bool(row["online"]),
        "version": row["version"],
        "last_seen": to_iso(row["last_seen"]),
        "backlog": max(head - int(row["acked_seq"]), 0),
        "last_seq": last_seq,
        "orders_today": int(row["orders"] or 0),
        "revenue_today": int(row["cents"] or 0) / 100,
    }


def chain_events(store: str | None, type: str | None, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """Events by store, then seq (a store's in the order it logged them); `after_seq` pages on."""
    query = ChainEvent.select().where(ChainEvent.seq > after_seq)
    if store is not None:
        query = query.where(ChainEvent.store == store)
    if type is not None:
        query = query.where(ChainEvent.type == type)
    query = query.order_by(ChainEvent.store, ChainEvent.seq, ChainEvent.id).limit(limit)
    return [
        {
            "event_id": event.event_id,
            "seq": event.seq,
            "store": event.store,
            "type": event.type,
            "occurred_at": to_iso(event.occurred_at),
            "data": event.data,
            "received_at": to_iso(event.received_at),
        }
        for event in query
    ]


def chain_robots(store: str | None) -> list[dict[str, Any]]:
    query = ChainRobot.select().order_by(ChainRobot.store, ChainRobot.robot_id)
    if store is not None:
        query = query.where(ChainRobot.store == store)
    return [
        {"store": r.store, "robot_id": r.robot_id, "state": r.state, "updated_at": to_iso(r.updated_at)} for r in query
    ]


def database_ok() -> bool:
    ChainStore._meta.database.execute_sql("SELECT 1").fetchall()
    return True

"""Orders in SQLite: placing (with stock taken in the same transaction), moving through
the lifecycle, cancelling (with unused stock returned), and reading them back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from peewee import SQL

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.data.idempotency import IdempotencyClaim, check_unclaimed, remember
from robodine_edge.data.kitchen import StockEntry, record_stock_change
from robodine_edge.data.models import (
    ORDER_ACTIVE,
    ORDER_CANCELLED,
    DiningTable,
    InventoryItem,
    Order,
    OrderItem,
    Party,
    StockReservation,
)
from robodine_edge.data.rows import newest_first, one
from robodine_edge.data.statements import column, insert_sql, params
from robodine_edge.domain.lifecycle import ACTIVE_ORDER, STAMPED_AT, OrderStatus, PartyStatus
from robodine_edge.domain.stock import stock_status
from robodine_edge.errors import OutOfStock, ValidationFailed
from robodine_edge.types import EventLevel


@dataclass(frozen=True, slots=True)
class OrderLine:
    menu_item_id: int
    name: str
    quantity: int
    price_cents: int
    note: str | None


@dataclass(frozen=True, slots=True)
class ActiveOrder:
    """What the order queue keeps of an order until it is served or cancelled."""

    id: int
    table_id: int
    status: OrderStatus
    priority: int
    created_at: datetime
    json: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Placed:
    order: ActiveOrder
    counts: dict[int, int]
    """Inventory counts in the database right after this order took its stock."""
    recorded: list[Recorded]


@dataclass(frozen=True, slots=True)
class Moved:
    order: ActiveOrder
    returned: dict[int, int]
    """Inventory given back by a cancellation: {inventory id: quantity}."""
    recorded: list[Recorded]


def order_json(order: Order, items: Iterable[OrderItem]) -> dict[str, Any]:
    return _order_json(
        (order.id, order.table_id, order.party_id, order.status, order.priority, order.flagged, order.flag_reason,
         order.total_cents, order.created_at, order.updated_at),
        [_item_json(item.menu_item_id, item.name, item.quantity, item.price_cents, item.note) for item in items],
    )  # fmt: skip


def _order_json(row: tuple[Any, ...], items: list[dict[str, Any]]) -> dict[str, Any]:
    """An order's JSON from its `ORDER_COLUMNS` values (a model's, or a tuple row's)."""
    order_id, table_id, party_id, status, priority, flagged, flag_reason, total_cents, created_at, updated_at = row
    return {
        "id": order_id,
        "table_id": table_id,
        "party_id": party_id,
        "status": status,
        "priority": priority,
        "flagged": flagged,
        "flag_reason": flag_reason,
        "items": items,
        "total": total_cents / 100,
        "created_at": to_iso(created_at),
        "updated_at": to_iso(updated_at),
    }


def _item_json(
    menu_item_id: int | None, name: str, quantity: int, price_cents: int, note: str | None
) -> dict[str, Any]:
    return {"menu_item_id": menu_item_id, "name": name, "quantity": quantity, "price": price_cents / 100, "note": note}


def _active(order: Order, items: Iterable[OrderItem]) -> ActiveOrder:
    return ActiveOrder(
        order.id, order.table_id, OrderStatus(order.status), order.priority, order.created_at, order_json(order, items)
    )


# -- writers (writer thread) ---------------------------------------------------------------


ORDER_FIELDS = (
    "table",
    "party",
    "status",
    "total_cents",
    "priority",
    "flagged",
    "created_by",
    "created_at",
    "updated_at",
)
ITEM_FIELDS = ("order", "menu_item", "name", "quantity", "price_cents", "note")
RESERVATION_FIELDS = ("order", "inventory", "quantity")
INSERT_ORDER = insert_sql(Order, ORDER_FIELDS)
INSERT_ITEM = insert_sql(OrderItem, ITEM_FIELDS)
INSERT_RESERVATION = insert_sql(StockReservation, RESERVATION_FIELDS)
TABLE_AND_PARTY = (
    f'SELECT t.{column(DiningTable, "id")}, p.{column(Party, "id")} FROM "{DiningTable._meta.table_name}" AS t '
    f'LEFT JOIN "{Party._meta.table_name}" AS p ON p.{column(Party, "table")} = t.{column(DiningTable, "id")} '
    f"AND p.{column(Party, 'status')} = ? WHERE t.{column(DiningTable, 'id')} = ?"
)
STOCK = (
    f"SELECT {column(InventoryItem, 'id')}, {column(InventoryItem, 'name')}, {column(InventoryItem, 'unit')}, "
    f"{column(InventoryItem, 'count')}, {column(InventoryItem, 'max_count')}, {column(InventoryItem, 'low_threshold')} "
    f'FROM "{InventoryItem._meta.table_name}" WHERE {column(InventoryItem, "id")} IN '
)
TAKE = (
    f'UPDATE "{InventoryItem._meta.table_name}" SET {column(InventoryItem, "count")} = '
    f"{column(InventoryItem, 'count')} - ? WHERE {column(InventoryItem, 'id')} = ?"
)


class NoSuchTable(ValidationFailed):
    """The answer to an order for a table that does not exist (checked before any stock
    is reserved, and again in the order's own transaction)."""

    def __init__(self, table_id: int) -> None:
        super().__init__(f"table {table_id} does not exist", fields={"table_id": "no such table"})


def place_order(
    table_id: int,
    lines: tuple[OrderLine, ...],
    needed: Mapping[int, int],
    user_id: int | None,
    claim: IdempotencyClaim | None,
) -> Placed:
    """Take the stock and record the order, or raise and change nothing.

    The hot path of the service: its statements are prepared once (`statements`)."""
    db = Order._meta.database
    if claim is not None:
        check_unclaimed(claim)  # an earlier request with this key committed meanwhile
    found = db.execute_sql(TABLE_AND_PARTY, (PartyStatus.SEATED.value, table_id)).fetchone()
    if found is None:
        raise NoSuchTable(table_id)
    counts, recorded = _take_stock(db, needed)
    now = utcnow()
    total = sum(line.price_cents * line.quantity for line in lines)
    values = (table_id, found[1], OrderStatus.PLACED.value, total, 0, False, user_id, now, now)
    order_id = db.execute_sql(INSERT_ORDER, params(Order, ORDER_FIELDS, values)).lastrowid
    cursor = db.cursor()
    cursor.executemany(
        INSERT_ITEM,
        [
            params(
                OrderItem,
                ITEM_FIELDS,
                (order_id, line.menu_item_id, line.name, line.quantity, line.price_cents, line.note),
            )
            for line in lines
        ],
    )
    if needed:
        cursor.executemany(INSERT_RESERVATION, [(order_id, item, quantity) for item, quantity in needed.items()])
    placed = {
        "id": order_id,
        "table_id": table_id,
        "party_id": found[1],
        "status": OrderStatus.PLACED.value,
        "priority": 0,
        "flagged": False,
        "flag_reason": None,
        "items": [
            {
                "menu_item_id": line.menu_item_id,
                "name": line.name,
                "quantity": line.quantity,
                "price": line.price_cents / 100,
                "note": line.note,
            }
            for line in lines
        ],
        "total": total / 100,
        "created_at": to_iso(now),
        "updated_at": to_iso(now),
    }
    active = ActiveOrder(order_id, table_id, OrderStatus.PLACED, 0, now, placed)
    recorded.append(
        record_event(
            "order_placed",
            f"order {order_id} placed for table {table_id}",
            entity_type="order",
            entity_id=order_id,
            order=placed,
        )
    )
    if claim is not None:
        remember(claim, 201, orjson.dumps(placed))
    return Placed(active, counts, recorded)


def _take_stock(db: Any, needed: Mapping[int, int]) -> tuple[dict[int, int], list[Recorded]]:
    """Decrement each inventory item, checking again against the database itself."""
    if not needed:
        return {}, []
    ids = list(needed)
    rows = {row[0]: row for row in db.execute_sql(STOCK + f"({', '.join('?' for _ in ids)})", ids)}
    short = [rows[i][1] if i in rows else str(i) for i, q in needed.items() if i not in rows or rows[i][3] < q]
    if short:
        raise OutOfStock(f"not enough {', '.join(short)}")
    db.cursor().executemany(TAKE, [(quantity, item) for item, quantity in needed.items()])
    recorded: list[Recorded] = []
    for item, quantity in needed.items():
        _, name, unit, count, max_count, low = rows[item]
        entry = StockEntry(item, name, unit, count - quantity, max_count, low)
        recorded.extend(record_stock_change(entry, stock_status(count, low)))
    return {item: rows[item][3] - quantity for item, quantity in needed.items()}, recorded


def move_order(order_id: int, target: OrderStatus) -> Moved:
    """Set the order's status (the caller checked the transition); a cancelled order that
    had not started cooking gives its stock back. Only the columns a move changes are
    written: an UPDATE that sets a column rewrites a page of each index on it, changed
    or not, and a whole-row `save()` cost each move four index pages more."""
    order = one(Order, order_id, "order")
    restored: dict[int, int] = {}
    if target is OrderStatus.CANCELLED and order.status == OrderStatus.PLACED.value:
        restored = _return_stock(order_id)
    now = utcnow()
    order.status, order.updated_at = target.value, now
    changed = [Order.status, Order.updated_at]
    if target in STAMPED_AT:
        setattr(order, STAMPED_AT[target], now)
        changed.append(Order._meta.fields[STAMPED_AT[target]])
    order.save(only=changed)
    active = _active(order, order.items.order_by(OrderItem.id))
    event = record_event(
        "order_status",
        f"order {order_id} is {target.value}",
        entity_type="order",
        entity_id=order_id,
        data={"status": target.value},
        order=active.json,
    )
    return Moved(active, restored, [event])


def _return_stock(order_id: int) -> dict[int, int]:
    reservations = list(StockReservation.select().where(StockReservation.order == order_id))
    returned: dict[int, int] = {}
    for reservation in reservations:
        InventoryItem.update(count=InventoryItem.count + reservation.quantity).where(
            InventoryItem.id == reservation.inventory_id
        ).execute()
        returned[reservation.inventory_id] = returned.get(reservation.inventory_id, 0) + reservation.quantity
    StockReservation.delete().where(StockReservation.order == order_id).execute()
    return returned


def unflag_order(order_id: int) -> None:
    """Staff gave a flagged order back to the robots. Written by the order queue (`unflag`)."""
    Order.update(flagged=False, flag_reason=None, updated_at=utcnow()).where(Order.id == order_id).execute()


def flag_order(order_id: int, reason: str) -> Recorded:
    """The robots cannot take this order further: flagged, and staff told (`order_unserved`).
    Written by the order queue (`flag`), or in the unit of a task given up."""
    Order.update(flagged=True, flag_reason=reason[:250], updated_at=utcnow()).where(Order.id == order_id).execute()
    return record_event(
        "order_unserved",
        f"order {order_id} could not be handled by the robots ({reason}); staff, please take over",
        level=EventLevel.ERROR,
        entity_type="order",
        entity_id=order_id,
    )


# -- readers -----------------------------------------------------------------------------


ORDER_COLUMNS = (
    "id", "table", "party", "status", "priority", "flagged", "flag_reason", "total_cents", "created_at", "updated_at",
)  # fmt: skip
ITEM_COLUMNS = ("order", "menu_item", "name", "quantity", "price_cents", "note")
ACTIVE = ", ".join("?" for _ in ACTIVE_ORDER)
ACTIVE_VALUES = frozenset(status.value for status in ACTIVE_ORDER)
ACTIVE_ORDERS = (
    f'SELECT {", ".join(column(Order, field) for field in ORDER_COLUMNS)} FROM "{Order._meta.table_name}" '
    f"WHERE {column(Order, 'status')} IN ({ACTIVE}) AND {ORDER_ACTIVE} ORDER BY {column(Order, 'id')}"
)
ACTIVE_ORDER_ITEMS = (
    f"SELECT {', '.join('i.' + column(OrderItem, field) for field in ITEM_COLUMNS)} "
    f'FROM "{Order._meta.table_name}" AS o CROSS JOIN "{OrderItem._meta.table_name}" AS i '
    f"ON o.{column(Order, 'id')} = i.{column(OrderItem, 'order')} "
    f"WHERE o.{column(Order, 'status')} IN ({ACTIVE}) AND {ORDER_ACTIVE} ORDER BY i.{column(OrderItem, 'id')}"
)
"""Both name `ORDER_ACTIVE`, the condition of the index that holds the active orders; the
items are read from those orders (`CROSS JOIN` keeps that order of the loops: SQLite
would otherwise read every order line ever written, to save sorting a few)."""


def load_active_orders() -> list[ActiveOrder]:
    """Every order not yet served or cancelled, for the order queue's start. Two prepared
    statements whatever the number of orders, their rows read as plain tuples: peewee's
    per-row conversion and a model instance per row made a start with 10k open orders take
    seconds (and a list of 10k ids in `IN (...)` nears SQLite's limit on parameters)."""
    db = Order._meta.database
    active = [status.value for status in ACTIVE_ORDER]
    items: dict[int, list[dict[str, Any]]] = {}
    for order_id, *item in db.execute_sql(ACTIVE_ORDER_ITEMS, active):
        items.setdefault(order_id, []).append(_item_json(*item))
    loaded = []
    for order_id, table_id, party_id, status, priority, flagged, reason, total, created, updated in db.execute_sql(
        ACTIVE_ORDERS, active
    ):
        created_at, updated_at = datetime.fromisoformat(created), datetime.fromisoformat(updated)
        row = (order_id, table_id, party_id, status, priority, bool(flagged), reason, total, created_at, updated_at)
        json = _order_json(row, items.get(order_id, []))
        loaded.append(ActiveOrder(order_id, table_id, OrderStatus(status), priority, created_at, json))
    return loaded


def load_active_order(order_id: int) -> ActiveOrder:
    order = one(Order, order_id, "order")
    return _active(order, order.items.order_by(OrderItem.id))


def set_priority(order_id: int, priority: int) -> ActiveOrder:
    Order.update(priority=priority, updated_at=utcnow()).where(Order.id == order_id).execute()
    return load_active_order(order_id)


def order_status(order_id: int) -> OrderStatus:
    return OrderStatus(one(Order, order_id, "order").status)


def get_order(order_id: int) -> dict[str, Any]:
    order = one(Order, order_id, "order")
    return order_json(order, order.items.order_by(OrderItem.id))


def list_orders(limit: int, before: int | None, status: str | None, table_id: int | None) -> list[dict[str, Any]]:
    query = newest_first(Order.select(), Order, limit, before)
    if status is not None:
        query = query.where(Order.status == status)
        if status in ACTIVE_VALUES:
            query = query.where(SQL(ORDER_ACTIVE))
        elif status == OrderStatus.CANCELLED.value:
            query = query.where(SQL(ORDER_CANCELLED))
    if table_id is not None:
        query = query.where(Order.table == table_id)
    orders = list(query)
    items = _items_of([o.id for o in orders])
    return [order_json(order, items.get(order.id, [])) for order in orders]


def _items_of(order_ids: list[int]) -> dict[int, list[OrderItem]]:
    items: dict[int, list[OrderItem]] = {}
    if order_ids:
        for item in OrderItem.select().where(OrderItem.order.in_(order_ids)).order_by(OrderItem.id):
            items.setdefault(item.order_id, []).append(item)
    return items

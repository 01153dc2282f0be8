"""Lifecycles of orders, tables and parties: which state may follow which.

Order: placed → cooking → ready → serving → served, and cancelled from placed (anyone
allowed to see the order) or from cooking (staff and admin only).
Table: available/reserved → occupied (seat) → cleaning (release) → available (cleaned);
staff may switch available ↔ reserved.
"""

from __future__ import annotations

from enum import StrEnum

from robodine_edge.errors import Forbidden, InvalidTransition
from robodine_edge.types import STAFF_ROLES, Role


class OrderStatus(StrEnum):
    PLACED = "placed"
    COOKING = "cooking"
    READY = "ready"
    SERVING = "serving"
    SERVED = "served"
    CANCELLED = "cancelled"


class TableStatus(StrEnum):
    AVAILABLE = "available"
    OCCUPIED = "occupied"
    CLEANING = "cleaning"
    RESERVED = "reserved"


class PartyStatus(StrEnum):
    WAITING = "waiting"
    SEATED = "seated"
    LEFT = "left"


ORDER_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.COOKING, OrderStatus.CANCELLED}),
    OrderStatus.COOKING: frozenset({OrderStatus.READY, OrderStatus.CANCELLED}),
    OrderStatus.READY: frozenset({OrderStatus.SERVING}),
    OrderStatus.SERVING: frozenset({OrderStatus.SERVED}),
    OrderStatus.SERVED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
ACTIVE_ORDER = frozenset({OrderStatus.PLACED, OrderStatus.COOKING, OrderStatus.READY, OrderStatus.SERVING})
STAMPED_AT: dict[OrderStatus, str] = {
    OrderStatus.COOKING: "cooking_at",
    OrderStatus.READY: "ready_at",
    OrderStatus.SERVING: "serving_at",
    OrderStatus.SERVED: "served_at",
    OrderStatus.CANCELLED: "cancelled_at",
}

SEATABLE = frozenset({TableStatus.AVAILABLE, TableStatus.RESERVED})
TABLE_MANUAL_NEXT: dict[TableStatus, frozenset[TableStatus]] = {
    TableStatus.AVAILABLE: frozenset({TableStatus.RESERVED}),
    TableStatus.RESERVED: frozenset({TableStatus.AVAILABLE}),
}


def check_order_transition(current: OrderStatus, target: OrderStatus, role: Role) -> None:
    """Raise `InvalidTransition` or `Forbidden` unless `role` may move an order `current → target`."""
    if target not in ORDER_NEXT[current]:
        raise InvalidTransition(f"an order cannot go from {current.value} to {target.value}")
    if target is OrderStatus.CANCELLED and current is OrderStatus.COOKING and role not in STAFF_ROLES:
        raise Forbidden("only staff can cancel an order that is already cooking")


def check_table_transition(current: TableStatus, target: TableStatus) -> None:
    """The transitions staff may make with `POST /api/tables/{id}/status`."""
    if target not in TABLE_MANUAL_NEXT.get(current, frozenset()):
        raise InvalidTransition(f"a table cannot go from {current.value} to {target.value} by hand")

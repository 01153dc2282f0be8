"""The order queue: the one owner of orders, the menu and the inventory.

Menu and inventory live here rather than in actors of their own because placing an
order must check and take stock atomically: with one owner, the check is a lookup in
memory and the take is part of the order's own transaction.

Placing is pipelined. The actor checks the table against the ids it knows, checks and
reserves stock in memory, hands the order's unit to the store and goes on to the next
request without waiting for the commit, so concurrent orders share a commit (group
commit). The caller awaits the commit; the store's callback tells this actor the
outcome (`OrderCommitted`, or `PlacementFailed`, which gives back exactly that order's
reservation).

The menu is held by a `MenuBook` (actors/dining/menu_book.py), which turns an order's items into
priced lines and what they need from the shelves. The `menu` topic follows it: a dish
added, changed or removed, and every dish whose `available` flips because stock moved
(an order reserving the last portion, a cancel or failed placement giving it back, a
restock or correction), announced when memory changes — what `GET /api/menu` shows
from then on. A (re)started queue announces the whole menu and every active order, so
screens (and the dispatcher) that followed a crashed one are set right.

Counts in memory are what is left to order: the database's counts less what orders in
flight reserved, kept by a `StockLedger` (actors/dining/stock_ledger.py) that moves them only by
amounts. Only if the database ever refuses stock that memory said was there are the
counts reloaded (`_resync`).

The table is checked before anything is reserved, so an order for a table that does
not exist never holds stock another order needs. The known ids are loaded at start; a
table created since is looked up through the store once, without blocking this thread
(`TableChecked`), and one deleted since is caught by the order's own transaction.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import pykka

from robodine_edge.actors.base import ActorFuture, CrashListener, TypedProxy, proxy_method
from robodine_edge.actors.dining.menu_book import MenuBook
from robodine_edge.actors.dining.stock_ledger import StockLedger
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.list_pages import ListViews, PageKey, RowKey, RowOrder, ViewOwner
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.data import desired, kitchen, orders, tables
from robodine_edge.data.desired import Applied
from robodine_edge.data.idempotency import IdempotencyClaim, KeyDecided
from robodine_edge.data.kitchen import MenuEntry, StockChange, StockEntry
from robodine_edge.data.orders import ActiveOrder, Moved, NoSuchTable, Placed
from robodine_edge.domain.dispatch import steps_to
from robodine_edge.domain.lifecycle import ACTIVE_ORDER, OrderStatus, check_order_transition
from robodine_edge.errors import (
    InvalidTransition,
    NotFound,
    OutOfStock,
    RobodineError,
    Unavailable,
)
from robodine_edge.protocol.mqtt import MenuCfg
from robodine_edge.types import Publish, Role

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
WRITE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class OrderCommitted:
    placed: Placed
    ticket: int


@dataclass(frozen=True, slots=True)
class PlacementFailed:
    """An order's unit was rolled back; `ticket` names its reservation."""

    ticket: int
    table_id: int
    error: BaseException


@dataclass(frozen=True, slots=True)
class Placement:
    """An order being placed; `result` is the future its caller awaits."""

    table_id: int
    items: list[tuple[int, int, str | None]]
    user_id: int | None
    claim: IdempotencyClaim | None
    result: ActorFuture[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TableChecked:
    """The store found the table of a `Placement` this actor did not know."""

    placement: Placement


def load_kitchen() -> tuple[list[MenuEntry], list[StockEntry], list[ActiveOrder], list[int]]:
    """One consistent snapshot, read through the store so it follows every queued write."""
    return kitchen.load_menu(), kitchen.load_inventory(), orders.load_active_orders(), tables.table_ids()


class OrderQueueActor(ViewOwner):
    """All methods run in the order queue's own thread."""

    READS = frozenset(
        {
            "list_menu",
            "menu_body",
            "get_menu_item",
            "list_inventory",
            "inventory_body",
            "get_inventory_item",
            "active_orders",
            "queued",
        }
    )

    def __init__(
        self,
        writer: Writer,
        journal: Journal,
        publish: Publish,
        on_order: Callable[[dict[str, Any]], None] = lambda order: None,
        *,
        crash_listener: CrashListener | None = None,
        views: ListViews | None = None,
    ) -> None:
        super().__init__(views, crash_listener=crash_listener)
        self._writer = writer
        self._journal = journal
        self._publish = publish
        self._on_order = on_order
        self._menu = MenuBook()
        self._stock = StockLedger()
        self._active: dict[int, ActiveOrder] = {}
        self._queue: deque[int] = deque()
        self._tables: set[int] = set()

    def on_start(self) -> None:
        menu, stock, active, table_ids = self._write(load_kitchen)
        self._tables = set(table_ids)
        self._menu = MenuBook(menu)
        self._stock.reload(stock)
        for dish in self._menu.settle(self._stock.counts()):
            self._publish("menu", "upsert", dish)
        self._active = {order.id: order for order in active}
        placed = [o for o in active if o.status is OrderStatus.PLACED]
        self._queue = deque(o.id for o in sorted(placed, key=lambda o: (-o.priority, o.id)))
        # A crashed queue may have died with news undelivered: an order whose commit came
        # back to no one (its `OrderCommitted` a dead letter) was answered to its caller
        # and is in SQLite, but the dispatcher and the hub never heard of it. So a
        # (re)started queue announces every active order, as it does the menu; the
        # dispatcher makes a task only where none is open, and at the service's own start
        # nobody listens yet (no dispatcher, no loop), so that costs nothing.
        for order in active:
            self._publish("orders", "upsert", order.json)
            self._on_order(order.json)

    def on_receive(self, message: object) -> object:
        if isinstance(message, OrderCommitted):
            self._order_committed(message)
        elif isinstance(message, TableChecked):
            self._place_checked(message.placement)
        elif isinstance(message, PlacementFailed):
            self._placement_failed(message)
        else:
            return super().on_receive(message)
        return None

    # -- menu -------------------------------------------------------------------------

    def list_menu(self, category: str | None = None) -> list[dict[str, Any]]:
        return self._menu.listing(self._stock.counts(), category)

    def menu_body(self, page: PageKey[tuple[str | None, str]]) -> bytes:
        """A page of `list_menu(category)`, where `page.filter` is `(category or None,
        order)`: newest first, or in menu order (`order == "menu"`, paged by rank so
        `before=<id>` continues after that dish); the list stays in `views` until the
        next change."""
        category, order = page.filter
        ranked = None
        if order == "menu":
            ranks: dict[RowKey, int] = {dish: rank for dish, rank in self._menu.ranks().items()}
            ranked = RowOrder("id", ranks)
        return self.views.build(page, lambda: self.list_menu(category), ranked)

    def get_menu_item(self, item_id: int) -> dict[str, Any]:
        return self._menu_json(self._menu.entry(item_id))

    def create_menu_item(self, fields: dict[str, Any], ingredients: list[tuple[int, int]]) -> dict[str, Any]:
        entry: MenuEntry = self._write(kitchen.create_menu_item, fields, ingredients)
        return self._announce_dish(entry)

    def update_menu_item(
        self, item_id: int, changes: dict[str, Any], ingredients: list[tuple[int, int]] | None
    ) -> dict[str, Any]:
        self._menu.entry(item_id)
        entry: MenuEntry = self._write(kitchen.update_menu_item, item_id, changes, ingredients)
        return self._announce_dish(entry)

    def delete_menu_item(self, item_id: int) -> None:
        self._menu.entry(item_id)
        self._write(kitchen.delete_menu_item, item_id)
        self._menu.remove(item_id)
        self._publish("menu", "delete", {"id": item_id})

    def apply_menu_cfg(self, scope: str, cfg: MenuCfg) -> Applied | None:
        """Headquarters' menu (federation): prices and availability of the dishes it
        names, in one unit; None when its version was not newer (nothing changed)."""
        applied: Applied | None = self._write(desired.apply_menu, scope, cfg)
        if applied is not None:
            for entry in applied.menu:
                self._menu.put(entry)
            self._journal.publish([applied.recorded])
        return applied

    # -- inventory ----------------------------------------------------------------------

    def list_inventory(self) -> list[dict[str, Any]]:
        """Every item (the `inventory` WebSocket snapshot)."""
        return [entry.json() for entry in self._stock.entries()]

    def inventory_body(self, page: PageKey[None]) -> bytes:
        """A page of `list_inventory`, newest first; the list stays in `views` until the next change."""
        return self.views.build(page, self.list_inventory)

    def get_inventory_item(self, item_id: int) -> dict[str, Any]:
        return self._stock_entry(item_id).json()

    def create_inventory_item(self, fields: dict[str, Any]) -> dict[str, Any]:
        return self._apply(self._write(kitchen.create_inventory_item, fields))

    def update_inventory_item(self, item_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        self._stock_entry(item_id)
        return self._apply(self._write(kitchen.update_inventory_item, item_id, changes))

    def delete_inventory_item(self, item_id: int) -> None:
        self._stock_entry(item_id)
        self._write(kitchen.delete_inventory_item, item_id)
        self._stock.remove(item_id)
        self._publish("inventory", "delete", {"id": item_id})

    def restock(self, item_id: int, quantity: int) -> dict[str, Any]:
        self._stock_entry(item_id)
        return self._apply(self._write(kitchen.add_stock, item_id, quantity))

    # -- orders -------------------------------------------------------------------------

    def place(
        self,
        table_id: int,
        items: list[tuple[int, int, str | None]],
        user_id: int | None,
        claim: IdempotencyClaim | None,
    ) -> ActorFuture[dict[str, Any]]:
        """Check the table, check and reserve stock, then hand the order to the store;
        returns the commit's future. A table this actor does not know is looked up first
        through the store (the answer comes back as `TableChecked`), so this thread never
        waits and nothing is reserved for a table that does not exist."""
        placement = Placement(table_id, items, user_id, claim, ActorFuture())
        if table_id in self._tables:
            self._admit(placement)
        else:
            found = self._writer.write(tables.table_exists, table_id)
            found.add_done_callback(lambda done: self._table_found(done, placement))
        return placement.result

    def _admit(self, placement: Placement) -> None:
        """Check the items and the stock (raising), reserve it and hand the unit to the store."""
        lines = self._menu.lines(placement.items)
        needed = self._menu.needs(lines)
        short = self._stock.shortages(needed)
        if short:
            raise self._menu.out_of_stock(lines, short, ", ".join(sorted(self._stock.name(item) for item in short)))
        ticket = self._stock.reserve(needed)
        self._announce_flips(needed)
        committed = self._writer.write(
            orders.place_order, placement.table_id, tuple(lines), needed, placement.user_id, placement.claim
        )
        committed.add_done_callback(lambda done: self._placement_done(done, placement, ticket))

    def cancel(self, order_id: int, role: Role) -> dict[str, Any]:
        return self._move(order_id, OrderStatus.CANCELLED, role)

    def set_status(self, order_id: int, status: OrderStatus, role: Role) -> dict[str, Any]:
        return self._move(order_id, status, role)

    def advance(self, order_id: int, target: OrderStatus) -> dict[str, Any] | None:
        """Walk an order to `target` one legal step at a time from where it is (a robot's
        `done` may come without its `started`), each step written and announced as
        `set_status` does; for the dispatcher, in one ask. Returns the order as it is now
        (unmoved if it is there or past it already), or None if it is no longer active.
        A step refused raises, the steps before it taken."""
        order = self._active.get(order_id)
        if order is None:
            return None
        moved = order.json
        for status in steps_to(order.status, target):
            moved = self._move(order_id, status, Role.ADMIN)
        return moved

    def flag(self, order_id: int, reason: str) -> dict[str, Any] | None:
        """The robots cannot take this order further (asked by the dispatcher): flagged,
        staff told (`order_unserved`), and the order announced again; None if it is no
        longer active."""
        self._journal.publish([self._write(orders.flag_order, order_id, reason)])
        self.reload(order_id)
        order = self._active.get(order_id)
        return order.json if order is not None else None

    def unflag(self, order_id: int) -> dict[str, Any] | None:
        """Staff give a flagged order back to the robots (asked by the dispatcher); the order
        is announced again, no longer flagged. None if it is no longer active."""
        self._write(orders.unflag_order, order_id)
        self.reload(order_id)
        order = self._active.get(order_id)
        return order.json if order is not None else None

    def set_priority(self, order_id: int, priority: int) -> dict[str, Any]:
        """Staff bump an order: a higher priority is cooked and served first."""
        order = self._active.get(order_id)
        if order is None:
            current: OrderStatus = self._write(orders.order_status, order_id)
            raise InvalidTransition(f"order {order_id} is {current.value}; only active orders have a priority")
        self._announce(self._write(orders.set_priority, order_id, priority))
        return self._active[order_id].json

    def reload(self, order_id: int) -> None:
        """Re-read one order after a change made outside this actor (a task given up flags
        its order in the task's own unit)."""
        if order_id in self._active:
            self._announce(self._write(orders.load_active_order, order_id))

    def active_orders(self) -> list[dict[str, Any]]:
        return [order.json for order in self._active.values()]

    def queued(self) -> list[int]:
        """Placed orders waiting for a cook, first to be cooked first."""
        return list(self._queue)

    # -- internals ------------------------------------------------------------------------

    def _table_found(self, done: ActorFuture[bool], placement: Placement) -> None:
        """Runs on the writer's thread: an unknown table is refused here, a found one goes
        back to this actor to be placed."""
        try:
            exists = done.get(timeout=0)
        except Exception as exc:
            placement.result.fail(exc)
            return
        if not exists:
            placement.result.fail(NoSuchTable(placement.table_id))
        elif not self._tell_self(TableChecked(placement)):
            placement.result.fail(Unavailable("the order queue restarted; place the order again"))

    def _place_checked(self, placement: Placement) -> None:
        """A tell handler: a refusal answers the caller instead of stopping this actor."""
        self._tables.add(placement.table_id)
        try:
            self._admit(placement)
        except Exception as exc:
            placement.result.fail(exc)
            if not isinstance(exc, RobodineError):
                raise

    def _placement_done(self, done: ActorFuture[Placed], placement: Placement, ticket: int) -> None:
        """Runs on the writer's thread: tell this actor first, then answer the caller."""
        try:
            placed = done.get(timeout=0)
        except Exception as exc:
            self._tell_self(PlacementFailed(ticket, placement.table_id, exc))
            placement.result.fail(exc)
            return
        self._tell_self(OrderCommitted(placed, ticket))
        placement.result.set(placed.order.json)

    def _tell_self(self, message: Any) -> bool:
        """Any thread; False when this instance is gone (its successor reloads from SQLite)."""
        try:
            self.actor_ref.tell(message)
        except pykka.ActorDeadError:
            log.info("order queue restarted while an order was placed; its state comes from SQLite")
            return False
        return True

    def _order_committed(self, message: OrderCommitted) -> None:
        """The reservation is now stock taken: memory already counts it, so only tell."""
        self._stock.settle(message.ticket)
        order = message.placed.order
        self._queue.append(order.id)
        self._announce(order)
        self._publish_stock(message.placed.counts)
        self._journal.publish(message.placed.recorded)

    def _placement_failed(self, message: PlacementFailed) -> None:
        """Give back exactly this order's reservation; the unit changed nothing on disk.
        A table deleted since is forgotten, and looked up again when next ordered for; any
        other failure (stock, an idempotency conflict) leaves it known."""
        if isinstance(message.error, KeyDecided):  # a retry of an order placed meanwhile: nothing wrong
            log.info("an order for table %d was already placed under its Idempotency-Key", message.table_id)
        else:
            log.warning("an order for table %d was not placed: %r", message.table_id, message.error)
        if isinstance(message.error, NoSuchTable):
            self._tables.discard(message.table_id)
        if isinstance(message.error, OutOfStock):
            self._resync()
            return
        returned = self._stock.give_back(message.ticket)
        if returned is not None:
            self._publish_stock(returned)

    def _resync(self) -> None:
        """The database refused stock memory said was there: take its counts. Read through
        the store, after every unit handed to it so far, so they already hold the outcome
        of every order in flight; no reservation is left to give back."""
        log.warning("inventory in memory disagreed with the database; reloading it")
        self._stock.reload(self._write(kitchen.load_inventory))
        self._publish_stock(self._stock.counts())

    def _move(self, order_id: int, target: OrderStatus, role: Role) -> dict[str, Any]:
        order = self._active.get(order_id)
        if order is None:
            current: OrderStatus = self._write(orders.order_status, order_id)
            raise InvalidTransition(f"order {order_id} is {current.value}")
        check_order_transition(order.status, target, role)
        moved: Moved = self._write(orders.move_order, order_id, target)
        self._stock.move(moved.returned)
        self._publish_stock(moved.returned)
        if moved.order.status is not OrderStatus.PLACED and order_id in self._queue:
            self._queue.remove(order_id)
        self._announce(moved.order)
        self._journal.publish(moved.recorded)
        return moved.order.json

    def _announce(self, order: ActiveOrder) -> None:
        """Keep the committed order, and tell the hub and the dispatcher."""
        if order.status in ACTIVE_ORDER:
            self._active[order.id] = order
        else:
            self._active.pop(order.id, None)
        self._publish("orders", "upsert", order.json)
        self._on_order(order.json)

    def _apply(self, change: StockChange) -> dict[str, Any]:
        """Keep a committed change to one shelf (the ledger moves its count by the unit's
        delta), then tell the hub and publish its events."""
        entry = self._stock.apply(change)
        self._publish("inventory", "upsert", entry.json())
        self._announce_flips((entry.id,))
        self._journal.publish(change.recorded)
        return entry.json()

    def _publish_stock(self, items: Iterable[int]) -> None:
        """Tell the hub what is left of these shelves (their events came with their unit),
        and which dishes that flipped."""
        shelves = self._stock.known(items)
        for entry in shelves:
            self._publish("inventory", "upsert", entry.json())
        self._announce_flips(entry.id for entry in shelves)

    def _announce_flips(self, items: Iterable[int]) -> None:
        """Tell the hub of every dish using these shelves whose `available` flipped."""
        for dish in self._menu.flips(self._stock.counts(), items):
            self._publish("menu", "upsert", dish)

    def _announce_dish(self, entry: MenuEntry) -> dict[str, Any]:
        """Keep a committed dish and tell the hub; returns it as the API shows it."""
        self._menu.put(entry)
        dish = self._menu.announce(entry, self._stock.counts())
        self._publish("menu", "upsert", dish)
        return dish

    def _menu_json(self, entry: MenuEntry) -> dict[str, Any]:
        return self._menu.json(entry, self._stock.counts())

    def _stock_entry(self, item_id: int) -> StockEntry:
        entry = self._stock.get(item_id)
        if entry is None:
            raise NotFound(f"inventory item {item_id} not found")
        return entry

    def _write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._writer.write(unit, *args, **kwargs).get(timeout=WRITE_TIMEOUT_S)


class OrderQueueProxy(TypedProxy):
    """The order queue as HTTP and the dispatcher reach it (`ActorSlot[OrderQueueProxy]`)."""

    list_menu = proxy_method(OrderQueueActor.list_menu)
    menu_body = proxy_method(OrderQueueActor.menu_body)
    get_menu_item = proxy_method(OrderQueueActor.get_menu_item)
    create_menu_item = proxy_method(OrderQueueActor.create_menu_item)
    update_menu_item = proxy_method(OrderQueueActor.update_menu_item)
    delete_menu_item = proxy_method(OrderQueueActor.delete_menu_item)
    apply_menu_cfg = proxy_method(OrderQueueActor.apply_menu_cfg)
    list_inventory = proxy_method(OrderQueueActor.list_inventory)
    inventory_body = proxy_method(OrderQueueActor.inventory_body)
    get_inventory_item = proxy_method(OrderQueueActor.get_inventory_item)
    create_inventory_item = proxy_method(OrderQueueActor.create_inventory_item)
    update_inventory_item = proxy_method(OrderQueueActor.update_inventory_item)
    delete_inventory_item = proxy_method(OrderQueueActor.delete_inventory_item)
    restock = proxy_method(OrderQueueActor.restock)
    place = proxy_method(OrderQueueActor.place)
    cancel = proxy_method(OrderQueueActor.cancel)
    set_status = proxy_method(OrderQueueActor.set_status)
    advance = proxy_method(OrderQueueActor.advance)
    flag = proxy_method(OrderQueueActor.flag)
    unflag = proxy_method(OrderQueueActor.unflag)
    set_priority = proxy_method(OrderQueueActor.set_priority)
    reload = proxy_method(OrderQueueActor.reload)
    active_orders = proxy_method(OrderQueueActor.active_orders)
    queued = proxy_method(OrderQueueActor.queued)

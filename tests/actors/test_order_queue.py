"""The order queue: menu, stock reservation, lifecycle, and what survives a crash."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest

from robodine_edge.actors.dining.order_queue import OrderQueueActor, OrderQueueProxy
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, SupervisorProxy
from robodine_edge.data import idempotency
from robodine_edge.data.idempotency import IdempotencyClaim, KeyDecided
from robodine_edge.data.models import DiningTable, InventoryItem, Order
from robodine_edge.data.orders import get_order
from robodine_edge.domain.lifecycle import OrderStatus
from robodine_edge.errors import Conflict, Forbidden, InvalidTransition, NotFound, OutOfStock, ValidationFailed
from robodine_edge.types import Role
from tests.actors.conftest import EventLog, Published


@pytest.fixture
def queue(
    supervisor_slot: ActorSlot[SupervisorProxy], store: Writer, journal: Journal, published: Published
) -> ActorSlot[OrderQueueProxy]:
    store.write(lambda: DiningTable.create(name="T1", seats=4)).get(timeout=5)
    spec = ChildSpec[OrderQueueProxy](
        "orders", lambda listener: OrderQueueActor.start(store, journal, published, crash_listener=listener)
    )
    return supervisor_slot.proxy.start_child(spec).get(timeout=5)


@pytest.fixture
def rice_bowl(queue: ActorSlot[OrderQueueProxy]) -> dict[str, Any]:
    """A menu item using 2 rice and 1 egg, with 10 rice and 3 eggs in stock."""
    rice = queue.proxy.create_inventory_item(
        {"name": "rice", "unit": "portion", "count": 10, "max_count": 20, "low_threshold": 4}
    ).get(timeout=5)
    egg = queue.proxy.create_inventory_item(
        {"name": "egg", "unit": "pcs", "count": 3, "max_count": 30, "low_threshold": 1}
    ).get(timeout=5)
    fields = {"name": "Rice bowl", "price_cents": 850, "prepare_time_s": 300, "category": "main"}
    return queue.proxy.create_menu_item(fields, [(rice["id"], 2), (egg["id"], 1)]).get(timeout=5)


def place(queue: ActorSlot[OrderQueueProxy], item_id: int, quantity: int = 1) -> dict[str, Any]:
    return queue.proxy.place(1, [(item_id, quantity, None)], None, None).get(timeout=5).get(timeout=5)


def test_placing_takes_stock_and_cancelling_returns_it(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    order = place(queue, rice_bowl["id"], 2)
    assert order["status"] == "placed" and order["total"] == 17.0 and order["items"][0]["name"] == "Rice bowl"
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == [6, 1]
    assert queue.proxy.queued().get(timeout=5) == [order["id"]]
    queue.proxy.cancel(order["id"], Role.KIOSK).get(timeout=5)
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == [10, 3]
    assert store.write(lambda: [i.count for i in InventoryItem.select().order_by(InventoryItem.id)]).get(timeout=5) == [
        10,
        3,
    ]
    assert queue.proxy.queued().get(timeout=5) == []


def test_not_enough_stock_changes_nothing(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    with pytest.raises(OutOfStock) as caught:
        place(queue, rice_bowl["id"], 4)
    assert caught.value.fields == {"items.0": "not enough egg"}
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == [10, 3]
    assert store.write(lambda: Order.select().count()).get(timeout=5) == 0


def test_unknown_and_disabled_items_are_refused(queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        queue.proxy.place(1, [(rice_bowl["id"], 1, None), (999, 1, None)], None, None).get(timeout=5)
    assert caught.value.fields == {"items.1.menu_item_id": "no such menu item"}
    queue.proxy.update_menu_item(rice_bowl["id"], {"available": False}, None).get(timeout=5)
    with pytest.raises(Conflict):
        place(queue, rice_bowl["id"])


def test_an_unknown_table_is_refused_and_the_reservation_undone(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed):
        queue.proxy.place(42, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5).get(timeout=5)
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == [10, 3]


def held_store(store: Writer) -> threading.Event:
    """Keep the store busy until the returned event is set: what actors hand it meanwhile
    waits in its mailbox, as under load."""
    gate, busy = threading.Event(), threading.Event()

    def hold() -> bool:
        busy.set()
        return gate.wait(5)

    store.write(hold)
    assert busy.wait(5)
    return gate


def test_an_order_for_no_table_never_holds_stock_a_good_order_needs(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    """Three eggs, three bowls: an order for a missing table placed just before, while the
    store is still busy, must not make the valid one run out."""
    gate = held_store(store)
    bad = queue.proxy.place(9999, [(rice_bowl["id"], 3, None)], None, None).get(timeout=5)
    good = queue.proxy.place(1, [(rice_bowl["id"], 3, None)], None, None).get(timeout=5)
    gate.set()
    assert good.get(timeout=5)["status"] == "placed"
    with pytest.raises(ValidationFailed) as caught:
        bad.get(timeout=5)
    assert caught.value.fields == {"table_id": "no such table"}


def test_no_table_and_too_little_stock_is_the_table_error(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed):
        queue.proxy.place(9999, [(rice_bowl["id"], 40, None)], None, None).get(timeout=5).get(timeout=5)


def test_tables_created_or_deleted_after_start(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    """The queue learns new tables through the store; a deleted one is refused by the
    order's own transaction and its reservation given back."""
    new = store.write(lambda: DiningTable.create(name="T2", seats=2).id).get(timeout=5)
    order = queue.proxy.place(new, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5).get(timeout=5)
    assert order["table_id"] == new
    store.write(lambda: DiningTable.delete().where(DiningTable.name == "T1").execute()).get(timeout=5)
    with pytest.raises(ValidationFailed):
        place(queue, rice_bowl["id"])
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == [8, 2]
    with pytest.raises(ValidationFailed):
        place(queue, rice_bowl["id"])
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == [8, 2]


def db_counts(store: Writer) -> list[int]:
    return store.write(lambda: [i.count for i in InventoryItem.select().order_by(InventoryItem.id)]).get(timeout=5)


def test_a_failed_order_gives_back_only_its_own_reservation(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    """Table 1 is deleted behind the queue's back: its order fails in its transaction while
    a good order is in flight beside it."""
    other = store.write(lambda: DiningTable.create(name="T2", seats=2).id).get(timeout=5)
    queue.proxy.place(other, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5).get(timeout=5)
    store.write(lambda: DiningTable.delete().where(DiningTable.id == 1).execute()).get(timeout=5)
    gate = held_store(store)
    doomed = queue.proxy.place(1, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5)
    good = queue.proxy.place(other, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5)
    gate.set()
    assert good.get(timeout=5)["table_id"] == other
    with pytest.raises(ValidationFailed):
        doomed.get(timeout=5)
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == db_counts(store) == [6, 1]


def test_a_retry_queued_behind_its_first_try_places_nothing_and_gets_its_answer(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    """The tablet's first try timed out (its unit still queued at the store) and the
    retry, with the same key, found no answer yet. The retry's own unit checks the key
    again: it creates nothing, gives its reservation back and carries the first answer."""
    claim = IdempotencyClaim("7:POST /api/orders", "tablet-3-order-1", "hash")
    gate = held_store(store)
    first = queue.proxy.place(1, [(rice_bowl["id"], 1, None)], None, claim).get(timeout=5)
    retry = queue.proxy.place(1, [(rice_bowl["id"], 1, None)], None, claim).get(timeout=5)
    gate.set()
    placed = first.get(timeout=5)
    with pytest.raises(KeyDecided) as decided:
        retry.get(timeout=5)
    assert decided.value.replay.status == 201 and orjson.loads(decided.value.replay.response) == placed
    assert store.write(lambda: Order.select().count()).get(timeout=5) == 1
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == db_counts(store) == [8, 2]


def test_the_first_answer_of_a_key_stays(store: Writer) -> None:
    claim = IdempotencyClaim("7:POST /api/tables", "k", "hash")
    first = store.write(idempotency.remember, claim, 201, b'{"id": 1}').get(timeout=5)
    later = store.write(idempotency.remember, claim, 409, b'{"error": {}}').get(timeout=5)
    assert first == later == idempotency.Replay("hash", 201, b'{"id": 1}')


def test_memory_takes_the_database_counts_if_they_ever_disagree(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    """Eggs taken behind the queue's back: the database refuses the order, and memory
    follows it from then on."""
    store.write(lambda: InventoryItem.update(count=0).where(InventoryItem.name == "egg").execute()).get(timeout=5)
    with pytest.raises(OutOfStock):
        place(queue, rice_bowl["id"])
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == db_counts(store) == [10, 0]
    assert queue.proxy.get_menu_item(rice_bowl["id"]).get(timeout=5)["sold_out"] is True


def test_only_a_table_gone_is_looked_up_again_after_a_failed_order(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    """A known table's order reserves at once, before the store answers; an unknown one's
    waits for the store to find the table. An order refused for stock leaves its table
    known; one refused because the table was deleted makes it unknown."""
    table = store.write(lambda: DiningTable.create(name="T2", seats=2).id).get(timeout=5)

    def reserved_at_once(*, deleted_first: bool = False) -> bool:
        before = [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)]
        gate = held_store(store)
        if deleted_first:  # queued ahead of the order's own unit
            store.write(lambda: DiningTable.delete().where(DiningTable.id == table).execute())
        pending = queue.proxy.place(table, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5)
        reserved = [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] != before
        gate.set()
        with pytest.raises(ValidationFailed):
            pending.get(timeout=5)
        return reserved

    store.write(lambda: InventoryItem.update(count=0).where(InventoryItem.name == "egg").execute()).get(timeout=5)
    with pytest.raises(OutOfStock):  # the table is learned, then the database refuses the stock
        queue.proxy.place(table, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5).get(timeout=5)
    queue.proxy.restock(rice_bowl["ingredients"][1]["inventory_id"], 3).get(timeout=5)
    assert reserved_at_once(deleted_first=True)
    assert not reserved_at_once()
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == db_counts(store) == [10, 3]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda queue, egg: queue.proxy.restock(egg, 5), [8, 7]),
        (lambda queue, egg: queue.proxy.update_inventory_item(egg, {"count": 10}), [8, 10]),
    ],
    ids=["restock", "count-correction"],
)
def test_stock_changed_while_an_order_is_in_flight_is_kept(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer, change: Any, expected: list[int]
) -> None:
    """The order's commit comes back after the change: it must not put back the count the
    database had before the change."""
    egg = rice_bowl["ingredients"][1]["inventory_id"]
    gate = held_store(store)
    placed = queue.proxy.place(1, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5)
    changed = change(queue, egg)
    gate.set()
    placed.get(timeout=5)
    assert changed.get(timeout=5)["count"] == expected[1]
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == db_counts(store) == expected


def test_a_cancel_while_another_order_is_in_flight_is_kept(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    first = place(queue, rice_bowl["id"])
    gate = held_store(store)
    second = queue.proxy.place(1, [(rice_bowl["id"], 1, None)], None, None).get(timeout=5)
    cancelled = queue.proxy.cancel(first["id"], Role.STAFF)
    gate.set()
    second.get(timeout=5)
    assert cancelled.get(timeout=5)["status"] == "cancelled"
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == db_counts(store) == [8, 2]


def test_the_menu_goes_sold_out_with_its_ingredient(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], published: Published
) -> None:
    for _ in range(3):
        place(queue, rice_bowl["id"])
    item = queue.proxy.get_menu_item(rice_bowl["id"]).get(timeout=5)
    assert item["available"] is False and item["sold_out"] is True
    assert published.wait_for(lambda t, k, d: t == "events" and d["type"] == "out_of_stock")
    assert any(d["type"] == "low_stock" for d in published.topic("events"))
    queue.proxy.restock(rice_bowl["ingredients"][1]["inventory_id"], 5).get(timeout=5)
    assert queue.proxy.get_menu_item(rice_bowl["id"]).get(timeout=5)["available"] is True


def menu_news(published: Published, start: int = 0) -> list[tuple[str, int, bool | None]]:
    """The `menu` topic from `start` on, as (kind, dish id, available)."""
    return [(k, d["id"], d.get("available")) for t, k, d in published.items[start:] if t == "menu"]


def test_the_menu_topic_follows_every_dish_and_its_availability(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], published: Published
) -> None:
    """Three eggs, one a bowl: the third order flips the bowl off at once, a cancel and a
    restock flip it back; no message while it stays as it was."""
    bowl = rice_bowl["id"]
    assert menu_news(published) == [("upsert", bowl, True)]
    start = len(published.items)
    first, _, third = (place(queue, bowl) for _ in range(3))
    assert menu_news(published, start) == [("upsert", bowl, False)]
    assert published.topic("menu")[-1] == queue.proxy.get_menu_item(bowl).get(timeout=5)
    queue.proxy.cancel(third["id"], Role.KIOSK).get(timeout=5)
    assert menu_news(published, start)[1:] == [("upsert", bowl, True)]
    place(queue, bowl)
    egg = rice_bowl["ingredients"][1]["inventory_id"]
    queue.proxy.restock(egg, 5).get(timeout=5)
    queue.proxy.update_inventory_item(egg, {"count": 0}).get(timeout=5)
    assert menu_news(published, start)[2:] == [("upsert", bowl, False), ("upsert", bowl, True), ("upsert", bowl, False)]
    start = len(published.items)
    queue.proxy.cancel(first["id"], Role.KIOSK).get(timeout=5)  # an egg back, for the switch below
    queue.proxy.update_menu_item(bowl, {"available": False}, None).get(timeout=5)
    queue.proxy.delete_menu_item(bowl).get(timeout=5)
    assert menu_news(published, start) == [("upsert", bowl, True), ("upsert", bowl, False), ("delete", bowl, None)]


def test_a_failed_order_flips_back_what_its_reservation_flipped(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer, published: Published
) -> None:
    """The last eggs are reserved by an order whose table is gone: the bowl is announced
    sold out while the order is in flight, and available again when it fails."""
    store.write(lambda: DiningTable.delete().where(DiningTable.id == 1).execute()).get(timeout=5)
    start = len(published.items)
    gate = held_store(store)
    doomed = queue.proxy.place(1, [(rice_bowl["id"], 3, None)], None, None).get(timeout=5)
    assert published.wait_for(lambda t, k, d: t == "menu" and d["available"] is False)
    gate.set()
    with pytest.raises(ValidationFailed):
        doomed.get(timeout=5)
    assert published.wait_for(lambda t, k, d: menu_news(published, start)[1:] == [("upsert", rice_bowl["id"], True)])
    assert queue.proxy.list_menu().get(timeout=5) == [published.topic("menu")[-1]]


def test_shelves_created_or_changed_into_low_or_empty_raise_their_events(
    queue: ActorSlot[OrderQueueProxy], published: Published
) -> None:
    def shelf(name: str, count: int, low: int) -> int:
        fields = {"name": name, "unit": "pcs", "count": count, "max_count": 10, "low_threshold": low}
        return queue.proxy.create_inventory_item(fields).get(timeout=5)["id"]

    empty, low, full = shelf("salt", 0, 0), shelf("basil", 2, 5), shelf("flour", 9, 2)
    queue.proxy.update_inventory_item(full, {"low_threshold": 10}).get(timeout=5)
    queue.proxy.update_inventory_item(low, {"name": "thai basil"}).get(timeout=5)  # still low: no new event
    raised = [(d["type"], int(d["entity_id"])) for d in published.topic("events")]
    assert raised == [("out_of_stock", empty), ("low_stock", low), ("low_stock", full)]


def test_the_lifecycle_and_its_rules(queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any]) -> None:
    order = place(queue, rice_bowl["id"])
    for status in ("cooking", "ready", "serving", "served"):
        assert queue.proxy.set_status(order["id"], OrderStatus(status), Role.STAFF).get(timeout=5)["status"] == status
    with pytest.raises(InvalidTransition):
        queue.proxy.cancel(order["id"], Role.STAFF).get(timeout=5)
    cooking = place(queue, rice_bowl["id"])
    queue.proxy.set_status(cooking["id"], OrderStatus.COOKING, Role.STAFF).get(timeout=5)
    with pytest.raises(Forbidden):
        queue.proxy.cancel(cooking["id"], Role.KIOSK).get(timeout=5)
    queue.proxy.cancel(cooking["id"], Role.STAFF).get(timeout=5)
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == [6, 1]  # used while cooking
    with pytest.raises(NotFound):
        queue.proxy.cancel(12345, Role.STAFF).get(timeout=5)


def published_since(published: Published, start: int) -> list[tuple[str, str, Any]]:
    """What was published from `start` on, as (topic, kind, the order's status or the event's type)."""
    return [(t, k, d.get("status", d.get("type"))) for t, k, d in published.items[start:]]


def test_advance_walks_every_step_as_set_status_does(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer, published: Published
) -> None:
    """A robot's `done` with no `started`: one ask takes the order through each legal step,
    written, announced and recorded exactly as one `set_status` per step."""
    by_steps, walked = place(queue, rice_bowl["id"]), place(queue, rice_bowl["id"])
    assert queue.proxy.queued().get(timeout=5) == [by_steps["id"], walked["id"]]  # both announced
    start = len(published.items)
    for status in (OrderStatus.COOKING, OrderStatus.READY):
        queue.proxy.set_status(by_steps["id"], status, Role.ADMIN).get(timeout=5)
    middle = len(published.items)
    moved = queue.proxy.advance(walked["id"], OrderStatus.READY).get(timeout=5)
    assert moved is not None and moved["status"] == "ready" and moved["id"] == walked["id"]
    assert published_since(published, middle) == published_since(published, start)[: middle - start]
    assert [e for t, _, e in published_since(published, middle) if t == "events"] == ["order_status"] * 2
    assert store.write(get_order, walked["id"]).get(timeout=5) == moved
    assert queue.proxy.queued().get(timeout=5) == []


def test_advance_leaves_an_order_at_or_past_its_target_and_skips_one_no_longer_active(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], published: Published
) -> None:
    order = place(queue, rice_bowl["id"])
    ready = queue.proxy.advance(order["id"], OrderStatus.READY).get(timeout=5)
    start = len(published.items)
    assert queue.proxy.advance(order["id"], OrderStatus.READY).get(timeout=5) == ready
    assert queue.proxy.advance(order["id"], OrderStatus.COOKING).get(timeout=5) == ready
    assert published.items[start:] == []
    served = queue.proxy.advance(order["id"], OrderStatus.SERVED).get(timeout=5)
    assert served is not None and served["status"] == "served"
    assert queue.proxy.advance(order["id"], OrderStatus.SERVED).get(timeout=5) is None
    cancelled = place(queue, rice_bowl["id"])
    queue.proxy.cancel(cancelled["id"], Role.STAFF).get(timeout=5)
    assert queue.proxy.advance(cancelled["id"], OrderStatus.READY).get(timeout=5) is None
    assert queue.proxy.advance(12345, OrderStatus.READY).get(timeout=5) is None


def test_advance_raises_a_step_the_store_refuses(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    order = place(queue, rice_bowl["id"])
    store.write(lambda: Order.delete().where(Order.id == order["id"]).execute()).get(timeout=5)
    with pytest.raises(NotFound):
        queue.proxy.advance(order["id"], OrderStatus.READY).get(timeout=5)


def test_flag_tells_staff_and_announces_the_order(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer, published: Published
) -> None:
    order = place(queue, rice_bowl["id"])
    assert queue.proxy.queued().get(timeout=5) == [order["id"]]  # announced
    start = len(published.items)
    flagged = queue.proxy.flag(order["id"], "the arm dropped it").get(timeout=5)
    assert flagged is not None and flagged["flagged"] is True and flagged["flag_reason"] == "the arm dropped it"
    assert published_since(published, start) == [("events", "upsert", "order_unserved"), ("orders", "upsert", "placed")]
    assert published.topic("orders")[-1] == flagged == store.write(get_order, order["id"]).get(timeout=5)
    assert queue.proxy.active_orders().get(timeout=5) == [flagged]
    queue.proxy.cancel(order["id"], Role.STAFF).get(timeout=5)
    assert queue.proxy.flag(order["id"], "too late").get(timeout=5) is None


def test_unflag_gives_the_order_back_in_memory_too(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer, published: Published
) -> None:
    order = place(queue, rice_bowl["id"])
    queue.proxy.flag(order["id"], "the arm dropped it").get(timeout=5)
    retried = queue.proxy.unflag(order["id"]).get(timeout=5)
    assert retried is not None and (retried["flagged"], retried["flag_reason"]) == (False, None)
    stored = store.write(get_order, order["id"]).get(timeout=5)
    assert queue.proxy.active_orders().get(timeout=5) == [retried] == [stored]
    assert published.topic("orders")[-1] == retried


def test_fifty_concurrent_orders_for_the_last_portions(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def order() -> None:
        try:
            place(queue, rice_bowl["id"])
            outcome = "placed"
        except OutOfStock:
            outcome = "out_of_stock"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=order) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("placed") == 3 and results.count("out_of_stock") == 47
    counts = store.write(lambda: [i.count for i in InventoryItem.select().order_by(InventoryItem.id)]).get(timeout=5)
    assert counts == [4, 0]


def test_a_crashed_queue_reloads_orders_and_stock(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], events: EventLog
) -> None:
    order = place(queue, rice_bowl["id"])
    queue.proxy.restock.defer(999, 1)  # NotFound escaping a tell handler: the actor dies
    assert events.wait_for(1)
    assert queue.proxy.queued().get(timeout=5) == [order["id"]]
    assert [i["count"] for i in queue.proxy.list_inventory().get(timeout=5)] == [8, 2]
    assert queue.proxy.active_orders().get(timeout=5)[0]["id"] == order["id"]


def test_a_restarted_queue_announces_the_whole_menu(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], events: EventLog, published: Published
) -> None:
    """Screens that followed the crashed queue are set right by its successor."""
    start = len(published.items)
    queue.proxy.restock.defer(999, 1)  # NotFound escaping a tell handler: the actor dies
    assert events.wait_for(1)
    queue.proxy.queued().get(timeout=5)
    assert menu_news(published, start) == [("upsert", rice_bowl["id"], True)]


def test_the_fast_path_order_equals_what_the_database_holds(
    queue: ActorSlot[OrderQueueProxy], rice_bowl: dict[str, Any], store: Writer
) -> None:
    """Placing builds its JSON from what it wrote; it must match reading the order back."""
    placed = (
        queue.proxy.place(1, [(rice_bowl["id"], 2, "no egg"), (rice_bowl["id"], 1, None)], None, None)
        .get(timeout=5)
        .get(timeout=5)
    )
    assert placed == store.write(get_order, placed["id"]).get(timeout=5)

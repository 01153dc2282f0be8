"""The floor and its tables: seating, the waiting list, restarts."""

from __future__ import annotations

from typing import Any, cast

import pytest

from robodine_edge.actors.dining.floor import FloorActor, FloorProxy, TableDirectory, table_actor_name
from robodine_edge.actors.dining.table import TableActor, TableProxy
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, SupervisorProxy
from robodine_edge.domain.lifecycle import TableStatus
from robodine_edge.errors import Conflict, InvalidTransition, NotFound
from tests.actors.conftest import EventLog, Published


@pytest.fixture
def floor(supervisor_slot: ActorSlot[SupervisorProxy], store: Writer, published: Published) -> ActorSlot[FloorProxy]:
    directory = TableDirectory()

    def table_spec(table_id: int) -> ChildSpec[TableProxy]:
        return ChildSpec[TableProxy](
            table_actor_name(table_id),
            lambda listener: TableActor.start(table_id, store, published, crash_listener=listener),
        )

    spec = ChildSpec[FloorProxy](
        "floor",
        lambda listener: FloorActor.start(
            store, supervisor_slot, directory, table_spec, published, crash_listener=listener
        ),
    )
    return supervisor_slot.proxy.start_child(spec).get(timeout=5)


def add_table(floor: ActorSlot[FloorProxy], name: str, seats: int) -> dict[str, Any]:
    return floor.proxy.create_table(
        {"name": name, "seats": seats, "x": 0.0, "y": 0.0, "width": 1.0, "height": 1.0}
    ).get(timeout=5)


def test_a_party_is_seated_at_the_smallest_free_table_that_fits(floor: ActorSlot[FloorProxy]) -> None:
    big, small = add_table(floor, "Big", 6), add_table(floor, "Small", 2)
    party = floor.proxy.add_party(2, "Kim").get(timeout=5)
    assert party["status"] == "seated" and party["table_id"] == small["id"]
    assert party["position"] is None and party["estimated_wait_s"] is None
    assert floor.proxy.get_table(small["id"]).get(timeout=5)["party_id"] == party["id"]
    assert floor.proxy.get_table(big["id"]).get(timeout=5)["status"] == "available"


def test_waiting_parties_are_seated_when_a_table_is_cleaned(floor: ActorSlot[FloorProxy], published: Published) -> None:
    table = add_table(floor, "Only", 4)
    first = floor.proxy.add_party(4, None).get(timeout=5)
    second = floor.proxy.add_party(2, None).get(timeout=5)
    third = floor.proxy.add_party(3, None).get(timeout=5)
    assert (second["status"], second["position"]) == ("waiting", 1)
    assert (third["status"], third["position"]) == ("waiting", 2)
    assert third["estimated_wait_s"] > second["estimated_wait_s"] > 0
    assert floor.proxy.release(table["id"]).get(timeout=5)["status"] == "cleaning"
    assert floor.proxy.cleaned(table["id"]).get(timeout=5)["party_id"] == second["id"]
    info = floor.proxy.waiting_info().get(timeout=5)
    assert info[third["id"]][0] == 1
    assert any(d["id"] == first["id"] and d["status"] == "left" for d in published.topic("customers"))


def test_a_new_or_bigger_table_seats_the_waiting(floor: ActorSlot[FloorProxy]) -> None:
    table = add_table(floor, "Two", 2)
    assert floor.proxy.add_party(2, None).get(timeout=5)["status"] == "seated"
    waiting = floor.proxy.add_party(2, None).get(timeout=5)
    assert waiting["status"] == "waiting"
    added = add_table(floor, "Another", 2)
    assert added["status"] == "occupied" and added["party_id"] == waiting["id"]
    assert floor.proxy.update_table(table["id"], {"seats": 6}).get(timeout=5)["seats"] == 6


def test_a_party_bigger_than_every_table_waits_until_one_fits(floor: ActorSlot[FloorProxy]) -> None:
    """SPEC: not refused, but `waiting` in arrival order (no estimate: no table seats it),
    seated once a table that fits is created or grows; smaller parties behind it are
    seated meanwhile."""
    table = add_table(floor, "Four", 4)
    big = floor.proxy.add_party(5, None).get(timeout=5)
    assert (big["status"], big["position"], big["estimated_wait_s"]) == ("waiting", 1, None)
    small = floor.proxy.add_party(2, None).get(timeout=5)
    assert small["status"] == "seated" and small["table_id"] == table["id"]
    other = add_table(floor, "Two", 2)
    assert other["status"] == "available"
    grown = floor.proxy.update_table(other["id"], {"seats": 6}).get(timeout=5)
    assert grown["status"] == "occupied" and grown["party_id"] == big["id"]
    assert floor.proxy.waiting_info().get(timeout=5) == {}


def test_with_no_tables_every_party_waits_and_the_first_table_seats_one(floor: ActorSlot[FloorProxy]) -> None:
    first = floor.proxy.add_party(2, None).get(timeout=5)
    second = floor.proxy.add_party(3, None).get(timeout=5)
    assert [(p["status"], p["position"], p["estimated_wait_s"]) for p in (first, second)] == [
        ("waiting", 1, None),
        ("waiting", 2, None),
    ]
    table = add_table(floor, "First", 4)
    assert table["status"] == "occupied" and table["party_id"] == first["id"]
    expected: dict[int, Any] = {second["id"]: (1, pytest.approx(2700 + 300, abs=5))}
    assert floor.proxy.waiting_info().get(timeout=5) == expected


def test_staff_seat_by_hand_and_the_rules_hold(floor: ActorSlot[FloorProxy]) -> None:
    table = add_table(floor, "Hand", 4)
    floor.proxy.set_status(table["id"], TableStatus.RESERVED).get(timeout=5)
    party = floor.proxy.add_party(4, None).get(timeout=5)
    assert party["status"] == "waiting"  # reserved tables are not given out automatically
    seated = floor.proxy.seat(table["id"], party["id"]).get(timeout=5)
    assert seated["status"] == "occupied" and seated["party_id"] == party["id"]
    with pytest.raises(InvalidTransition):
        floor.proxy.seat(table["id"], party["id"]).get(timeout=5)
    small = add_table(floor, "Small", 2)
    other = floor.proxy.add_party(4, None).get(timeout=5)
    with pytest.raises(Conflict):
        floor.proxy.seat(small["id"], other["id"]).get(timeout=5)
    with pytest.raises(NotFound):
        floor.proxy.seat(small["id"], 999).get(timeout=5)
    with pytest.raises(InvalidTransition):
        floor.proxy.cleaned(table["id"]).get(timeout=5)


def test_leaving_frees_the_party_or_its_table(floor: ActorSlot[FloorProxy]) -> None:
    table = add_table(floor, "T", 2)
    seated = floor.proxy.add_party(2, None).get(timeout=5)
    waiting = floor.proxy.add_party(2, None).get(timeout=5)
    assert floor.proxy.party_leaves(waiting["id"]).get(timeout=5)["status"] == "left"
    assert floor.proxy.party_leaves(seated["id"]).get(timeout=5)["status"] == "left"
    assert floor.proxy.get_table(table["id"]).get(timeout=5)["status"] == "cleaning"
    with pytest.raises(InvalidTransition):
        floor.proxy.party_leaves(seated["id"]).get(timeout=5)
    with pytest.raises(NotFound):
        floor.proxy.party_leaves(999).get(timeout=5)


def test_a_table_cannot_shrink_under_its_seated_party(floor: ActorSlot[FloorProxy]) -> None:
    table = add_table(floor, "Long", 10)
    floor.proxy.add_party(8, None).get(timeout=5)
    with pytest.raises(Conflict, match="party of 8"):
        floor.proxy.update_table(table["id"], {"seats": 2}).get(timeout=5)
    assert floor.proxy.get_table(table["id"]).get(timeout=5)["seats"] == 10
    assert floor.proxy.update_table(table["id"], {"seats": 8}).get(timeout=5)["seats"] == 8
    floor.proxy.release(table["id"]).get(timeout=5)
    assert floor.proxy.update_table(table["id"], {"seats": 2}).get(timeout=5)["seats"] == 2


def test_tables_in_use_cannot_be_deleted(floor: ActorSlot[FloorProxy]) -> None:
    table = add_table(floor, "Busy", 2)
    floor.proxy.add_party(2, None).get(timeout=5)
    with pytest.raises(Conflict):
        floor.proxy.delete_table(table["id"]).get(timeout=5)
    free = add_table(floor, "Free", 2)
    assert floor.proxy.delete_table(free["id"]).get(timeout=5) == []
    with pytest.raises(NotFound):
        floor.proxy.get_table(free["id"]).get(timeout=5)


def test_crashed_floor_and_table_come_back_with_their_state(
    floor: ActorSlot[FloorProxy], supervisor_slot: ActorSlot[SupervisorProxy], events: EventLog
) -> None:
    table = add_table(floor, "Persist", 2)
    seated = floor.proxy.add_party(2, "A").get(timeout=5)
    waiting = floor.proxy.add_party(2, "B").get(timeout=5)
    table_slot = cast(
        ActorSlot[TableProxy], supervisor_slot.proxy.children().get(timeout=5)[table_actor_name(table["id"])]
    )
    first_table = table_slot.ref
    table_slot.proxy.cleaned.defer()  # an error escaping a tell handler kills the actor
    assert events.wait_for(1) and events[0].actor == table_actor_name(table["id"])
    floor.proxy.cleaned.defer(table["id"])
    assert events.wait_for(2) and events[1].actor == "floor"
    assert table_slot.ref is not first_table
    assert floor.proxy.get_table(table["id"]).get(timeout=5)["party_id"] == seated["id"]
    assert table_slot.proxy.snapshot().get(timeout=5).status is TableStatus.OCCUPIED
    expected: dict[int, Any] = {waiting["id"]: (1, pytest.approx(2700 + 300, abs=5))}
    assert floor.proxy.waiting_info().get(timeout=5) == expected

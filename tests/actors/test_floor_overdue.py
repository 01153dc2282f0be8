"""Parties that wait or sit far longer than plausible: reported to staff, once per party."""

from __future__ import annotations

import time

import pytest

from robodine_edge.actors.dining.floor import FloorActor, FloorProxy, FloorTick, TableDirectory, table_actor_name
from robodine_edge.actors.dining.table import TableActor, TableProxy
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, SupervisorProxy
from robodine_edge.auth.accounts import create_user
from robodine_edge.data.models import Event, Notification
from robodine_edge.data.settings import load_settings, update_settings
from robodine_edge.types import Role
from tests.actors.conftest import EventLog, Published

WAITING_LONG_S = 600
OVERSTAY_S = 3600


class Clock:
    """The floor's clock, moved by the test: real time plus an offset."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def floor(
    supervisor_slot: ActorSlot[SupervisorProxy], store: Writer, published: Published, clock: Clock
) -> ActorSlot[FloorProxy]:
    thresholds = {"party_waiting_long_s": WAITING_LONG_S, "party_overstay_s": OVERSTAY_S}
    store.write(update_settings, thresholds).get(timeout=5)
    store.write(create_user, "staff-1", "not a real hash", Role.STAFF, None).get(timeout=5)
    directory = TableDirectory()

    def table_spec(table_id: int) -> ChildSpec[TableProxy]:
        return ChildSpec[TableProxy](
            table_actor_name(table_id),
            lambda listener: TableActor.start(table_id, store, published, crash_listener=listener),
        )

    spec = ChildSpec[FloorProxy](
        "floor",
        lambda listener: FloorActor.start(
            store, supervisor_slot, directory, table_spec, published, crash_listener=listener, clock=clock
        ),
    )
    return supervisor_slot.proxy.start_child(spec).get(timeout=5)


def ticks(floor: ActorSlot[FloorProxy], store: Writer, count: int = 3) -> None:
    """`count` ticks handled and what they recorded committed: the floor answers an ask
    only after the ticks before it, and the store commits in the order it was handed."""
    for _ in range(count):
        floor.tell(FloorTick())
    floor.proxy.open_parties().get(timeout=5)
    store.write(lambda: None).get(timeout=5)


def reported(store: Writer) -> list[tuple[str, int, str]]:
    """(type, party id, level) of every overdue-party event, in the order written."""

    def read() -> list[tuple[str, int, str]]:
        query = Event.select().where(Event.type.in_(("party_waiting_long", "party_overstayed"))).order_by(Event.id)
        return [(e.type, int(str(e.entity_id)), e.level) for e in query if e.entity_type == "customer"]

    return store.write(read).get(timeout=5)


def notified(store: Writer) -> list[str]:
    return store.write(lambda: [n.type for n in Notification.select().order_by(Notification.id)]).get(timeout=5)


def test_a_party_past_a_threshold_is_reported_once_and_the_others_not(
    floor: ActorSlot[FloorProxy], store: Writer, clock: Clock, published: Published
) -> None:
    floor.proxy.create_table({"name": "T1", "seats": 2, "x": 0.0, "y": 0.0, "width": 1.0, "height": 1.0}).get(timeout=5)
    seated = floor.proxy.add_party(2, "Kim").get(timeout=5)
    waiting = floor.proxy.add_party(2, "Lee").get(timeout=5)
    assert (seated["status"], waiting["status"]) == ("seated", "waiting")

    clock.offset = WAITING_LONG_S - 30  # nobody is past a threshold yet
    ticks(floor, store)
    assert reported(store) == []

    clock.offset = WAITING_LONG_S + 1  # the waiting party is; the seated one is not
    ticks(floor, store)
    assert reported(store) == [("party_waiting_long", waiting["id"], "warning")]
    assert notified(store) == ["party_waiting_long"]  # the one staff user
    assert published.wait_for(lambda t, k, d: t == "notifications" and d["type"] == "party_waiting_long")
    event = next(d for d in published.topic("events") if d["type"] == "party_waiting_long")
    assert (event["entity_type"], event["entity_id"]) == ("customer", waiting["id"])
    assert event["message"].startswith("Lee (party of 2) has waited 10 min")

    clock.offset = OVERSTAY_S + 1  # now the seated party too, and the waiting one not again
    ticks(floor, store)
    assert reported(store) == [
        ("party_waiting_long", waiting["id"], "warning"),
        ("party_overstayed", seated["id"], "warning"),
    ]
    assert notified(store) == ["party_waiting_long", "party_overstayed"]
    overstayed = next(d for d in published.topic("events") if d["type"] == "party_overstayed")
    assert overstayed["message"] == "Kim (party of 2) has sat at table T1 for 1 h 00 min"


def test_a_restarted_floor_does_not_report_a_party_again(
    floor: ActorSlot[FloorProxy],
    store: Writer,
    clock: Clock,
    supervisor_slot: ActorSlot[SupervisorProxy],
    events: EventLog,
) -> None:
    waiting = floor.proxy.add_party(3, None).get(timeout=5)  # no table at all: it waits
    clock.offset = WAITING_LONG_S + 1
    ticks(floor, store)
    assert reported(store) == [("party_waiting_long", waiting["id"], "warning")]
    first = supervisor_slot.proxy.children().get(timeout=5)["floor"].ref
    floor.proxy.cleaned.defer(12345)  # an error escaping a tell handler: the floor restarts
    assert events.wait_for(1) and events[0].actor == "floor"
    assert floor.ref is not first
    ticks(floor, store)
    assert reported(store) == [("party_waiting_long", waiting["id"], "warning")]
    late = floor.proxy.add_party(1, None).get(timeout=5)  # a party the new instance first sees
    ticks(floor, store)
    assert reported(store)[-1] == ("party_waiting_long", late["id"], "warning")


def test_a_threshold_of_zero_reports_nothing(floor: ActorSlot[FloorProxy], store: Writer, clock: Clock) -> None:
    store.write(update_settings, {"party_waiting_long_s": 0}).get(timeout=5)
    floor.proxy.settings_changed(store.write(load_settings).get(timeout=5)).get(timeout=5)
    floor.proxy.add_party(2, None).get(timeout=5)
    clock.offset = 7 * 86400
    ticks(floor, store)
    assert reported(store) == []

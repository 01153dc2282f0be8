"""The wire as HQ reads it: topics and bodies (pure functions)."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from robodine_edge.errors import NotFound, ValidationFailed
from robodine_edge.hq.cfg import CfgKind, cfg_kind, check_cfg
from robodine_edge.hq.messages import (
    Address,
    BadMessage,
    Kind,
    parse_event,
    parse_status,
    parse_topic,
    subscriptions,
)

EVENT_ID = "0b6f5a0e-5d5c-4c41-9d1c-2f1d7f7f7f01"


def body(**changes: object) -> bytes:
    event = {"event_id": EVENT_ID, "seq": 3, "store": "s1", "type": "order_placed",
             "occurred_at": "2026-11-26T09:00:00.123Z", "data": {"id": 9}}  # fmt: skip
    event.update(changes)
    return orjson.dumps(event)


def test_topics() -> None:
    assert parse_topic("acme", "robodine/v1/acme/s1/evt/order_placed") == Address("s1", Kind.EVENT, "order_placed")
    assert parse_topic("acme", "robodine/v1/acme/s1/status") == Address("s1", Kind.STATUS)
    assert parse_topic("acme", "robodine/v1/acme/s1/state/robots/alba-1") == Address("s1", Kind.ROBOT, "alba-1")
    others = [
        "robodine/v1/rival/s1/status",
        "robodine/v1/acme/s1/ack",
        "robodine/v1/acme/all/status",
        "robodine/v1/acme/s1/cfg/menu",
        "robodine/v1/acme/s1/evt/a/b",
        "robodine/v1/acme/s1/state/robots/..",
    ]
    for other in others:
        assert parse_topic("acme", other) is None, other
    assert subscriptions("acme")[0] == ("$share/robodine-hq-acme/robodine/v1/acme/+/evt/#", 1)


def test_an_event_and_the_order_it_carries() -> None:
    order = {"id": 7, "status": "placed", "total": 12.3, "created_at": "2026-11-26T08:59:00.000Z", "items": []}
    event = parse_event(Address("s1", Kind.EVENT, "order_placed"), body(data={"id": 9, "order": order}))
    assert (event.store, event.seq, event.event_id, event.type) == ("s1", 3, EVENT_ID, "order_placed")
    assert event.occurred_at == datetime(2026, 11, 26, 9, 0, 0, 123000)
    assert event.order is not None and (event.order.order_id, event.order.total_cents) == (7, 1230)
    assert parse_event(Address("s1", Kind.EVENT, "order_placed"), body()).order is None


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": "nope"},
        {"seq": 0},
        {"seq": "3"},
        {"seq": True},
        {"store": "s2"},
        {"type": "other"},
        {"data": [1]},
        {"occurred_at": "yesterday"},
    ],
)
def test_a_body_that_breaks_the_wire_format_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(BadMessage):
        parse_event(Address("s1", Kind.EVENT, "order_placed"), body(**changes))


def test_nul_in_an_event_is_replaced_so_postgresql_can_store_it() -> None:
    event = parse_event(Address("s1", Kind.EVENT, "order_placed"), body(data={"message": "a\u0000b"}))
    assert event.data == {"message": "a\ufffdb"}


def test_statuses() -> None:
    online = parse_status(b'{"online": true, "version": "1.0", "boot_id": "b", "backlog": 4, "at": "x"}')
    assert (online.online, online.version, online.backlog) == (True, "1.0", 4)
    offline = parse_status(b'{"online": false, "boot_id": "b", "at": "x"}')
    assert (offline.online, offline.version, offline.backlog) == (False, None, None)
    for bad in (b"[]", b"{}", b'{"online": "yes"}', b"not json"):
        with pytest.raises(BadMessage):
            parse_status(bad)


def test_cfg_checks() -> None:
    assert cfg_kind("menu") is CfgKind.MENU
    with pytest.raises(NotFound):
        cfg_kind("prices")
    menu = {"version": 1, "items": [{"name": "Tea", "price": 2.5}]}
    assert check_cfg(CfgKind.MENU, menu) is menu
    assert check_cfg(CfgKind.SETTINGS, {"version": 0, "store_name": "Acme Central"})
    bad_ones = [
        (CfgKind.MENU, {"version": 1}),
        (CfgKind.MENU, {"version": 1, "items": [{"name": ""}]}),
        (CfgKind.SETTINGS, {"version": 2**63}),
        (CfgKind.SETTINGS, {"version": 1, "battery_low": 101}),
    ]
    for kind, bad in bad_ones:
        with pytest.raises(ValidationFailed):
            check_cfg(kind, bad)

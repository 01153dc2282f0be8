"""The wire format's codecs: topics both ways, bodies, and refusals of bad input."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from robodine_edge.protocol import mqtt as wire
from robodine_edge.protocol.mqtt import MenuCfg, MenuLine, SettingsCfg, Topic, WireError

IDS = st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True)


@given(IDS, IDS, IDS)
def test_every_topic_parses_back_into_its_parts(chain: str, store: str, name: str) -> None:
    assert wire.parse_topic(wire.status_topic(chain, store)) == Topic(chain, store, "status", "")
    assert wire.parse_topic(wire.ack_topic(chain, store)) == Topic(chain, store, "ack", "")
    assert wire.parse_topic(wire.evt_topic(chain, store, name)) == Topic(chain, store, "evt", name)
    assert wire.parse_topic(wire.robot_topic(chain, store, name)) == Topic(chain, store, "state", name)
    assert wire.parse_topic(wire.cfg_topic(chain, store, name)) == Topic(chain, store, "cfg", name)
    assert wire.parse_topic(wire.cfg_ack_topic(chain, store, name)) == Topic(chain, store, "cfg-ack", name)


@pytest.mark.parametrize(
    "topic",
    ["robodine/v2/a/s/status", "robodine/v1/a/s", "robodine/v1/a/s/evt", "robodine/v1/a/s/evt/x/y",
     "robodine/v1/a/s/state/robots", "robodine/v1/a/s/status/x", "robodine/v1//s/status", "other"],
)  # fmt: skip
def test_other_topics_are_not_ours(topic: str) -> None:
    assert wire.parse_topic(topic) is None


def test_bodies_have_exactly_the_documented_keys() -> None:
    assert orjson.loads(wire.status_online("1.0", "b", 3, "t")) == {
        "online": True, "version": "1.0", "boot_id": "b", "backlog": 3, "at": "t"
    }  # fmt: skip
    assert orjson.loads(wire.status_offline("b", "t")) == {"online": False, "boot_id": "b", "at": "t"}
    event = orjson.loads(wire.event_body("e", 4, "s1", "order_placed", "t", {"id": 9}))
    assert event == {
        "event_id": "e",
        "seq": 4,
        "store": "s1",
        "type": "order_placed",
        "occurred_at": "t",
        "data": {"id": 9},
    }
    assert orjson.loads(wire.cfg_ack_body(2, "t", ["x"])) == {"version": 2, "applied_at": "t", "unknown": ["x"]}
    assert wire.parse_ack(wire.ack_body(12)) == 12


@pytest.mark.parametrize("payload", [b"", b"nope", b"[1]", b'{"seq": -1}', b'{"seq": 1.5}', b'{"seq": true}', b"{}"])
def test_a_bad_ack_is_refused(payload: bytes) -> None:
    with pytest.raises(WireError):
        wire.parse_ack(payload)


def test_a_menu_cfg_is_parsed_into_cents_and_optional_fields() -> None:
    body = {"version": 3, "items": [{"name": " Soup ", "price": 9.99}, {"name": "Tea", "available": False}]}
    assert wire.parse_cfg("menu", orjson.dumps(body)) == MenuCfg(
        3, (MenuLine("Soup", 999, None), MenuLine("Tea", None, False))
    )
    assert wire.parse_cfg("settings", b'{"version": 1, "battery_low": 30}') == SettingsCfg(1, {"battery_low": 30})


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"items": []}, "version"),
        ({"version": "2", "items": []}, "version"),
        ({"version": 1}, "items"),
        ({"version": 1, "items": [{"price": 1}]}, "items[0].name"),
        ({"version": 1, "items": [{"name": "a", "price": -1}]}, "items[0].price"),
        ({"version": 1, "items": [{"name": "a", "price": 1.001}]}, "two decimals"),
        ({"version": 1, "items": [{"name": "a", "price": True}]}, "number"),
        ({"version": 1, "items": [{"name": "a", "available": "yes"}]}, "available"),
        ({"version": 1, "items": [{"name": "Tea"}, {"name": "TEA"}]}, "more than once"),
    ],
)
def test_a_bad_menu_cfg_is_refused_saying_why(body: dict, says: str) -> None:
    with pytest.raises(WireError, match=r".*" + says.replace("[", r"\[").replace("]", r"\]")):
        wire.parse_cfg("menu", orjson.dumps(body))

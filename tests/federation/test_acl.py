"""The Mosquitto ACL of docs/FEDERATION.md, run as written against a real broker: a
store publishes and reads only under its own prefix (and reads the chain-wide cfg)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.federation.conftest import Broker, MqttProbe
from tests.federation.store import CHAIN, Store, federated_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
DOC = Path(__file__).resolve().parents[2] / "docs" / "FEDERATION.md"
USERS = {"s1": "pw-s1", "s2": "pw-s2", "hq": "pw-hq"}
NOT_AUTHORIZED = 135


def documented_acl() -> str:
    blocks = re.findall(r"^```\n(# robodine federation ACL.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
    assert len(blocks) == 1, "docs/FEDERATION.md has one ACL block"
    return blocks[0]


def test_the_documented_acl_refuses_a_store_publishing_under_another_stores_prefix(
    data_dir: Path, mosquitto_factory: Callable[..., Broker]
) -> None:
    assert f"robodine/v1/{CHAIN}/" in documented_acl()
    broker = mosquitto_factory(users=USERS, acl=documented_acl())
    root = f"robodine/v1/{CHAIN}"
    with (
        MqttProbe(broker, username="hq", password=USERS["hq"]) as hq,
        MqttProbe(broker, username="s1", password=USERS["s1"]) as s1,
    ):
        hq.connect()
        hq.subscribe(f"{root}/+/evt/#", f"{root}/+/status")
        hq.publish(f"{root}/s2/cfg/menu", {"version": 1, "items": []}, retain=True)
        hq.publish(f"{root}/all/cfg/menu", {"version": 4, "items": []}, retain=True)
        s1.connect()

        refused = s1.publish(f"{root}/s2/evt/order_placed", {"seq": 1, "forged": True})
        assert refused == NOT_AUTHORIZED
        assert s1.publish(f"{root}/s1/evt/order_placed", {"seq": 1}) == 0
        hq.wait_for(lambda got: hq.on("/s1/evt/order_placed"), what="the store's own event")
        assert hq.on("/s2/evt/order_placed") == []  # the forged one never reached headquarters

        s1.subscribe(f"{root}/s2/cfg/#", f"{root}/all/cfg/#", f"{root}/s1/ack")
        hq.publish(f"{root}/s1/ack", {"seq": 0})  # retained cfgs reach s1 before this
        s1.wait_for(lambda got: s1.on("/s1/ack"), what="the ack")
        assert [m.topic for m in s1.messages if "/cfg/" in m.topic] == [f"{root}/all/cfg/menu"]

    # the real store, as user s1 under this ACL: its will and status are its own to publish
    env = federated_env(data_dir, broker, ROBODINE_FEDERATION_USERNAME="s1", ROBODINE_FEDERATION_PASSWORD="pw-s1")
    with MqttProbe(broker, username="hq", password=USERS["hq"]) as hq, Store(data_dir, env) as store:
        hq.connect()
        hq.subscribe(f"{root}/s1/status", f"{root}/s1/evt/#")
        eventually(lambda: store.health()["federation"] == "connected", timeout=10)
        hq.wait_for(lambda got: any(m.topic.endswith("/status") and m.json()["online"] for m in got), what="online")
        store.order()
        hq.wait_for(lambda got: hq.on("/evt/order_placed"), what="an order of the store")

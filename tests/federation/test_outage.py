"""A store that loses its broker keeps working and keeps its events; when the broker is
back they are published once each, in seq order, and forgotten once acknowledged.
The real robodine-edge process against Debian's Mosquitto."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.federation.conftest import Broker, MqttProbe, Received
from tests.federation.store import PREFIX, Store, federated_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def events(messages: list[Received]) -> list[dict]:
    return [m.json() for m in messages if "/evt/" in m.topic]


def persistent_session() -> Properties:
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    return properties


def test_events_of_an_outage_are_published_once_each_in_seq_order_then_forgotten_when_acknowledged(
    data_dir: Path, mosquitto_factory: Callable[..., Broker]
) -> None:
    broker = mosquitto_factory(persistence=True)
    # headquarters' stand-in keeps a session at the broker, so it misses nothing while away
    probe = MqttProbe(broker, client_id="hq-probe", clean_start=False).connect(persistent_session())
    probe.subscribe(f"{PREFIX}/evt/#")
    probe.close()
    broker.stop()

    with Store(data_dir, federated_env(data_dir, broker)) as store:
        outage_then_recovery(store, broker)


def outage_then_recovery(store: Store, broker: Broker) -> None:
    assert store.health()["federation"] == "disconnected"
    placed = [store.order()["id"] for _ in range(50)]
    head = store.head()
    assert head >= 50
    eventually(lambda: store.metric("robodine_federation_backlog") == head, what="the backlog counted")

    broker.start()
    with MqttProbe(broker, client_id="hq-probe", clean_start=False).connect(persistent_session()) as hq:
        received = hq.wait_for(lambda got: len(events(got)) >= head and events(got), timeout=20, what="every event")
        seqs = [event["seq"] for event in received if "seq" in event]
        assert seqs == list(range(1, head + 1))  # once each, in order, none missing
        placed_events = [e for e in events(hq.messages) if e["type"] == "order_placed"]
        assert [e["data"]["entity_id"] for e in placed_events] == placed
        first = placed_events[0]
        assert first["store"] == "s1" and first["data"]["order"]["id"] == placed[0]
        assert first["data"]["order"]["status"] == "placed" and first["occurred_at"].endswith("Z")
        assert len({e["event_id"] for e in events(hq.messages)}) == head
        assert eventually(lambda: store.health()["federation"] == "connected", timeout=10)

        # kept until acknowledged; an ack covering some forgets those only
        assert store.sql('SELECT COUNT(*) FROM "federation_outbox"')[0][0] >= 50
        hq.publish(f"{PREFIX}/ack", {"seq": 20}, retain=True)
        eventually(lambda: store.sql('SELECT MIN("seq") FROM "federation_outbox"')[0][0] == 21, what="1-20 forgotten")
        assert eventually(lambda: store.metric("robodine_federation_backlog") == head - 20)
        hq.publish(f"{PREFIX}/ack", {"seq": head}, retain=True)
        eventually(lambda: store.sql('SELECT COUNT(*) FROM "federation_outbox"')[0][0] == 0, what="all forgotten")
        assert eventually(lambda: store.metric("robodine_federation_backlog") == 0)
        assert len(events(hq.messages)) == head  # nothing re-sent meanwhile
    assert store.process.stop() == 0

"""Robots' retained state at most once a second each; a store that turns federation on
publishes its whole event log from seq 1; with federation off nothing is owed."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from tests.federation.conftest import Broker, MqttProbe
from tests.federation.store import PREFIX, Store, federated_env
from tests.service import service_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def test_robot_states_are_retained_at_most_once_a_second_per_robot(data_dir: Path, mosquitto: Broker) -> None:
    with MqttProbe(mosquitto) as hq, Store(data_dir, federated_env(data_dir, mosquitto)) as store:
        hq.connect()
        hq.subscribe(f"{PREFIX}/state/robots/+")
        http = store.process.http
        created = http.post("/api/robots", headers=store.headers, json={"robot_id": "alba-1", "kind": "albabot"})
        assert created.status_code == 201
        first = hq.wait_for(lambda got: hq.on("/state/robots/alba-1"), what="the robot's state")[0]
        assert first.json() == http.get("/api/robots/alba-1", headers=store.headers).json()
        started = time.monotonic()
        for n in range(10):
            renamed = http.patch("/api/robots/alba-1", headers=store.headers, json={"name": f"Alba {n}"})
            assert renamed.status_code == 200
        hq.wait_for(lambda got: hq.on("/state/robots/alba-1")[-1].json()["name"] == "Alba 9", what="the last name")
        states = hq.on("/state/robots/alba-1")
        spent = states[-1].at - started
        assert len(states) - 1 <= spent + 1  # one a second at most after the first
        assert all(later.at - earlier.at >= 0.95 for earlier, later in itertools.pairwise(states))
        assert http.delete("/api/robots/alba-1", headers=store.headers).status_code == 204
        hq.wait_for(lambda got: hq.on("/state/robots/alba-1")[-1].payload == b"", what="the state cleared")
    with MqttProbe(mosquitto) as late:
        late.connect()
        late.subscribe(f"{PREFIX}/state/robots/+", "test/marker")
        late.publish("test/marker", b"x")  # retained messages come with the SUBACK, before this
        late.wait_for(lambda got: late.on("test/marker"), what="the marker")
        assert late.on("/state/robots/alba-1") == []


def test_a_store_that_turns_federation_on_publishes_its_whole_log_from_seq_1(data_dir: Path, mosquitto: Broker) -> None:
    with Store(data_dir, service_env(data_dir, ROBODINE_STORE_ID="s1")) as store:
        assert store.health()["federation"] == "off"
        placed = [store.order()["id"] for _ in range(5)]
        assert store.metric("robodine_federation_backlog") == 0
        assert store.sql('SELECT COUNT(*) FROM "federation_outbox"')[0][0] == 0  # nothing owed while off
        head = store.head()
        seqs = [row[0] for row in store.sql('SELECT "seq" FROM "event" ORDER BY "id"')]
        assert seqs == list(range(1, head + 1))
    with MqttProbe(mosquitto) as hq:
        hq.connect()
        hq.subscribe(f"{PREFIX}/evt/#")
        with Store(data_dir, federated_env(data_dir, mosquitto)) as store:
            eventually(lambda: store.health()["federation"] == "connected", timeout=10)
            hq.wait_for(lambda got: len(got) >= head, what="the whole log")
            events = [m.json() for m in hq.messages]
            assert [e["seq"] for e in events[:head]] == list(range(1, head + 1))
            orders = [e for e in events if e["type"] == "order_placed"]
            assert [e["data"]["order"]["id"] for e in orders] == placed

"""`kill -9` of the real store in each window of delivery: after the commit but before
the publish, and after the publish but before the broker's PUBACK. After a restart
every event arrives (a re-send keeps its event_id and seq); nothing committed — nothing
a client was answered 201 for — is missing (power loss is `kill -9` plus the WAL)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.federation.conftest import Broker, MqttProbe, Received
from tests.federation.store import PREFIX, Store, federated_env
from tests.federation.test_outage import persistent_session
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def by_seq(messages: list[Received]) -> dict[int, set[str]]:
    """seq → the event_ids it arrived with (one, however often it came)."""
    seen: dict[int, set[str]] = {}
    for message in messages:
        if "/evt/" in message.topic:
            event = message.json()
            seen.setdefault(event["seq"], set()).add(event["event_id"])
    return seen


def every_seq(head: int) -> Callable[[list[Received]], bool]:
    return lambda got: set(by_seq(got)) >= set(range(1, head + 1))


def test_killed_between_commit_and_publish_the_events_go_out_after_the_restart(
    data_dir: Path, mosquitto_factory: Callable[..., Broker]
) -> None:
    broker = mosquitto_factory(persistence=True)
    with MqttProbe(broker, client_id="hq-probe", clean_start=False).connect(persistent_session()) as probe:
        probe.subscribe(f"{PREFIX}/evt/#")
    broker.stop()  # nothing can be published: every commit waits in the outbox
    env = federated_env(data_dir, broker)
    store = Store(data_dir, env).start()
    placed = [store.order()["id"] for _ in range(10)]
    head = store.head()
    assert store.process.stop(signal.SIGKILL) == -signal.SIGKILL

    broker.start()
    with Store(data_dir, env) as again, MqttProbe(broker, client_id="hq-probe", clean_start=False) as hq:
        hq.connect(persistent_session())
        hq.wait_for(every_seq(head), timeout=20, what="every event of before the kill")
        seen = by_seq(hq.messages)
        assert all(len(ids) == 1 for ids in seen.values())
        orders = [m.json()["data"]["entity_id"] for m in hq.messages if m.topic.endswith("/evt/order_placed")]
        assert orders[: len(placed)] == placed
        assert again.order()  # the log goes on after the restart
        hq.wait_for(every_seq(head + 1), what="the new order's event")


def test_killed_between_publish_and_puback_the_events_are_sent_again_with_their_ids(
    data_dir: Path, mosquitto: Broker
) -> None:
    env = federated_env(data_dir, mosquitto, ROBODINE_FEDERATION_KEEPALIVE_S="30")
    with MqttProbe(mosquitto) as hq:
        hq.connect()
        hq.subscribe(f"{PREFIX}/evt/#")
        store = Store(data_dir, env).start()
        eventually(lambda: store.health()["federation"] == "connected", timeout=10)
        start = store.head()
        hq.wait_for(every_seq(start), what="the events of the start")
        mosquitto.pause()  # publishes reach the broker's socket; no PUBACK comes back
        try:
            for _ in range(5):
                store.order()
            eventually(lambda: store.metric("robodine_federation_inflight") > 0, what="publishes waiting for PUBACK")
            head = store.head()
            assert store.process.stop(signal.SIGKILL) == -signal.SIGKILL
        finally:
            mosquitto.resume()
        with Store(data_dir, env):
            hq.wait_for(every_seq(head), timeout=20, what="every event, sent again after the restart")
        seen = by_seq(hq.messages)
        assert all(len(ids) == 1 for ids in seen.values()), "a re-send must carry the same event_id"
        assert sorted(seen) == list(range(1, max(seen) + 1))


def test_power_loss_loses_nothing_a_client_was_answered_for(data_dir: Path, mosquitto: Broker) -> None:
    env = federated_env(data_dir, mosquitto)
    with MqttProbe(mosquitto) as hq:
        hq.connect()
        hq.subscribe(f"{PREFIX}/evt/order_placed")
        store = Store(data_dir, env).start()
        answered: list[int] = []
        stop = threading.Event()

        def place() -> None:
            body = {"table_id": store.table_id, "items": [{"menu_item_id": store.dish_id, "quantity": 1}]}
            with httpx.Client(base_url=store.process.url, headers=store.headers, timeout=5) as http:
                while not stop.is_set():
                    try:
                        response = http.post("/api/orders", json=body)
                    except httpx.HTTPError:
                        return  # the process is gone
                    if response.status_code == 201:
                        answered.append(response.json()["id"])

        clients = [threading.Thread(target=place) for _ in range(4)]
        for client in clients:
            client.start()
        eventually(lambda: len(answered) >= 40, timeout=20, what="40 orders answered")
        store.process.stop(signal.SIGKILL)
        stop.set()
        for client in clients:
            client.join(10)
        with Store(data_dir, env):
            published = lambda got: {m.json()["data"]["entity_id"] for m in got}  # noqa: E731
            hq.wait_for(lambda got: published(got) >= set(answered), timeout=20, what="every answered order")

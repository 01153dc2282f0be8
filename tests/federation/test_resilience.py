"""The store serves whatever the broker does: black-holed (SIGSTOP), refusing the
credentials, speaking TLS with a certificate the CA file does not vouch for; and the
broker tells headquarters when the store is gone (last will) or stops (clean stop)."""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.federation.conftest import Broker, MqttProbe, TlsFiles
from tests.federation.store import PREFIX, Store, federated_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def placing_takes(store: Store, count: int) -> list[float]:
    took = []
    for _ in range(count):
        started = time.monotonic()
        store.order()
        took.append(time.monotonic() - started)
    return took


def test_a_black_holed_broker_is_noticed_by_keepalive_while_orders_go_on_as_fast(
    data_dir: Path, mosquitto: Broker
) -> None:
    env = federated_env(data_dir, mosquitto, ROBODINE_FEDERATION_KEEPALIVE_S="1")
    with MqttProbe(mosquitto) as hq, Store(data_dir, env) as store:
        hq.connect()
        hq.subscribe(f"{PREFIX}/evt/#")
        eventually(lambda: store.health()["federation"] == "connected", timeout=10)
        before = placing_takes(store, 10)
        mosquitto.pause()
        paused = time.monotonic()
        try:
            during = placing_takes(store, 20)
            eventually(lambda: store.health()["federation"] == "disconnected", timeout=10, what="keepalive noticing")
            noticed = time.monotonic() - paused
            during += placing_takes(store, 10)
        finally:
            mosquitto.resume()
        assert noticed < 6  # pinged after 1 s of silence, given up 1 s later (plus the client's 1 s timer)
        assert max(during) < 1.0 and statistics.median(during) < max(0.1, 3 * statistics.median(before))
        eventually(lambda: store.health()["federation"] == "connected", timeout=15, what="reconnecting")
        head = store.head()
        hq.wait_for(lambda got: {m.json()["seq"] for m in got} >= set(range(1, head + 1)), timeout=15)


def test_refused_credentials_leave_the_store_working_and_saying_why(
    data_dir: Path, mosquitto_factory: Callable[..., Broker]
) -> None:
    broker = mosquitto_factory(users={"s1": "the-right-one"})
    env = federated_env(
        data_dir, broker, ROBODINE_FEDERATION_USERNAME="s1", ROBODINE_FEDERATION_PASSWORD="a-wrong-password"
    )
    store = Store(data_dir, env).start()
    store.order()
    assert store.health()["federation"] == "disconnected"
    eventually(lambda: any("federation: no connection" in line for line in store.process.lines), what="a log line")
    started = time.monotonic()
    assert store.process.stop() == 0 and time.monotonic() - started < 5
    refused = [line for line in store.process.lines if "federation: no connection" in line]
    assert "authori" in refused[0].lower() or "password" in refused[0].lower(), refused[0]
    assert not any("a-wrong-password" in line for line in store.process.lines)

    right = federated_env(
        data_dir, broker, ROBODINE_FEDERATION_USERNAME="s1", ROBODINE_FEDERATION_PASSWORD="the-right-one"
    )
    with Store(data_dir, right) as store:
        eventually(lambda: store.health()["federation"] == "connected", timeout=10)


def test_tls_with_a_wrong_ca_starts_serves_and_stops_disconnected_and_with_the_right_one_connects(
    data_dir: Path, mosquitto_factory: Callable[..., Broker], tls_files: TlsFiles
) -> None:
    broker = mosquitto_factory(tls=(tls_files.ca, tls_files.cert, tls_files.key))
    wrong = federated_env(data_dir, broker, ROBODINE_FEDERATION_CA_FILE=str(tls_files.other_ca))
    store = Store(data_dir, wrong).start()
    store.order()
    eventually(lambda: any("federation: no connection" in line for line in store.process.lines), what="a log line")
    assert store.health()["federation"] == "disconnected"
    assert any("certificate" in line.lower() for line in store.process.lines if "federation" in line)
    started = time.monotonic()
    assert store.process.stop() == 0 and time.monotonic() - started < 5

    right = federated_env(data_dir, broker, ROBODINE_FEDERATION_CA_FILE=str(tls_files.ca))
    with MqttProbe(broker, ca_file=tls_files.ca) as hq, Store(data_dir, right) as store:
        hq.connect()
        hq.subscribe(f"{PREFIX}/status")
        eventually(lambda: store.health()["federation"] == "connected", timeout=10)
        hq.wait_for(lambda got: any(m.json()["online"] for m in got), what="the status over TLS")


def test_the_last_will_says_offline_within_one_and_a_half_keepalives_and_a_clean_stop_says_it_too(
    data_dir: Path, mosquitto: Broker
) -> None:
    env = federated_env(data_dir, mosquitto, ROBODINE_FEDERATION_KEEPALIVE_S="2")
    with MqttProbe(mosquitto) as hq:
        hq.connect()
        hq.subscribe(f"{PREFIX}/status")
        store = Store(data_dir, env).start()
        online = hq.wait_for(lambda got: [m for m in got if m.json()["online"]], what="online")[-1]
        birth = online.json()
        assert set(birth) == {"online", "version", "boot_id", "backlog", "at"} and birth["at"].endswith("Z")
        killed = time.monotonic()
        store.process.stop(signal.SIGKILL)
        will = hq.wait_for(lambda got: [m for m in got if not m.json()["online"]], timeout=5, what="the will")[-1]
        assert will.at - killed < 1.5 * 2
        assert will.json()["boot_id"] == birth["boot_id"] and set(will.json()) == {"online", "boot_id", "at"}

        with Store(data_dir, env) as again:
            second = hq.wait_for(lambda got: [m for m in got if m.json()["online"]][1:], what="online again")[0]
            boot_id = second.json()["boot_id"]
            assert boot_id != birth["boot_id"]
            assert again.process.stop() == 0  # a clean DISCONNECT: the broker discards the will
        said = hq.wait_for(
            lambda got: [m for m in got if not m.json()["online"] and m.json()["boot_id"] == boot_id],
            what="the clean stop's status",
        )
        assert len(said) == 1
    with MqttProbe(mosquitto) as late:
        late.connect()
        late.subscribe(f"{PREFIX}/status")
        retained = late.wait_for(lambda got: got, what="the retained status")[0]
        assert retained.retain and retained.json()["online"] is False

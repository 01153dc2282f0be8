"""The `hq` process itself: readiness, its runtime file, a broker down at start, SIGTERM,
and two processes sharing the load when one of them is killed."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import psycopg
import pytest

from tests.federation.conftest import Broker, PostgresServer
from tests.federation.hq_process import HqProcess, hq_env
from tests.federation.sim_store import SimStore
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def test_hq_serves_with_the_broker_down_and_stops_cleanly(tmp_path: Path, mosquitto: Broker, database_url: str) -> None:
    mosquitto.stop()  # down when HQ starts
    data = tmp_path / "hq"
    hq = HqProcess(data, hq_env(data, mosquitto.url, database_url)).start(subscribed=False)
    try:
        runtime = orjson.loads((data / "hq-runtime.json").read_bytes())
        assert set(runtime) == {"pid", "http_port", "version", "started_at"}
        assert runtime["pid"] == hq.pid and runtime["http_port"] > 0
        assert any(" msg=ready" in line for line in hq.lines)
        health = hq.get("/health")
        assert (health["status"], health["db"], health["broker"]) == ("degraded", "ok", "disconnected")
        assert hq.get("/api/chain/stores") == []
        response = hq.http.put("/api/chain/cfg/menu", json={"version": 1, "items": []})
        assert (response.status_code, response.json()["error"]["code"]) == (503, "unavailable")

        mosquitto.start()
        eventually(lambda: hq.get("/health")["broker"] == "connected", timeout=15, what="HQ reconnected")
        store = SimStore(mosquitto.port, "acme", "s1").connect()
        try:
            store.publish_event(1)
            assert store.wait_ack(1) == 1
        finally:
            store.close()
    finally:
        code = hq.stop()
    assert code == 0, hq.log
    assert not (data / "hq-runtime.json").exists()
    assert any(" msg=stopped" in line for line in hq.lines)


def test_a_second_hq_on_the_same_data_directory_is_refused(tmp_path: Path, mosquitto: Broker) -> None:
    data = tmp_path / "hq"
    with HqProcess(data, hq_env(data, mosquitto.url, "")):
        second = HqProcess(data, hq_env(data, mosquitto.url, ""))
        with pytest.raises(RuntimeError, match="in use by a running robodine-edge"):
            second.start(timeout=15, subscribed=False)
        assert second.stop() == 1


def test_two_hq_processes_share_the_events_and_one_is_killed_mid_stream(
    tmp_path: Path, mosquitto: Broker, postgres: PostgresServer
) -> None:
    url = postgres.new_database()
    first = HqProcess(tmp_path / "hq1", hq_env(tmp_path / "hq1", mosquitto.url, url)).start()
    second = HqProcess(tmp_path / "hq2", hq_env(tmp_path / "hq2", mosquitto.url, url)).start()
    stores = [SimStore(mosquitto.port, "acme", f"s{n}").connect() for n in range(4)]
    last = 300
    failures: list[BaseException] = []

    def run(store: SimStore) -> None:
        try:
            store.stream(last, pace_s=0.004, timeout=50)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(store,), name=f"stream-{store.store}") for store in stores]
    try:
        for thread in threads:
            thread.start()
        eventually(lambda: min(s.acked for s in stores) >= 40, timeout=20, what="both processes storing")
        first.kill()  # kill -9, mid-stream
        at_kill = {s.store: s.acked for s in stores}
        for thread in threads:
            thread.join(60)
        assert not failures, failures
        assert all(s.acked == last for s in stores)
        assert all(s.acked > at_kill[s.store] for s in stores)  # the survivor kept acknowledging
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT store, COUNT(*), COUNT(DISTINCT seq), COUNT(DISTINCT event_id), MIN(seq), MAX(seq)"
                " FROM hq_event GROUP BY store ORDER BY store"
            ).fetchall()
            acked = conn.execute("SELECT store, acked_seq FROM hq_store ORDER BY store").fetchall()
        assert rows == [(s.store, last, last, last, 1, last) for s in stores]
        assert acked == [(s.store, last) for s in stores]
    finally:
        for store in stores:
            store.close()
        for hq in (first, second):
            if hq.running:
                hq.stop()

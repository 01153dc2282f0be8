"""Headquarters stores each store's events once and acknowledges the gapless watermark.

A simulated store publishes SPEC bodies at QoS 1 to a real Mosquitto; the real `hq` process
stores them in a SQLite file or PostgreSQL (each test runs on both).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from robodine_edge.hq.consumer import SWEEP_S
from tests.federation.conftest import Broker
from tests.federation.hq_process import HqProcess, hq_env
from tests.federation.sim_store import SimStore, event_id
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def stored(hq: HqProcess, store: str) -> list[dict]:
    return hq.get("/api/chain/events", store=store, limit=1000)


def test_events_are_stored_once_and_the_ack_is_the_gapless_watermark(
    tmp_path: Path, mosquitto: Broker, database_url: str
) -> None:
    with HqProcess(tmp_path / "hq", hq_env(tmp_path / "hq", mosquitto.url, database_url)) as hq:
        store = SimStore(mosquitto.port, "acme", "s1").connect()
        try:
            for seq in (1, 2, 3, 5, 6):
                store.publish_event(seq)
            assert store.wait_ack(3) == 3
            eventually(lambda: len(stored(hq, "s1")) == 5, what="seq 5 and 6 stored")
            # The gap at 4 holds the watermark back, through sweeps of every store's watermark
            # (something that does not happen has no event to wait for: watch for a while).
            time.sleep(SWEEP_S * 1.5)
            assert store.acked == 3

            store.reconnect()  # a store back from an outage re-sends, duplicates and all, out of order
            for seq in (6, 3, 5, 1):
                store.publish_event(seq)
            assert store.acked == 3
            store.publish_event(4)
            assert store.wait_ack(6) == 6
            for seq in (2, 6):
                store.publish_event(seq)
            store.publish_event(7)
            assert store.wait_ack(7) == 7
        finally:
            store.close()

        events = stored(hq, "s1")
        assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6, 7]
        assert [e["event_id"] for e in events] == [event_id("s1", seq) for seq in range(1, 8)]
        assert {e["store"] for e in events} == {"s1"}
        assert events[0]["data"] == {"id": 1, "type": "note", "message": "event 1"}
        assert [e["seq"] for e in hq.get("/api/chain/events", store="s1", after_seq=5)] == [6, 7]
        assert [e["seq"] for e in hq.get("/api/chain/events", store="s1", after_seq=2, limit=2)] == [3, 4]
        assert hq.get("/api/chain/events", store="s1", type="other") == []
        summary = hq.get("/api/chain/stores")
        assert [(s["store"], s["last_seq"], s["backlog"]) for s in summary] == [("s1", 7, 0)]


def test_each_store_has_its_own_watermark(tmp_path: Path, mosquitto: Broker, database_url: str) -> None:
    with HqProcess(tmp_path / "hq", hq_env(tmp_path / "hq", mosquitto.url, database_url)) as hq:
        stores = [SimStore(mosquitto.port, "acme", f"s{n}").connect() for n in range(3)]
        other_chain = SimStore(mosquitto.port, "rival", "s0").connect()
        try:
            for n, store in enumerate(stores):
                for seq in range(1, 11 + n):
                    store.publish_event(seq, wait=False)
            other_chain.publish_event(1)
            for n, store in enumerate(stores):
                assert store.wait_ack(10 + n) == 10 + n
            assert [(s["store"], s["last_seq"]) for s in hq.get("/api/chain/stores")] == [
                ("s0", 10),
                ("s1", 11),
                ("s2", 12),
            ]
            assert other_chain.acked == 0  # another chain's store is none of this HQ's business
            assert len(hq.get("/api/chain/events", limit=1000)) == 33
        finally:
            for store in [*stores, other_chain]:
                store.close()

"""Headquarters' menu and settings (retained `cfg`), store-specific and chain-wide: applied
once per newer version, atomically, with a `config_applied` event and a `cfg-ack`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.federation.conftest import Broker, MqttProbe
from tests.federation.store import CHAIN, PREFIX, Store, federated_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
ALL = f"robodine/v1/{CHAIN}/all"


def acks(hq: MqttProbe, kind: str) -> list[dict[str, Any]]:
    return [m.json() for m in hq.on(f"/cfg-ack/{kind}")]


def applied_events(store: Store) -> list[tuple[str, str]]:
    rows = store.sql('SELECT "type", "message" FROM "event" WHERE "type" LIKE \'config_%\' ORDER BY "seq"')
    return [(row[0], row[1]) for row in rows]


def menu(store: Store) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in store.process.http.get("/api/menu", headers=store.headers).json()}


def test_menu_and_settings_from_headquarters_are_applied_once_per_newer_version(
    data_dir: Path, mosquitto: Broker
) -> None:
    env = federated_env(data_dir, mosquitto)
    with MqttProbe(mosquitto) as hq:
        hq.connect()
        hq.subscribe(f"{PREFIX}/cfg-ack/#", f"{PREFIX}/evt/#")
        with Store(data_dir, env) as store:
            kimchi = store.process.http.post("/api/menu", headers=store.headers, json={"name": "Kimchi", "price": 4})
            assert kimchi.status_code == 201
            eventually(lambda: store.health()["federation"] == "connected", timeout=10)

            # chain-wide: names matched case-insensitively, the unknown ones reported
            items = [{"name": "bibimbap", "price": 11.0}, {"name": "Tteokbokki", "price": 7}]
            hq.publish(f"{ALL}/cfg/menu", {"version": 2, "items": items}, retain=True)
            hq.wait_for(lambda got: acks(hq, "menu"), what="the menu cfg-ack")
            ack = acks(hq, "menu")[-1]
            assert ack["version"] == 2 and ack["unknown"] == ["Tteokbokki"] and ack["applied_at"].endswith("Z")
            assert menu(store)["Bibimbap"]["price"] == 11.0 and menu(store)["Kimchi"]["price"] == 4.0
            hq.wait_for(lambda got: hq.on("/evt/config_applied"), what="the config_applied event")

            # the store's own topic counts its versions apart
            own = {"version": 1, "items": [{"name": "KIMCHI", "available": False}]}
            hq.publish(f"{PREFIX}/cfg/menu", own, retain=True)
            hq.wait_for(lambda got: len(acks(hq, "menu")) == 2, what="the second cfg-ack")
            assert acks(hq, "menu")[-1]["version"] == 1 and acks(hq, "menu")[-1]["unknown"] == []
            assert menu(store)["Kimchi"]["available"] is False

            # older or equal versions change nothing
            hq.publish(f"{ALL}/cfg/menu", {"version": 1, "items": [{"name": "Bibimbap", "price": 1}]}, retain=True)
            hq.publish(f"{ALL}/cfg/menu", {"version": 2, "items": [{"name": "Bibimbap", "price": 2}]}, retain=True)
            # one bad line among good ones: nothing of it applies, a warning event says why
            bad = {"version": 3, "items": [{"name": "Kimchi", "price": 5}, {"name": "Bibimbap", "price": -1}]}
            hq.publish(f"{ALL}/cfg/menu", bad, retain=True)
            eventually(lambda: applied_events(store)[-1][0] == "config_rejected", what="the refusal")
            assert "items[1].price" in applied_events(store)[-1][1]
            assert menu(store)["Bibimbap"]["price"] == 11.0 and menu(store)["Kimchi"]["price"] == 4.0

            # settings: a PATCH; names this store does not know are reported
            patch = {"version": 5, "store_name": "Acme Gangnam", "battery_low": 25, "drone_bay": 1}
            hq.publish(f"{PREFIX}/cfg/settings", patch, retain=True)
            hq.wait_for(lambda got: acks(hq, "settings"), what="the settings cfg-ack")
            assert acks(hq, "settings")[-1] == {**acks(hq, "settings")[-1], "version": 5, "unknown": ["drone_bay"]}
            settings = store.process.http.get("/api/settings", headers=store.headers).json()
            assert settings["store_name"] == "Acme Gangnam" and settings["battery_low"] == 25
            invalid = {"version": 9, "battery_low": 90}  # above battery_resume: invalid as a whole
            hq.publish(f"{ALL}/cfg/settings", invalid, retain=True)
            eventually(lambda: "battery_resume" in applied_events(store)[-1][1], what="the settings refusal")
            assert store.process.http.get("/api/settings", headers=store.headers).json()["battery_low"] == 25
            taken = applied_events(store)
            assert [kind for kind, _ in taken].count("config_applied") == 3

        # a restart: the broker hands every retained cfg over again; none is applied twice
        with Store(data_dir, env) as store:
            eventually(lambda: store.health()["federation"] == "connected", timeout=10)
            hq.wait_for(lambda got: len(hq.on("/cfg-ack/menu")) >= 3, what="the owed cfg-ack re-published")
            assert applied_events(store) == taken
            assert menu(store)["Bibimbap"]["price"] == 11.0

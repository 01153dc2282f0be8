"""`robodine-edge run --demo`: a believable store for a newcomer."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e


def test_the_demo_store_is_seeded_once_and_usable(data_dir: Path) -> None:
    with ServiceProcess(data_dir, args=("--demo",)) as service:
        credentials_file = data_dir / "demo-credentials.txt"
        assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
        users = dict(line.split() for line in credentials_file.read_text().splitlines() if not line.startswith("#"))
        staff = service.auth(service.token("staff", users["staff"]))
        tables = service.http.get("/api/tables", headers=staff).json()
        menu = service.http.get("/api/menu", headers=staff).json()
        assert len(tables) == 12 and {t["seats"] for t in tables} == {2, 4, 6}
        assert len(menu) == 20 and all(item["ingredients"] and item["available"] for item in menu)
        assert len(service.http.get("/api/inventory", headers=staff).json()) >= 20
        kiosk_name = f"kiosk-{tables[0]['name'].lower()}"
        kiosk = service.auth(service.token(kiosk_name, users[kiosk_name]))
        placed = service.http.post(
            "/api/orders",
            headers=kiosk,
            json={"table_id": tables[0]["id"], "items": [{"menu_item_id": menu[0]["id"], "quantity": 1}]},
        )
        assert placed.status_code == 201
        party = service.http.post("/api/customers", headers=staff, json={"party_size": 5}).json()
        assert party["status"] == "seated" and party["table_id"] in {t["id"] for t in tables if t["seats"] == 6}
    with ServiceProcess(data_dir, args=("--demo",)) as service:
        staff = service.auth(service.token("staff", users["staff"]))
        assert len(service.http.get("/api/tables", headers=staff).json()) == 12
        assert "not seeded" in service.log

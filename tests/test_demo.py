"""`robodine-edge run --demo`: a believable store for a newcomer."""

from __future__ import annotations

import io
import math
import re
import socket
import stat
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from PIL import Image

from robodine_edge.demo.seed import MENU
from tests.service import ServiceProcess, service_env
from tests.waiting import eventually

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
        kiosk_menu = service.http.get("/api/menu", headers=staff, params={"order": "menu"}).json()
        assert [item["name"] for item in kiosk_menu] == [dish[0] for dish in MENU]  # mains first, drinks last
        assert len(service.http.get("/api/inventory", headers=staff).json()) >= 20
        kiosk_name = f"kiosk-{tables[0]['name'].lower()}"
        kiosk = service.auth(service.token(kiosk_name, users[kiosk_name]))
        lines = credentials_file.read_text().splitlines()  # each kiosk's line follows its table's comment
        said = lines[lines.index(f"{kiosk_name} {users[kiosk_name]}") - 1]
        assert said == f"# table {tables[0]['name']} (table_id {tables[0]['id']})"
        assert service.http.get("/api/auth/me", headers=kiosk).json()["table_id"] == tables[0]["id"]
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


def test_the_demo_fleet_comes_online_and_serves_an_order(data_dir: Path) -> None:
    """The simulated robots link over the real TCP port and work the order through
    cooking and serving, at the simulator's own (believable) speed."""
    with ServiceProcess(data_dir, args=("--demo",)) as service:
        admin = service.auth(service.token())
        robots = orjson.loads((data_dir / "demo-robots.json").read_bytes())

        def online() -> set[str]:
            return {r["robot_id"] for r in service.http.get("/api/robots", headers=admin).json() if r["online"]}

        eventually(lambda: online() == set(robots), timeout=15, what="the demo robots coming online")
        fleet = {r["robot_id"]: r for r in service.http.get("/api/robots", headers=admin).json()}
        assert {r["kind"] for r in fleet.values()} == {"albabot", "cookbot"}

        # The table nearest the kitchen pass (the origin): the robot drives at a walking
        # pace, and the far corner of the floor is a 40 s round trip.
        tables = service.http.get("/api/tables", headers=admin).json()
        table = min(tables, key=lambda t: math.hypot(t["x"] + t["width"] / 2, t["y"] + t["height"] / 2))
        drink = next(item for item in service.http.get("/api/menu", headers=admin).json() if item["name"] == "Cola")
        placed = service.http.post(
            "/api/orders",
            headers=admin,
            json={"table_id": table["id"], "items": [{"menu_item_id": drink["id"], "quantity": 1}]},
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]
        seen: list[str] = []

        def status() -> str:
            current = service.http.get(f"/api/orders/{order_id}", headers=admin).json()["status"]
            if not seen or seen[-1] != current:
                seen.append(current)
            return current

        eventually(lambda: status() == "served", timeout=30, interval=0.2, what="the demo fleet serving the order")
        assert [step for step in seen if step in ("cooking", "serving", "served")] == ["cooking", "serving", "served"]


def listening_addresses(port: int) -> set[str]:
    """The local addresses TCP sockets listen on at `port`, from the kernel's own tables."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)  # 32-bit words in host (little-endian) order
                found.add(socket.inet_ntop(family, b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))))
    return found


def test_the_demo_listens_on_loopback_and_is_announced_as_a_store_of_its_own(data_dir: Path) -> None:
    """`make run` next to a real store: neither reachable from the LAN nor announced as
    `robodine-edge store-1`, the name a real store has by default."""
    env = service_env(data_dir, ROBODINE_MDNS="1")
    del env["ROBODINE_HOST"]  # as `make run` starts it: the demo's own defaults
    with ServiceProcess(data_dir, env, args=("--demo",)) as service:
        for port in ("http_port", "robot_port"):
            assert listening_addresses(service.runtime[port]) == {"127.0.0.1"}
        [advertised] = [line for line in service.lines if 'msg="advertised over mDNS"' in line]
        assert 'name="robodine-edge demo' in advertised and advertised.endswith(" addresses=127.0.0.1")


def test_the_demo_shows_live_video_at_once(data_dir: Path) -> None:
    """A camera on each albabot and a fixed one, seeded and streaming: `/live` of each
    sends frames from the start (the simulated cameras make them)."""
    with ServiceProcess(data_dir, args=("--demo",)) as service:
        admin = service.auth(service.token())

        def streaming() -> dict[str, dict[str, Any]]:
            cameras = service.http.get("/api/video-streams", headers=admin).json()
            return {c["camera_id"]: c for c in cameras if c["status"] == "active" and c["fps"] > 0}

        cameras = eventually(lambda: len(streaming()) == 4 and streaming(), timeout=20, what="four cameras streaming")
        assert set(cameras) == {"alba-1-cam", "alba-2-cam", "alba-3-cam", "cam-1"}
        assert cameras["cam-1"]["name"] == "Dining room" and cameras["cam-1"]["source"] == "fixed"
        assert (cameras["alba-2-cam"]["source"], cameras["alba-2-cam"]["robot_id"]) == ("robot", "alba-2")
        token = admin["Authorization"].split()[1]
        with httpx.stream("GET", f"{service.url}/api/video-streams/cam-1/live?token={token}", timeout=10) as live:
            assert live.status_code == 200
            seen = b""
            for chunk in live.iter_bytes():
                seen += chunk
                if seen.count(b"\xff\xd9") >= 2:
                    break
        jpegs = re.findall(rb"\r\n\r\n(\xff\xd8.*?\xff\xd9)\r\n", seen, re.S)
        assert len(jpegs) >= 2 and jpegs[0] != jpegs[1]
        image = Image.open(io.BytesIO(jpegs[0]))
        image.load()
        assert image.size == (320, 240)

"""The live hub against the real process: both doors, snapshots, seq, resume, roles,
slow clients, and many subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets

from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry, encode_telemetry
from tests.http.conftest import make_user
from tests.http.store_setup import make_dish, make_kiosk, make_stock, make_table
from tests.net.conftest import register
from tests.robot_client import RobotClient
from tests.service import ServiceProcess
from tests.waiting import eventually
from tests.ws_client import StateMirror, close_code, multiplexed, recv, ws_url

pytestmark = pytest.mark.e2e


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@contextlib.contextmanager
def service_with_robot(tmp_path: Path) -> Iterator[tuple[ServiceProcess, dict[str, str], str, RobotClient]]:
    """A fresh service with one robot registered and linked (a test of its own may flood it)."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        robot_id, token = register(service, admin)
        with RobotClient(int(service.runtime["robot_port"])) as robot:
            robot.hello(robot_id, token)
            yield service, admin, robot_id, robot


def test_topic_socket_snapshot_then_updates_in_sequence(service: ServiceProcess, admin: dict[str, str]) -> None:
    async def scenario() -> None:
        token = service.token()
        async with websockets.connect(ws_url(service.url, f"/ws/tables?token={token}")) as ws:
            snapshot = await recv(ws)
            assert snapshot["topic"] == "tables" and snapshot["type"] == "snapshot"
            assert any(t["name"] == "T1" for t in snapshot["data"])
            created = [make_table(service, admin) for _ in range(3)]
            updates = [await recv(ws) for _ in range(3)]
            assert [u["type"] for u in updates] == ["upsert"] * 3
            assert [u["data"]["id"] for u in updates] == [t["id"] for t in created]
            assert [u["seq"] for u in updates] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 4))
            service.http.delete(f"/api/tables/{created[0]['id']}", headers=admin)
            deleted = await recv(ws)
            assert (deleted["type"], deleted["data"], deleted["seq"]) == (
                "delete",
                {"id": created[0]["id"]},
                snapshot["seq"] + 4,
            )

    run(scenario())


def test_bad_tokens_and_unknown_topics_close_with_codes(service: ServiceProcess, admin: dict[str, str]) -> None:
    async def code(path: str) -> int | None:
        async with websockets.connect(ws_url(service.url, path)) as ws:
            return await close_code(ws)

    async def scenario() -> None:
        token = service.token()
        assert await code("/ws/tables") == 4401
        assert await code("/ws/tables?token=garbage") == 4401
        assert await code(f"/ws/dance?token={token}") == 4404
        _, kiosk = make_kiosk(service, admin, 1)
        kiosk_token = kiosk["Authorization"].split()[1]
        assert await code(f"/ws/robots?token={kiosk_token}") == 4403

    run(scenario())


def test_the_multiplexed_door(service: ServiceProcess, admin: dict[str, str]) -> None:
    async def scenario() -> None:
        ws = await multiplexed(service.url, service.token())
        try:
            await ws.send('{"id": 1, "type": "subscribe", "topic": "tables"}')
            assert await recv(ws) == {"id": 1, "type": "result", "success": True}
            snapshot = await recv(ws)
            assert (snapshot["id"], snapshot["type"], snapshot["topic"]) == (1, "snapshot", "tables")
            await ws.send('{"id": 2, "type": "subscribe", "topic": "inventory"}')
            assert (await recv(ws))["success"] is True
            assert (await recv(ws))["id"] == 2
            make_table(service, admin)
            update = await recv(ws)
            assert (update["id"], update["topic"], update["type"], update["seq"]) == (
                1,
                "tables",
                "upsert",
                snapshot["seq"] + 1,
            )
            await ws.send('{"id": 3, "type": "ping"}')
            assert await recv(ws) == {"id": 3, "type": "pong"}
            await ws.send('{"id": 3, "type": "ping"}')
            assert (await recv(ws))["error"]["code"] == "id_reuse"
            await ws.send('{"id": 4, "type": "subscribe", "topic": "weather"}')
            assert (await recv(ws))["error"]["code"] == "unknown_topic"
            await ws.send('{"id": 5, "type": "dance"}')
            assert (await recv(ws))["error"]["code"] == "unknown_command"
            await ws.send("not json")
            assert (await recv(ws))["error"]["code"] == "bad_request"
            await ws.send('{"type": "ping"}')
            assert (await recv(ws))["error"]["code"] == "bad_request"
            await ws.send('{"id": 6, "type": "unsubscribe", "subscription": 1}')
            assert await recv(ws) == {"id": 6, "type": "result", "success": True}
            await ws.send('{"id": 7, "type": "unsubscribe", "subscription": 1}')
            assert (await recv(ws))["error"]["code"] == "not_found"
            make_table(service, admin)
            await ws.send('{"id": 8, "type": "ping"}')
            assert await recv(ws) == {"id": 8, "type": "pong"}  # no tables update arrived before it
        finally:
            await ws.close()

    run(scenario())


def test_multiplexed_auth_is_required_first(service: ServiceProcess) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(service.url, "/ws")) as ws:
            await ws.send('{"id": 1, "type": "subscribe", "topic": "tables"}')
            assert (await recv(ws))["type"] == "auth_invalid"
            assert await close_code(ws) == 4401
        async with websockets.connect(ws_url(service.url, "/ws")) as ws:
            await ws.send('{"type": "auth", "token": "nope"}')
            assert await recv(ws) == {"type": "auth_invalid", "message": "invalid token"}
            assert await close_code(ws) == 4401
        async with websockets.connect(ws_url(service.url, "/ws")) as ws:
            started = time.monotonic()
            assert (await recv(ws, timeout=15))["type"] == "auth_invalid"
            assert 9.5 <= time.monotonic() - started < 13
            assert await close_code(ws) == 4401

    run(scenario())


def test_resume_with_and_without_the_buffer(service: ServiceProcess, admin: dict[str, str]) -> None:
    async def scenario() -> None:
        token = service.token()
        async with websockets.connect(ws_url(service.url, f"/ws/tables?token={token}")) as ws:
            last = (await recv(ws))["seq"]
        missed = [make_table(service, admin) for _ in range(2)]
        async with websockets.connect(ws_url(service.url, f"/ws/tables?token={token}&since={last}")) as ws:
            replayed = [await recv(ws) for _ in range(2)]
            assert [m["type"] for m in replayed] == ["upsert", "upsert"]
            assert [m["data"]["id"] for m in replayed] == [t["id"] for t in missed]
            assert [m["seq"] for m in replayed] == [last + 1, last + 2]
        async with websockets.connect(ws_url(service.url, f"/ws/tables?token={token}&since=999999")) as ws:
            assert (await recv(ws))["type"] == "snapshot"

    run(scenario())


def test_resume_after_the_buffer_moved_on_gets_a_snapshot(tmp_path: Path) -> None:
    with service_with_robot(tmp_path) as (service, admin, robot_id, robot):

        async def scenario() -> None:
            ws_token = service.token()
            async with websockets.connect(ws_url(service.url, f"/ws/telemetry?token={ws_token}")) as ws:
                first = await recv(ws)
            for seq in range(1, 2201):
                robot.telemetry(int(service.runtime["telemetry_port"]), robot_id, seq, x=seq / 100)
                if seq % 400 == 0:
                    robot.send(type="ping")

            def moved_on() -> bool:
                return service.http.get(f"/api/robots/{robot_id}", headers=admin).json()["pose"]["x"] == 22.0

            await asyncio.to_thread(eventually, moved_on)
            async with websockets.connect(
                ws_url(service.url, f"/ws/telemetry?token={ws_token}&since={first['seq']}")
            ) as ws:
                fresh = await recv(ws)
                assert fresh["type"] == "snapshot" and fresh["seq"] >= first["seq"] + 2200
                assert fresh["data"][0]["pose"]["x"] == 22.0

        run(scenario())


def test_resume_from_before_a_restart_gets_a_snapshot_never_a_partial_replay(tmp_path: Path) -> None:
    """A new run numbers its streams above anything the last run gave out, so a `since`
    kept across a restart cannot name one of the new run's messages (which would replay
    from the middle and skip the changes before it)."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        make_table(service, admin)

        async def last_seq() -> int:
            async with websockets.connect(ws_url(service.url, f"/ws/tables?token={service.token()}")) as ws:
                return int((await recv(ws))["seq"])

        before = run(last_seq())
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        made = [make_table(service, admin)["id"] for _ in range(3)]

        async def resume() -> dict[str, Any]:
            url = ws_url(service.url, f"/ws/tables?token={service.token()}&since={before}")
            async with websockets.connect(url) as ws:
                return await recv(ws)

        first = run(resume())
        assert first["type"] == "snapshot" and first["seq"] > before
        assert set(made) <= {table["id"] for table in first["data"]}


def test_kiosks_see_only_their_table_and_their_notifications(service: ServiceProcess, admin: dict[str, str]) -> None:
    mine, theirs = make_table(service, admin), make_table(service, admin)
    _, kiosk = make_kiosk(service, admin, mine["id"])
    dish = make_dish(service, admin, {make_stock(service, admin, 100)["id"]: 1})
    kiosk_token = kiosk["Authorization"].split()[1]
    staff_id, staff = make_user(service, admin, "staff")

    def order(headers: dict[str, str], table_id: int) -> dict[str, Any]:
        body = {"table_id": table_id, "items": [{"menu_item_id": dish["id"], "quantity": 1}]}
        return service.http.post("/api/orders", headers=headers, json=body).json()

    async def scenario() -> None:
        ws = await multiplexed(service.url, kiosk_token)
        try:
            await ws.send('{"id": 1, "type": "subscribe", "topic": "orders"}')
            await recv(ws)
            assert all(o["table_id"] == mine["id"] for o in (await recv(ws))["data"])
            await ws.send('{"id": 2, "type": "subscribe", "topic": "robots"}')
            assert (await recv(ws))["error"]["code"] == "forbidden"
            order(admin, theirs["id"])
            own = order(kiosk, mine["id"])
            update = await recv(ws)
            assert update["data"]["id"] == own["id"] and update["data"]["table_id"] == mine["id"]
        finally:
            await ws.close()
        staff_ws = await multiplexed(service.url, staff["Authorization"].split()[1])
        try:
            await staff_ws.send('{"id": 1, "type": "subscribe", "topic": "notifications"}')
            await recv(staff_ws)
            await recv(staff_ws)
            service.http.post(f"/api/tables/{mine['id']}/call-staff", headers=kiosk, json={"message": "bill please"})
            note = await recv(staff_ws)
            assert note["topic"] == "notifications" and "bill please" in note["data"]["message"]
            assert "user_id" not in note["data"] and staff_id
        finally:
            await staff_ws.close()

    run(scenario())


def test_every_screen_learns_of_an_emergency_and_its_resolution_at_once(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    """Staff on `/ws` and a table's kiosk on `/ws/emergencies` see the stop and the resume as
    upserts; a screen opened meanwhile starts from a snapshot holding the active one only."""
    _, staff = make_user(service, admin, "staff")
    _, kiosk = make_kiosk(service, admin, make_table(service, admin)["id"])
    staff_token, kiosk_token = (h["Authorization"].split()[1] for h in (staff, kiosk))

    async def snapshot_now() -> list[dict[str, Any]]:
        async with websockets.connect(ws_url(service.url, f"/ws/emergencies?token={staff_token}")) as ws:
            first = await recv(ws)
            assert first["type"] == "snapshot"
            return first["data"]

    async def scenario() -> None:
        ws = await multiplexed(service.url, staff_token)
        tablet = await websockets.connect(ws_url(service.url, f"/ws/emergencies?token={kiosk_token}"))
        emergency: dict[str, Any] = {}
        try:
            await ws.send('{"id": 1, "type": "subscribe", "topic": "emergencies"}')
            assert (await recv(ws))["success"] is True
            before = await recv(ws)
            assert (before["type"], before["data"]) == ("snapshot", [])
            assert (await recv(tablet))["data"] == []
            declared = service.http.post("/api/emergencies", headers=staff, json={"reason": "smoke"})
            assert declared.status_code == 201, declared.text
            emergency = declared.json()
            for message in (await recv(ws), await recv(tablet)):
                assert (message["topic"], message["type"], message["data"]) == ("emergencies", "upsert", emergency)
            assert await snapshot_now() == [emergency]
            resolved = service.http.post(f"/api/emergencies/{emergency['id']}/resolve", headers=staff).json()
            message = await recv(ws)
            assert (message["type"], message["seq"], message["data"]) == ("upsert", before["seq"] + 2, resolved)
            assert resolved["active"] is False and (await recv(tablet))["data"] == resolved
            assert await snapshot_now() == []
        finally:
            await ws.close()
            await tablet.close()
            if emergency.get("active"):
                service.http.post(f"/api/emergencies/{emergency['id']}/resolve", headers=staff)


def test_a_kiosk_follows_the_menu_as_dishes_sell_out_and_are_restocked(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    """The `menu` topic: a snapshot as `GET /api/menu` shows it, then an upsert when an
    order takes a dish's last portion (available: false) and when a restock brings it back."""
    table = make_table(service, admin)
    _, kiosk = make_kiosk(service, admin, table["id"])
    stock = make_stock(service, admin, 2)
    dish = make_dish(service, admin, {stock["id"]: 1})

    async def scenario() -> None:
        ws = await multiplexed(service.url, kiosk["Authorization"].split()[1])
        try:
            await ws.send('{"id": 1, "type": "subscribe", "topic": "menu"}')
            assert (await recv(ws))["success"] is True
            snapshot = await recv(ws)
            assert snapshot["type"] == "snapshot"
            listed = service.http.get("/api/menu", headers=kiosk, params={"limit": 1000}).json()
            assert sorted(snapshot["data"], key=lambda d: d["id"]) == sorted(listed, key=lambda d: d["id"])
            assert next(d for d in snapshot["data"] if d["id"] == dish["id"])["available"] is True
            body = {"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 2}]}
            assert service.http.post("/api/orders", headers=kiosk, json=body).status_code == 201
            sold_out = await recv(ws)
            assert (sold_out["type"], sold_out["seq"], sold_out["data"]["id"]) == (
                "upsert",
                snapshot["seq"] + 1,
                dish["id"],
            )
            assert (sold_out["data"]["available"], sold_out["data"]["sold_out"]) == (False, True)
            assert sold_out["data"] == service.http.get(f"/api/menu/{dish['id']}", headers=kiosk).json()
            service.http.post(f"/api/inventory/{stock['id']}/restock", headers=admin, json={"quantity": 1})
            back = await recv(ws)
            assert (back["seq"], back["data"]["id"], back["data"]["available"]) == (
                sold_out["seq"] + 1,
                dish["id"],
                True,
            )
            service.http.delete(f"/api/menu/{dish['id']}", headers=admin)
            deleted = await recv(ws)
            assert (deleted["type"], deleted["data"]) == ("delete", {"id": dish["id"]})
        finally:
            await ws.close()

    run(scenario())


def test_a_filtered_subscription_still_counts_seq_up_by_one_and_resumes(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    """SPEC 7: `seq` goes up by one per message. A kiosk's orders and a user's
    notifications are streams of their own: other tables' orders and other users'
    notifications leave no gaps in them, and `since` resumes them."""
    mine, theirs = make_table(service, admin), make_table(service, admin)
    _, kiosk = make_kiosk(service, admin, mine["id"])
    dish = make_dish(service, admin, {make_stock(service, admin, 100)["id"]: 1})
    _, staff = make_user(service, admin, "staff")

    def order(table_id: int) -> None:
        body = {"table_id": table_id, "items": [{"menu_item_id": dish["id"], "quantity": 1}]}
        assert service.http.post("/api/orders", headers=admin, json=body).status_code == 201

    def call_staff() -> None:  # a notification for every staff and admin user
        assert service.http.post(f"/api/tables/{mine['id']}/call-staff", headers=kiosk, json={}).status_code == 200

    async def follow(token: str, topic: str, act: Any, count: int, since: int | None = None) -> list[dict[str, Any]]:
        ws = await multiplexed(service.url, token)
        try:
            request: dict[str, Any] = {"id": 1, "type": "subscribe", "topic": topic}
            if since is not None:
                request["since"] = since
            await ws.send(orjson.dumps(request).decode())
            assert (await recv(ws))["success"] is True
            got = [] if since is not None else [await recv(ws)]
            act()
            while len(got) < count + (since is None):
                got.append(await recv(ws))
            return got
        finally:
            await ws.close()

    async def scenario() -> None:
        kiosk_token = kiosk["Authorization"].split()[1]

        def orders_at_both() -> None:
            for table_id in (theirs["id"], mine["id"]) * 3:
                order(table_id)

        seen = await follow(kiosk_token, "orders", orders_at_both, 3)
        snapshot, updates = seen[0], seen[1:]
        assert [m["seq"] for m in updates] == [snapshot["seq"] + n for n in (1, 2, 3)]
        assert {m["data"]["table_id"] for m in updates} == {mine["id"]}
        order(theirs["id"])
        order(mine["id"])  # missed while away: replayed from the table's own stream
        [resumed] = await follow(kiosk_token, "orders", lambda: None, 1, since=updates[-1]["seq"])
        assert resumed["seq"] == updates[-1]["seq"] + 1 and resumed["data"]["table_id"] == mine["id"]

        staff_token = staff["Authorization"].split()[1]

        def call_twice() -> None:
            call_staff()
            call_staff()

        seen = await follow(staff_token, "notifications", call_twice, 2)
        assert [m["seq"] for m in seen] == [seen[0]["seq"] + n for n in (0, 1, 2)]

    run(scenario())


def test_marking_a_notification_read_is_an_upsert_on_that_users_stream(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    table = make_table(service, admin)
    _, kiosk = make_kiosk(service, admin, table["id"])
    _, staff = make_user(service, admin, "staff")

    async def scenario() -> None:
        ws = await multiplexed(service.url, staff["Authorization"].split()[1])
        try:
            await ws.send('{"id": 1, "type": "subscribe", "topic": "notifications"}')
            await recv(ws)
            snapshot = await recv(ws)
            service.http.post(f"/api/tables/{table['id']}/call-staff", headers=kiosk, json={})
            new = await recv(ws)
            assert new["data"]["read"] is False
            read = service.http.post(f"/api/notifications/{new['data']['id']}/read", headers=staff)
            assert read.status_code == 200
            update = await recv(ws)
            assert (update["type"], update["data"]["id"], update["data"]["read"]) == ("upsert", new["data"]["id"], True)
            assert update["seq"] == new["seq"] + 1 == snapshot["seq"] + 2 and "user_id" not in update["data"]
        finally:
            await ws.close()

    run(scenario())


def test_logging_out_closes_the_sockets_of_that_token(service: ServiceProcess) -> None:
    async def scenario() -> None:
        token = service.token()
        async with websockets.connect(ws_url(service.url, f"/ws/tables?token={token}")) as ws:
            await recv(ws)
            service.http.post("/api/auth/logout", headers=service.auth(token))
            assert await close_code(ws) == 4401

    run(scenario())


def test_snapshot_races_never_leave_stale_state(tmp_path: Path) -> None:
    """Orders are placed without pause while clients subscribe; every client's picture,
    once updates stop, equals the server's."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin)
        dish = make_dish(service, admin, {make_stock(service, admin, 100000)["id"]: 1})
        token = service.token()
        body = {"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]}

        async def scenario() -> None:
            import httpx

            mirrors: list[StateMirror] = []
            sockets: list[Any] = []
            async with httpx.AsyncClient(base_url=service.url, headers=admin, timeout=10) as client:

                async def place_orders() -> None:
                    for n in range(150):
                        placed = (await client.post("/api/orders", json=body)).json()
                        if n % 3 == 0:
                            await client.post(f"/api/orders/{placed['id']}/cancel")

                async def subscribe_repeatedly() -> None:
                    for _ in range(20):
                        ws = await websockets.connect(ws_url(service.url, f"/ws/orders?token={token}"))
                        mirror = StateMirror("id")
                        mirror.apply(await recv(ws))
                        mirrors.append(mirror)
                        sockets.append(ws)
                        await asyncio.sleep(0.02)

                await asyncio.gather(place_orders(), subscribe_repeatedly())
                active = {
                    o["id"]: o
                    for o in (await client.get("/api/orders", params={"limit": 1000})).json()
                    if o["status"] == "placed"
                }

            async def drain(ws: Any, mirror: StateMirror) -> None:
                while True:
                    try:
                        mirror.apply(orjson.loads(await asyncio.wait_for(ws.recv(), 1.0)))
                    except TimeoutError:
                        return

            try:
                await asyncio.gather(*(drain(ws, mirror) for ws, mirror in zip(sockets, mirrors, strict=True)))
                for mirror in mirrors:
                    live = {k: v for k, v in mirror.items.items() if v["status"] == "placed"}
                    assert set(live) == set(active)
                    assert mirror.seqs == list(range(mirror.seqs[0], mirror.seqs[0] + len(mirror.seqs)))
            finally:
                for ws in sockets:
                    await ws.close()

        run(scenario())


def test_two_hundred_subscribers_get_every_update_in_order(service: ServiceProcess, admin: dict[str, str]) -> None:
    async def scenario() -> None:
        token = service.token()
        sockets = [await websockets.connect(ws_url(service.url, f"/ws/tables?token={token}")) for _ in range(200)]
        try:
            starts = [(await recv(ws))["seq"] for ws in sockets]
            assert len(set(starts)) == 1
            created = [await asyncio.to_thread(make_table, service, admin) for _ in range(20)]

            async def collect(ws: Any) -> list[dict[str, Any]]:
                return [await recv(ws, timeout=10) for _ in range(20)]

            received = await asyncio.gather(*(collect(ws) for ws in sockets))
            expected_ids = [t["id"] for t in created]
            for messages in received:
                assert [m["data"]["id"] for m in messages] == expected_ids
                assert [m["seq"] for m in messages] == list(range(starts[0] + 1, starts[0] + 21))
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))

    run(scenario())


def test_a_client_that_never_reads_does_not_delay_the_others(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        robot_id, robot_token = register(service, admin)
        token = service.token()
        port = service.runtime["http_port"]
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(
            f"GET /ws/telemetry?token={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        try:
            with RobotClient(int(service.runtime["robot_port"])) as robot:
                robot.hello(robot_id, robot_token)
                udp = int(service.runtime["telemetry_port"])

                async def scenario() -> None:
                    async with websockets.connect(
                        ws_url(service.url, f"/ws/telemetry?token={token}"), max_size=None
                    ) as ws:
                        first = (await recv(ws))["seq"]
                        total = 20000
                        sender = asyncio.create_task(asyncio.to_thread(_flood, robot, udp, robot_id, total))
                        received: list[Any] = []
                        slowest = 0.0
                        while len(received) < total:
                            started = time.monotonic()
                            received.append(await recv(ws, timeout=10))
                            slowest = max(slowest, time.monotonic() - started)
                        await sender
                        assert [m["seq"] for m in received] == list(range(first + 1, first + total + 1))
                        assert slowest < 2.0, f"a reading client waited {slowest:.2f}s for a message"

                run(scenario())
            eventually(
                lambda: _metric(service, "robodine_websocket_slow_closed_total") >= 1,
                timeout=15,
                what="closing the stalled client",
            )
            assert _close_code(stalled) == 1013
        finally:
            stalled.close()


STALLED_AFTER_CLOSE_S = 12.0
"""How long the stalled client below goes on not reading once it has been closed: past
the 10 s after which Sanic's closing handshake gives up and aborts the connection."""


def test_a_client_closed_as_too_slow_reads_its_1013_when_it_drains_later(tmp_path: Path) -> None:
    """The close frame goes behind everything already in the socket's buffers; a client
    that stays stalled for a while after being closed, its keep-alive ping still going
    out, finds it there when it reads again, rather than a connection cut (or reset)
    without a word."""
    with service_with_robot(tmp_path) as (service, _admin, robot_id, robot):
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
        stalled.connect(("127.0.0.1", service.runtime["http_port"]))
        stalled.sendall(
            f"GET /ws/telemetry?token={service.token()} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        try:
            udp, closed = int(service.runtime["telemetry_port"]), threading.Event()

            def flood() -> None:
                seq = 0
                while not closed.is_set():
                    seq += 1
                    robot.telemetry(udp, robot_id, seq, x=seq / 1000)
                    if seq % 500 == 0:
                        robot.send(type="ping")  # the link stays up
                        time.sleep(0.02)

            sender = threading.Thread(target=flood, name="telemetry-flood")
            sender.start()
            try:
                eventually(
                    lambda: _metric(service, "robodine_websocket_slow_closed_total") >= 1,
                    timeout=30,
                    interval=0.2,
                    what="closing the stalled client",
                )
            finally:
                closed.set()
                sender.join()
            stalled.sendall(bytes((0x89, 0x80, 1, 2, 3, 4)))  # a (masked, empty) keep-alive ping meanwhile
            time.sleep(STALLED_AFTER_CLOSE_S)  # the client's stall, not a wait for the service
            assert _close_code(stalled) == 1013
        finally:
            stalled.close()


def _close_code(sock: socket.socket) -> int | None:
    """Read a raw WebSocket to its end; the code of the close frame it ends with."""
    data = bytearray()
    sock.settimeout(10)
    while chunk := sock.recv(1 << 20):
        data.extend(chunk)
    at = data.index(b"\r\n\r\n") + 4
    code = None
    while at + 2 <= len(data):
        opcode, size, head = data[at] & 0x0F, data[at + 1] & 0x7F, 2
        if size == 126:
            size, head = int.from_bytes(data[at + 2 : at + 4], "big"), 4
        elif size == 127:
            size, head = int.from_bytes(data[at + 2 : at + 10], "big"), 10
        if opcode == 0x8:
            code = int.from_bytes(data[at + head : at + head + 2], "big")
        at += head + size
    return code


def _flood(robot: RobotClient, udp: int, robot_id: str, total: int) -> None:
    for seq in range(1, total + 1):
        robot.telemetry(udp, robot_id, seq, x=seq / 1000)
        if seq % 1000 == 0:
            robot.send(type="ping")
            time.sleep(0.05)


def _metric(service: ServiceProcess, name: str) -> float:
    for line in service.http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_robots_topic_is_coalesced_while_telemetry_is_full_rate(tmp_path: Path) -> None:
    with service_with_robot(tmp_path) as (service, _admin, robot_id, robot):

        async def scenario() -> None:
            ws = await multiplexed(service.url, service.token())
            try:
                await ws.send('{"id": 1, "type": "subscribe", "topic": "robots"}')
                await ws.send('{"id": 2, "type": "subscribe", "topic": "telemetry"}')
                for _ in range(4):
                    await recv(ws)
                started = time.monotonic()
                for seq in range(1, 101):  # 50 Hz for 2 s
                    robot.telemetry(int(service.runtime["telemetry_port"]), robot_id, seq, x=seq / 10)
                    if seq % 25 == 0:
                        robot.send(type="ping")
                    await asyncio.sleep(max(0.0, started + seq / 50 - time.monotonic()))
                counts = {1: 0, 2: 0}
                with contextlib.suppress(TimeoutError):
                    while True:
                        message = await recv(ws, timeout=1.5)
                        counts[message["id"]] += 1
                elapsed = time.monotonic() - started
                assert counts[2] == 100
                assert 10 <= counts[1] <= 10 * elapsed + 2, counts
            finally:
                await ws.close()

        run(scenario())


def test_a_telemetry_snapshot_holds_the_latest_datagram_of_its_seq(tmp_path: Path) -> None:
    """Datagrams faster than the robots topic's 10 Hz: the telemetry snapshot must still
    show the last one its seq covers, as no later message will correct it."""
    with service_with_robot(tmp_path) as (service, _admin, robot_id, robot):

        async def scenario() -> None:
            token = service.token()
            async with websockets.connect(ws_url(service.url, f"/ws/telemetry?token={token}")) as ws:
                before = await recv(ws)
            for seq in range(1, 6):
                robot.telemetry(int(service.runtime["telemetry_port"]), robot_id, seq, x=float(seq))
            await asyncio.to_thread(eventually, lambda: accepted_telemetry(service) == 5, what="5 accepted")
            async with websockets.connect(ws_url(service.url, f"/ws/telemetry?token={token}")) as ws:
                snapshot = await recv(ws)
            assert snapshot["seq"] == before["seq"] + 5
            assert [(s["robot_id"], s["pose"]["x"], s["seq"]) for s in snapshot["data"]] == [(robot_id, 5.0, 5)]

        run(scenario())


def test_a_robot_whose_link_closed_is_not_in_the_next_telemetry_snapshot(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    """Its last datagram leaves the hub with the link (a telemetry `delete`): the snapshot
    is the robots with a live session, without asking the fleet who is online."""
    robot_id, token = register(service, admin)
    udp_port = int(service.runtime["telemetry_port"])

    async def scenario() -> None:
        path = f"/ws/telemetry?token={service.token()}"
        async with websockets.connect(ws_url(service.url, path)) as ws:
            await recv(ws)
            with RobotClient(int(service.runtime["robot_port"])) as robot:
                robot.hello(robot_id, token)
                robot.telemetry(udp_port, robot_id, 1)
                sample = await recv(ws)
                assert (sample["type"], sample["data"]["robot_id"]) == ("upsert", robot_id)
                async with websockets.connect(ws_url(service.url, path)) as linked:
                    assert robot_id in [s["robot_id"] for s in (await recv(linked))["data"]]
            deleted = await recv(ws)
            assert (deleted["type"], deleted["data"]) == ("delete", {"robot_id": robot_id})
            assert deleted["seq"] == sample["seq"] + 1
        async with websockets.connect(ws_url(service.url, path)) as ws:
            snapshot = await recv(ws)
        assert robot_id not in [s["robot_id"] for s in snapshot["data"]]
        assert snapshot["seq"] >= deleted["seq"]

    run(scenario())


def accepted_telemetry(service: ServiceProcess) -> int:
    text = service.http.get("/metrics").text
    name = 'robodine_telemetry_datagrams_total{result="accepted"}'
    found = next((line for line in text.splitlines() if line.startswith(name)), None)
    return int(float(found.split()[-1])) if found else 0


def test_a_client_that_pauses_reading_gets_everything_in_order_when_it_reads_again(tmp_path: Path) -> None:
    """Its transport backs up past 64 KiB: the hub holds the rest in the client's queue
    until the transport's flow control says it drained, then writes it all, in order."""
    with service_with_robot(tmp_path) as (service, _admin, robot_id, robot):
        paused = socket.create_connection(("127.0.0.1", service.runtime["http_port"]))
        paused.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        paused.sendall(
            f"GET /ws/telemetry?token={service.token()} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        # ~800 B a message, 1.2 MB in all: more than the socket buffers (64 KiB here and
        # the service's 256 KiB, both doubled by Linux) and the transport's 64 KiB hold,
        # and the rest, ~600 messages, fewer than the queue cap (nothing coalesced)
        total, joints = 1500, tuple(123456.0 + n / 7 for n in range(32))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for seq in range(1, total + 1):
                sample = Telemetry(robot_id, robot.session or "", seq, Pose(seq / 10, 1.0), 80.0, "idle", joints)
                udp.sendto(encode_telemetry(sample), ("127.0.0.1", int(service.runtime["telemetry_port"])))
                if seq % 50 == 0:
                    time.sleep(0.02)
        eventually(lambda: accepted_telemetry(service) == total, what="every datagram accepted")
        last = total / 10
        messages = _read_messages(paused, until=lambda m: m["type"] == "upsert" and m["data"]["pose"]["x"] == last)
        paused.close()
        snapshot, updates = messages[0], messages[1:]
        assert snapshot["type"] == "snapshot"
        assert [m["seq"] for m in updates] == list(range(snapshot["seq"] + 1, updates[-1]["seq"] + 1))  # none lost
        assert updates[-1]["data"]["pose"]["x"] == total / 10


def _read_messages(sock: socket.socket, until: Any) -> list[dict[str, Any]]:
    """Text messages from a raw WebSocket (after its 101 answer), to the first `until`
    accepts; control frames (Sanic's pings) are skipped."""
    data = bytearray()
    sock.settimeout(10)
    while b"\r\n\r\n" not in data:
        data.extend(sock.recv(65536))
    at, messages = data.index(b"\r\n\r\n") + 4, list[Any]()
    while not messages or not until(messages[-1]):
        frame = _next_frame(data, at)
        if frame is None:
            data.extend(sock.recv(1 << 20))
            continue
        opcode, (payload, at) = data[at] & 0x0F, frame
        if opcode == 0x1:
            messages.append(orjson.loads(payload))
    return messages


def _next_frame(data: bytearray, at: int) -> tuple[bytes, int] | None:
    """(payload, end) of the server frame at `at`, or None while it is incomplete."""
    if len(data) - at < 2:
        return None
    size, head = data[at + 1] & 0x7F, 2
    if size >= 126:
        head = 4 if size == 126 else 10
        if len(data) - at < head:
            return None
        size = int.from_bytes(data[at + 2 : at + head], "big")
    if len(data) - at < head + size:
        return None
    return bytes(data[at + head : at + head + size]), at + head + size

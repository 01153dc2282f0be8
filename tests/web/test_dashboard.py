"""The staff dashboard (`/dashboard`) in a real browser, against the demo store with its
simulated robots and guests: the floor map (every table, every robot with a pose, moving
and going offline), the waiting list, restocking, notifications, camera tiles, today's
figures, both languages, and a page that talks only to its own origin and, idle, only
over its socket."""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from robodine_edge.protocol.video import encode_chunks
from tests.robot_client import RobotClient
from tests.service import ADMIN_PASSWORD, ServiceProcess
from tests.waiting import eventually
from tests.web.conftest import Screen, demo_credentials, new_screen

pytestmark = pytest.mark.e2e
_robot_numbers = itertools.count(1)


@pytest.fixture
def open_screen(browser: Browser, screens: list[Screen], demo_store: ServiceProcess) -> Callable[..., Screen]:
    def opener(locale: str = "en-US") -> Screen:
        screen = new_screen(browser, demo_store.url, locale=locale)
        screens.append(screen)
        return screen

    return opener


@pytest.fixture(scope="module")
def admin(demo_store: ServiceProcess) -> dict[str, str]:
    return demo_store.auth(demo_store.token())


@pytest.fixture(scope="module")
def staff(demo_store: ServiceProcess) -> dict[str, str]:
    return demo_store.auth(demo_store.token("staff", demo_credentials(demo_store)["staff"]))


def dashboard(screen: Screen, username: str = "admin", password: str = ADMIN_PASSWORD) -> Page:
    """Sign in and wait for the dashboard to follow the store live."""
    page = screen.open("/dashboard")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("[data-connection=open]")).to_be_visible()
    return page


def staff_dashboard(screen: Screen, service: ServiceProcess) -> Page:
    return dashboard(screen, "staff", demo_credentials(service)["staff"])


@contextmanager
def linked_robot(service: ServiceProcess, admin: dict[str, str], **status: Any) -> Iterator[tuple[str, RobotClient]]:
    """A robot of the test's own, linked and reporting `status` (not idle, so the demo's
    dispatcher gives it no work), kept alive with pings."""
    robot_id = f"test-bot-{next(_robot_numbers)}"
    created = service.http.post("/api/robots", headers=admin, json={"robot_id": robot_id, "kind": "albabot"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    with RobotClient(int(service.runtime["robot_port"])) as client:
        assert client.hello(robot_id, token)["type"] == "welcome"
        client.send(type="status", **status)
        with client.sending_every(0.5):
            yield robot_id, client


def api_get(service: ServiceProcess, headers: dict[str, str], path: str) -> Any:
    response = service.http.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- the floor map ---------------------------------------------------------------------------


def test_the_map_shows_every_table_and_every_robot_with_a_pose(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    page = dashboard(open_screen())
    floor = page.locator("svg[data-floor]")
    tables = api_get(demo_store, admin, "/api/tables")
    expect(floor.locator("[data-table-id]")).to_have_count(len(tables))
    for table in tables:
        mark = floor.locator(f'[data-table-id="{table["id"]}"]')
        expect(mark).to_have_attribute("data-status", re.compile(r"^(available|occupied|cleaning|reserved)$"))
        expect(mark).to_contain_text(table["name"])
    robots = eventually(
        lambda: [r for r in api_get(demo_store, admin, "/api/robots") if r["pose"]], what="robots with a pose"
    )
    for robot in robots:
        mark = floor.locator(f'[data-robot-id="{robot["robot_id"]}"]')
        expect(mark).to_have_attribute("data-online", re.compile(r"^(true|false)$"))
        expect(mark).to_have_attribute("data-state", re.compile(r"^[a-z_]+$"))
        expect(mark).to_have_attribute("data-battery", re.compile(r"^\d+(\.\d+)?$"))
        expect(mark).to_have_attribute("transform", re.compile(r"^translate\(-?[\d.]+ -?[\d.]+\)$"))


def test_a_seated_party_shows_its_size_on_its_table(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    page = dashboard(open_screen())

    def a_party_shown() -> str | None:
        parties = {p["id"]: p for p in api_get(demo_store, admin, "/api/customers?status=seated")}
        for table in api_get(demo_store, admin, "/api/tables"):
            party = parties.get(table["party_id"])
            size = page.locator(f'svg[data-floor] [data-table-id="{table["id"]}"] [data-party-size]')
            if party and size.count() and size.get_attribute("data-party-size") == str(party["party_size"]):
                return size.text_content()
        return None  # the demo's guests come and go meanwhile: look again

    assert re.fullmatch(r"\d+ guests", eventually(a_party_shown, 30, 0.2, what="a seated party's size"))


def test_a_robots_mark_follows_its_pose_and_heading(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    page = dashboard(open_screen())
    pose = {"x": 3.0, "y": 2.0, "yaw": 0.0}
    with linked_robot(demo_store, admin, state="maintenance", battery=64.5, pose=pose) as (robot_id, client):
        mark = page.locator(f'svg[data-floor] [data-robot-id="{robot_id}"]')
        expect(mark).to_have_attribute("transform", "translate(3 2)")
        expect(mark).to_have_attribute("data-online", "true")
        expect(mark).to_have_attribute("data-state", "maintenance")
        expect(mark).to_have_attribute("data-battery", "64.5")
        expect(mark).to_contain_text("65% · maintenance")
        client.send(type="status", state="serving", pose={"x": 5.5, "y": 4.25, "yaw": 1.5707963})
        expect(mark).to_have_attribute("transform", "translate(5.5 4.25)")
        expect(mark).to_have_attribute("data-state", "serving")
        expect(mark.locator(".map-heading")).to_have_attribute("transform", re.compile(r"^rotate\(89\.99\d*\)$"))
        row = page.locator(f'[data-robots] [data-robot-id="{robot_id}"]')
        expect(row).to_contain_text("serving")
        expect(row).to_contain_text("Battery 65%")


def test_an_offline_robot_is_greyed_with_when_it_was_last_seen(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    page = dashboard(open_screen())
    with linked_robot(demo_store, admin, state="maintenance", battery=80, pose={"x": 1.0, "y": 8.5}) as (robot_id, _):
        mark = page.locator(f'svg[data-floor] [data-robot-id="{robot_id}"]')
        expect(mark).to_have_attribute("data-online", "true")
    # the link is closed: the edge marks the robot offline and keeps its last pose
    eventually(lambda: not api_get(demo_store, admin, f"/api/robots/{robot_id}")["online"], what="offline")
    expect(mark).to_have_attribute("data-online", "false")
    expect(mark).to_have_class(re.compile(r"\boffline\b"))
    expect(mark).to_have_attribute("transform", "translate(1 8.5)")
    expect(mark).to_contain_text("offline · seen just now")
    expect(page.locator(f'[data-robots] [data-robot-id="{robot_id}"]')).to_contain_text("offline")


def test_a_tapped_table_offers_the_floors_next_step(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    body = {"name": f"T{time.monotonic_ns() % 10**6}", "seats": 1, "x": 11.0, "y": 1.0, "width": 1.0, "height": 1.0}
    created = demo_store.http.post("/api/tables", headers=admin, json=body)
    assert created.status_code == 201, created.text
    table = created.json()  # the demo's only one-seat table: a party of one is seated there
    solo = demo_store.http.post("/api/customers", headers=admin, json={"party_size": 1, "name": "Solo"}).json()
    try:
        eventually(lambda: api_get(demo_store, admin, f"/api/tables/{table['id']}")["status"] == "occupied")
        page = staff_dashboard(open_screen(), demo_store)
        mark = page.locator(f'svg[data-floor] [data-table-id="{table["id"]}"]')
        expect(mark).to_have_attribute("data-status", "occupied")
        mark.click()
        details = page.locator(f'[data-selected-table="{table["id"]}"]')
        expect(details).to_contain_text(f"Table {body['name']}")
        details.locator("[data-action=release]").click()
        expect(mark).to_have_attribute("data-status", re.compile(r"^(cleaning|available)$"))
        if mark.get_attribute("data-status") == "cleaning":  # unless a robot cleaned it first
            details.locator("[data-action=cleaned]").click()
        expect(mark).to_have_attribute("data-status", "available")
        assert api_get(demo_store, admin, f"/api/tables/{table['id']}")["status"] in ("available", "occupied")
    finally:
        demo_store.http.post(f"/api/customers/{solo['id']}/leave", headers=admin)
        demo_store.http.delete(f"/api/tables/{table['id']}", headers=admin)


# -- robots panel ----------------------------------------------------------------------------


def test_robot_commands_go_to_the_robot_and_a_refusal_is_said_in_words(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    page = dashboard(open_screen())
    with linked_robot(demo_store, admin, state="maintenance", pose={"x": 2.0, "y": 2.0}) as (robot_id, client):
        row = page.locator(f'[data-robots] [data-robot-id="{robot_id}"]')
        row.locator("[data-command=stop]").click()
        assert client.read_until("command")["name"] == "stop"
        expect(row).to_contain_text("Stop: sent")
        row.locator("[data-command=resume]").click()
        assert client.read_until("command")["name"] == "resume"
        commands = api_get(demo_store, admin, f"/api/robots/{robot_id}/commands")
        assert [c["name"] for c in commands[:2]] == ["resume", "stop"]
    # a robot on a task refuses dock: the demo's robots are busy often enough
    busy = eventually(
        lambda: next((r for r in api_get(demo_store, admin, "/api/robots") if r["current_task"]), None),
        45,
        what="a demo robot on a task",
    )
    row = page.locator(f'[data-robots] [data-robot-id="{busy["robot_id"]}"]')
    row.locator("[data-command=dock]").click()
    refusal = row.get_by_role("alert")
    expect(refusal.or_(row.locator(".robot-sent"))).to_be_visible()
    if refusal.count():  # it may have finished its task in between
        expect(refusal).to_contain_text("It is busy with a task")
        expect(row.locator("[data-action=force-dock]")).to_be_visible()


# -- waiting list ----------------------------------------------------------------------------


def test_the_waiting_list_shows_a_party_added_through_the_api_with_its_position(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    page = dashboard(open_screen())
    created = demo_store.http.post("/api/customers", headers=admin, json={"party_size": 50, "name": "Banquet"})
    assert created.status_code == 201 and created.json()["status"] == "waiting"  # no table seats 50
    party = created.json()
    try:
        row = page.locator(f'[data-waiting-list] [data-party-id="{party["id"]}"]')
        expect(row).to_have_attribute("data-position", str(party["position"]))
        expect(row).to_contain_text("Banquet")
        expect(row).to_contain_text("50 people")
        expect(row).to_contain_text("No free table fits 50 yet.")
        row.locator("[data-action=party-left]").click()
        expect(row).to_have_count(0)
        assert api_get(demo_store, admin, f"/api/customers/{party['id']}")["status"] == "left"
    finally:
        demo_store.http.post(f"/api/customers/{party['id']}/leave", headers=admin)


def test_staff_add_a_party_at_the_door(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    page = staff_dashboard(open_screen(), demo_store)
    form = page.locator("[data-add-party]")
    form.locator("input[name=party_size]").fill("49")
    form.locator("input[name=name]").fill("Reunion")
    form.locator("[data-action=add-party]").dblclick()  # a double tap adds one party
    expect(form.get_by_role("status")).to_contain_text(re.compile(r"Reunion: waiting, number \d+\."))
    parties = [p for p in api_get(demo_store, admin, "/api/customers?status=waiting") if p["name"] == "Reunion"]
    assert len(parties) == 1, parties
    try:
        row = page.locator(f'[data-party-id="{parties[0]["id"]}"]')
        expect(row).to_have_attribute("data-position", str(parties[0]["position"]))
    finally:
        demo_store.http.post(f"/api/customers/{parties[0]['id']}/leave", headers=admin)


# -- inventory -------------------------------------------------------------------------------


def test_restocking_from_the_page_changes_the_count(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    body = {"name": f"flour-{time.monotonic_ns()}", "unit": "kg", "count": 3, "max_count": 20, "low_threshold": 5}
    created = demo_store.http.post("/api/inventory", headers=admin, json=body)  # in no recipe: no order uses it
    assert created.status_code == 201, created.text
    item = created.json()
    page = staff_dashboard(open_screen(), demo_store)
    row = page.locator(f'[data-inventory] [data-inventory-id="{item["id"]}"]')
    expect(row).to_have_attribute("data-status", "low_stock")
    expect(row).to_contain_text("low")
    row.locator("[data-action=restock]").click()  # empty amount: fill to the target
    expect(row).to_have_attribute("data-status", "in_stock")
    assert api_get(demo_store, admin, f"/api/inventory/{item['id']}")["count"] == 20
    row.locator("input[name=quantity]").fill("7")
    row.locator("[data-action=restock]").click()
    expect(row.locator("[data-count]")).to_have_attribute("data-count", "27")
    assert api_get(demo_store, admin, f"/api/inventory/{item['id']}")["count"] == 27


# -- notifications and events ----------------------------------------------------------------


def test_a_notification_is_marked_read_from_the_page(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str], staff: dict[str, str]
) -> None:
    page = staff_dashboard(open_screen(), demo_store)
    called = demo_store.http.post("/api/tables/1/call-staff", headers=admin, json={"message": "more water"})
    assert called.status_code == 200, called.text
    note = eventually(
        lambda: next(
            (n for n in api_get(demo_store, staff, "/api/notifications") if "more water" in n["message"]), None
        ),
        what="the staff notification",
    )
    row = page.locator(f'[data-notification-id="{note["id"]}"]')
    expect(row).to_have_attribute("data-read", "false")
    expect(row).to_contain_text("Staff called")
    unread = int(page.locator("[data-unread]").get_attribute("data-unread") or "")
    assert unread >= 1
    row.locator("[data-action=mark-read]").click()
    expect(row).to_have_attribute("data-read", "true")
    expect(page.locator("[data-unread]")).to_have_attribute("data-unread", str(unread - 1))
    assert next(n for n in api_get(demo_store, staff, "/api/notifications") if n["id"] == note["id"])["read"]
    expect(page.locator("[data-events] [data-event-id]").first).to_be_visible()


# -- cameras ---------------------------------------------------------------------------------


def test_every_registered_camera_has_a_tile_showing_its_live_stream(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    screen = open_screen()
    page = dashboard(screen)
    picture = page.screenshot(type="jpeg", quality=40, clip={"x": 0, "y": 0, "width": 320, "height": 240})
    names = [f"cam-{time.monotonic_ns()}-{n}" for n in range(2)]
    for name in names:
        created = demo_store.http.post("/api/video-streams", headers=admin, json={"camera_id": name, "name": name})
        assert created.status_code == 201, created.text
    cameras = api_get(demo_store, admin, "/api/video-streams")
    expect(page.locator("[data-cameras] img[data-camera-id]")).to_have_count(len(cameras))
    tile = page.locator(f'img[data-camera-id="{names[0]}"]')
    expect(tile).to_have_attribute("src", re.compile(rf"^/api/video-streams/{names[0]}/live\?token="))
    stop = threading.Event()
    sender = threading.Thread(target=send_frames, args=(demo_store, names[0], picture, stop))
    sender.start()
    try:
        page.wait_for_function("img => img.naturalWidth === 320", arg=tile.element_handle(), timeout=10_000)
        expect(page.locator(f'[data-camera-status="active"] img[data-camera-id="{names[0]}"]')).to_be_visible()
    finally:
        stop.set()
        sender.join()
    lives = [r.url for r in screen.traffic.requests if f"/api/video-streams/{names[0]}/live" in r.url]
    assert len(lives) == 1, lives  # one long response, never reopened


def send_frames(service: ServiceProcess, camera_id: str, jpeg: bytes, stop: threading.Event) -> None:
    number = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        while not stop.wait(0.1):
            number += 1
            for datagram in encode_chunks(camera_id, time.time(), number, jpeg):
                udp.sendto(datagram, ("127.0.0.1", service.runtime["video_port"]))


# -- today's figures -------------------------------------------------------------------------


def test_todays_figures_show_the_days_orders_and_follow_new_ones_without_asking_again(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    screen = open_screen()
    page = dashboard(screen)
    orders = page.locator("[data-stats] [data-figure=orders]")
    expect(orders).to_have_text(re.compile(r"^\d+$"))

    def agree() -> bool:
        figures = api_get(demo_store, admin, "/api/stats/today")
        bars = page.locator("[data-chart=orders-per-hour] [data-orders]")
        shown = sum(int(bar.get_attribute("data-orders") or "") for bar in bars.all())
        return orders.text_content() == str(figures["orders"]) == str(shown) and figures["orders"] > 0

    eventually(agree, 30, 0.5, what="the page's figures agreeing with the API's")
    menu = api_get(demo_store, admin, "/api/menu")
    dish = next(item for item in menu if item["available"])
    placed = demo_store.http.post(
        "/api/orders", headers=admin, json={"table_id": 1, "items": [{"menu_item_id": dish["id"], "quantity": 1}]}
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    for status in ("cooking", "ready", "serving", "served"):  # staff bump it (unless the robots did first)
        moved = demo_store.http.post(f"/api/orders/{order_id}/status", headers=admin, json={"status": status})
        assert moved.status_code in (200, 409), moved.text
    eventually(lambda: api_get(demo_store, admin, f"/api/orders/{order_id}")["status"] == "served", 20)
    eventually(agree, 30, 0.5, what="the new order counted")
    served = page.locator("[data-stats] [data-figure=served]")
    eventually(lambda: served.text_content() == str(api_get(demo_store, admin, "/api/stats/today")["served"]), 10)
    expect(page.locator("[data-stats] [data-figure=average]")).to_have_text(re.compile(r"\d+ (s|min)"))
    asked = [r.url for r in screen.traffic.requests if "/api/stats/today" in r.url]
    assert len(asked) == 1, asked  # counted from the orders topic


# -- languages, origin, idling ----------------------------------------------------------------


def test_the_dashboard_speaks_korean_and_english(open_screen: Callable[..., Screen]) -> None:
    page = dashboard(open_screen(locale="ko-KR"))
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text("대시보드")
    expect(page.locator("#map-title")).to_have_text("매장 배치도")
    expect(page.locator("#waiting-title")).to_have_text("대기 명단")
    expect(page.locator("#robots-title")).to_have_text("로봇")
    expect(page.locator("#stock-title")).to_have_text("재고")
    expect(page.locator("[data-add-party] [data-action=add-party]")).to_have_text("대기 등록")
    expect(page.locator("[data-robots] [data-command=dock]").first).to_have_text("충전대로")
    page.click("[data-action=switch-language]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#map-title")).to_have_text("Floor")
    expect(page.locator("[data-robots] [data-command=dock]").first).to_have_text("Dock")


def test_an_idle_dashboard_talks_only_over_its_socket_and_only_to_its_origin(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess
) -> None:
    screen = open_screen()
    page = dashboard(screen)
    pending: set[Any] = set()
    page.on("request", lambda request: pending.add(request))
    page.on("requestfinished", lambda request: pending.discard(request))
    page.on("requestfailed", lambda request: pending.discard(request))
    page.reload()  # counted from the start
    expect(page.locator("[data-connection=open]")).to_be_visible()
    expect(page.locator("[data-stats] [data-figure=orders]")).to_be_visible()
    expect(page.locator("svg[data-floor] [data-robot-id]").first).to_be_visible()
    cameras = api_get(demo_store, demo_store.auth(demo_store.token()), "/api/video-streams")
    expect(page.locator("[data-cameras] img[data-camera-id]")).to_have_count(len(cameras))
    streams = {
        page.evaluate("src => new URL(src, location.href).href", img.get_attribute("src"))
        for img in page.locator("img[data-camera-id][data-live=true]").all()
    }

    def loaded() -> bool:
        """Every request of the load has finished, but the camera streams (one long answer each)."""
        asked = set(screen.traffic.urls)
        return streams <= asked and all(request.url in streams for request in pending)

    eventually(loaded, what="the page's load to end")
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    before = len(screen.traffic.requests)
    page.wait_for_timeout(10_000)  # the demo goes on meanwhile: orders, robots moving
    assert screen.traffic.urls[before:] == []
    assert sockets == []  # the one socket stayed up
    assert screen.traffic.outside(demo_store.url) == []

"""The emergency stop on the staff screens, against the demo store and its simulated robots:
one tap stops every robot, every open screen shows the banner at once (the `emergencies`
topic), resuming needs a deliberate confirmation. And a staff screen left alone asks
nothing of the HTTP API and nothing of any other origin: only its socket talks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.service import ADMIN_PASSWORD, ServiceProcess, service_env
from tests.waiting import eventually
from tests.web.conftest import Screen, demo_credentials, new_screen
from tests.web.staff import HeldSocket, sign_in_at

pytestmark = pytest.mark.e2e


@pytest.fixture
def open_page(
    browser: Browser, screens: list[Screen], demo_store: ServiceProcess
) -> Callable[..., tuple[Page, Screen]]:
    password = demo_credentials(demo_store)["staff"]

    def opener(path: str = "/kitchen", locale: str = "en-US") -> tuple[Page, Screen]:
        screen = new_screen(browser, demo_store.url, locale=locale)
        screens.append(screen)
        return sign_in_at(screen, path, "staff", password), screen

    return opener


def robots(service: ServiceProcess) -> list[dict[str, Any]]:
    response = service.http.get("/api/robots", headers=service.auth(service.token()))
    assert response.status_code == 200, response.text
    return list(response.json())


def active_emergencies(service: ServiceProcess) -> list[dict[str, Any]]:
    listed = service.http.get("/api/emergencies", headers=service.auth(service.token())).json()
    return [e for e in listed if e["active"]]


@pytest.fixture(autouse=True)
def no_emergency_left(demo_store: ServiceProcess) -> Iterator[None]:
    """A test that fails half-way leaves no emergency for the next (the store is shared)."""
    yield
    for emergency in active_emergencies(demo_store):
        demo_store.http.post(f"/api/emergencies/{emergency['id']}/resolve", headers=demo_store.auth(demo_store.token()))


def all_online(service: ServiceProcess) -> bool:
    fleet = robots(service)
    return len(fleet) == 5 and all(r["online"] for r in fleet)


def test_one_tap_stops_every_robot_every_screen_shows_it_and_resuming_is_deliberate(
    open_page: Callable[..., tuple[Page, Screen]], demo_store: ServiceProcess
) -> None:
    eventually(lambda: all_online(demo_store), timeout=20, what="the demo's five robots online")
    kitchen, _ = open_page()
    other, _ = open_page(locale="ko-KR")  # a second screen, in Korean
    stop = kitchen.locator('[data-action="emergency-stop"]')
    expect(stop).to_be_enabled()
    expect(kitchen.locator('[data-emergency="active"]')).to_have_count(0)

    stop.click()
    pressed = time.monotonic()
    eventually(
        lambda: all(r["state"] == "emergency" for r in robots(demo_store)),
        timeout=2.0,
        what="every robot reporting emergency",
    )
    stopped_after = time.monotonic() - pressed
    banner = kitchen.locator('[data-emergency="active"]')
    expect(banner).to_contain_text("every robot is stopped")
    expect(banner).to_contain_text("kitchen screen")
    expect(other.locator('[data-emergency="active"]')).to_contain_text("비상 정지")
    for page in (kitchen, other):
        expect(page.locator('[data-action="emergency-stop"]')).to_be_visible()  # always there, latched
        expect(page.locator('[data-action="emergency-stop"]')).to_be_disabled()
    assert stopped_after < 2.0

    kitchen.locator('[data-action="emergency-resolve"]').dblclick()  # a double tap does not resume ...
    dialog = kitchen.locator("[data-confirm-dialog]")
    expect(dialog).to_be_visible()  # ... it asks
    assert active_emergencies(demo_store) and all(r["state"] == "emergency" for r in robots(demo_store))
    kitchen.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    kitchen.locator('[data-action="emergency-resolve"]').click()
    expect(dialog).to_contain_text("Resume every robot?")
    dialog.locator('[data-confirm="no"]').click()
    expect(dialog).to_have_count(0)
    expect(banner).to_be_visible()
    assert all(r["state"] == "emergency" for r in robots(demo_store))

    kitchen.locator('[data-action="emergency-resolve"]').click()
    yes = dialog.locator('[data-confirm="yes"]')
    expect(yes).to_have_text("Yes, resume robots")
    expect(yes).to_have_attribute("data-action", "emergency-resolve")
    yes.click()
    eventually(
        lambda: not any(r["state"] == "emergency" for r in robots(demo_store)),
        timeout=3.0,
        what="every robot out of emergency",
    )
    for page in (kitchen, other):
        expect(page.locator('[data-emergency="active"]')).to_have_count(0)
        expect(page.locator('[data-action="emergency-stop"]')).to_be_enabled()
    emergencies = demo_store.http.get("/api/emergencies", headers=demo_store.auth(demo_store.token())).json()
    assert emergencies[0]["active"] is False and emergencies[0]["reason"] == "stop button on the kitchen screen"


def test_a_screen_opened_during_an_emergency_shows_it_from_the_start(
    open_page: Callable[..., tuple[Page, Screen]], demo_store: ServiceProcess
) -> None:
    admin = demo_store.auth(demo_store.token())
    declared = demo_store.http.post("/api/emergencies", headers=admin, json={"reason": "spill at the pass"})
    assert declared.status_code == 201, declared.text
    try:
        page, _ = open_page()
        expect(page.locator('[data-emergency="active"]')).to_contain_text("spill at the pass")
    finally:
        demo_store.http.post(f"/api/emergencies/{declared.json()['id']}/resolve", headers=admin)
    expect(page.locator('[data-emergency="active"]')).to_have_count(0)


def test_the_stop_shows_at_once_on_its_own_screen_and_the_topic_has_the_last_word(
    browser: Browser, screens: list[Screen], demo_store: ServiceProcess
) -> None:
    """The screen that pressed stop shows the banner from the service's answer, even while
    its socket lags; a resolution made elsewhere clears it as soon as the socket catches up."""
    screen = new_screen(browser, demo_store.url)
    screens.append(screen)
    page = screen.context.new_page()
    socket = HeldSocket(page)
    sign_in_at(screen, "/kitchen", "staff", demo_credentials(demo_store)["staff"], page=page)
    socket.hold()
    page.locator('[data-action="emergency-stop"]').click()
    expect(page.locator('[data-emergency="active"]')).to_be_visible()
    (emergency,) = active_emergencies(demo_store)
    admin = demo_store.auth(demo_store.token())
    assert demo_store.http.post(f"/api/emergencies/{emergency['id']}/resolve", headers=admin).status_code == 200
    expect(page.locator('[data-emergency="active"]')).to_be_visible()  # the socket has not told it yet
    socket.release()
    expect(page.locator('[data-emergency="active"]')).to_have_count(0)


def test_a_screen_back_from_a_restart_forgets_a_stop_resolved_meanwhile(
    browser: Browser, screens: list[Screen], tmp_path: Path
) -> None:
    """What the stop's answer showed gives way to the topic's fresh snapshot: a screen that
    missed the resolution (its socket lagging, then the service restarting) clears it."""
    services = [ServiceProcess(tmp_path).start()]
    try:
        service = services[0]
        screen = new_screen(browser, service.url)
        screens.append(screen)
        page = screen.context.new_page()
        socket = HeldSocket(page)
        sign_in_at(screen, "/kitchen", "admin", ADMIN_PASSWORD, page=page)
        socket.hold()
        page.locator('[data-action="emergency-stop"]').click()
        expect(page.locator('[data-emergency="active"]')).to_be_visible()
        (emergency,) = active_emergencies(service)
        resolved = service.http.post(
            f"/api/emergencies/{emergency['id']}/resolve", headers=service.auth(service.token())
        )
        assert resolved.status_code == 200
        assert service.stop() == 0
        socket.drop()  # what the old socket held is lost with it
        port = str(service.runtime["http_port"])
        services.append(ServiceProcess(tmp_path, service_env(tmp_path, ROBODINE_HTTP_PORT=port)).start())
        expect(page.locator("[data-connection=open]")).to_be_visible(timeout=20_000)
        expect(page.locator('[data-emergency="active"]')).to_have_count(0)
    finally:
        for running in services:
            running.stop()


def test_an_idle_kitchen_asks_nothing_over_http_and_nothing_of_other_origins(
    open_page: Callable[..., tuple[Page, Screen]], demo_store: ServiceProcess
) -> None:
    page, screen = open_page()
    settings = eventually(
        lambda: [r for r in screen.traffic.requests if r.url.endswith("/api/settings")], what="the settings read"
    )
    assert settings[0].response() is not None  # answered: the page's loading is over
    loaded = len(screen.traffic.requests)
    page.wait_for_timeout(10_000)  # the measurement: ten seconds of a wall screen left alone
    assert [r.url for r in screen.traffic.requests[loaded:]] == []
    assert screen.traffic.outside(demo_store.url) == []
    assert all(r.url.startswith(demo_store.url) for r in screen.traffic.requests)
    expect(page.locator("[data-connection=open]")).to_be_visible()

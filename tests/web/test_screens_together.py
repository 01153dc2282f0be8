"""The three screens at once, on the demo store with its simulated robots and guests: an
order placed on a table's kiosk shows on the dashboard and the kitchen at once and
moves to served on all three as the robots work; an emergency stop from the dashboard
stops every robot and shows on every open screen, the kiosk included, until resolved."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.service import ServiceProcess
from tests.waiting import eventually
from tests.web.conftest import Screen, demo_credentials, new_screen
from tests.web.staff import sign_in_at

pytestmark = pytest.mark.e2e
ROBOTS_WORK_S = 90.0
"""The demo's robots cook and serve at a believable pace, on a loaded test machine."""


@pytest.fixture
def open_screen(browser: Browser, screens: list[Screen], demo_store: ServiceProcess) -> Callable[[str, str], Page]:
    users = demo_credentials(demo_store)

    def opener(path: str, username: str) -> Page:
        screen = new_screen(browser, demo_store.url)
        screens.append(screen)
        return sign_in_at(screen, path, username, users[username])

    return opener


def robots(service: ServiceProcess) -> list[dict[str, Any]]:
    return service.http.get("/api/robots", headers=service.auth(service.token())).json()


def test_a_kiosk_order_shows_on_every_screen_at_once_and_moves_to_served(
    open_screen: Callable[[str, str], Page], demo_store: ServiceProcess
) -> None:
    dashboard = open_screen("/dashboard", "staff")
    kitchen = open_screen("/kitchen", "staff")
    kiosk = open_screen("/kiosk", "kiosk-a3")
    dish = kiosk.locator("[data-menu-item-id][data-available=true]").first
    dish.locator("[data-action=add]").click()
    kiosk.click("[data-action=place-order]")
    order_id = kiosk.locator("[data-order-id]").first.get_attribute("data-order-id")
    assert order_id is not None
    card = f"[data-order-id='{order_id}']"
    expect(dashboard.locator(card).first).to_be_visible(timeout=2_000)
    expect(kitchen.locator(card).first).to_be_visible(timeout=2_000)
    for page in (kiosk, dashboard, kitchen):
        expect(page.locator(f"{card}[data-status=served]").first).to_be_attached(timeout=ROBOTS_WORK_S * 1000)


def test_an_emergency_stop_from_the_dashboard_shows_on_every_screen_and_resumes(
    open_screen: Callable[[str, str], Page], demo_store: ServiceProcess
) -> None:
    dashboard = open_screen("/dashboard", "staff")
    kitchen = open_screen("/kitchen", "staff")
    kiosk = open_screen("/kiosk", "kiosk-b2")
    eventually(lambda: all(r["online"] for r in robots(demo_store)), timeout=20, what="the demo robots online")
    dashboard.click("[data-action=emergency-stop]")
    for page in (dashboard, kitchen, kiosk):
        expect(page.locator("[data-emergency=active]").first).to_be_visible(timeout=3_000)
    eventually(
        lambda: all(r["state"] == "emergency" for r in robots(demo_store)),
        timeout=5,
        what="every robot reporting emergency",
    )
    dashboard.click("[data-action=emergency-resolve]")
    dashboard.locator("[data-confirm=yes]").click()
    for page in (dashboard, kitchen, kiosk):
        expect(page.locator("[data-emergency=active]")).to_have_count(0, timeout=3_000)
    eventually(
        lambda: not any(r["state"] == "emergency" for r in robots(demo_store)),
        timeout=10,
        what="the robots leaving emergency",
    )
    assert re.search(r"/dashboard$", dashboard.url)

"""docs/screenshots/kitchen.png, taken from the real page: a store of its own (so order
numbers and tables are the same on every run), a ticket or two in every column, and the
page's clock stopped so the timers read the same too."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.service import ADMIN_PASSWORD, ServiceProcess
from tests.web.conftest import Screen, new_screen
from tests.web.staff import Kitchen, sign_in_at

pytestmark = pytest.mark.e2e

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "kitchen.png"
MENU = ("Bibimbap", "Kimchi stew", "Bulgogi", "Tteokbokki", "Cola")
PLAN: list[tuple[str, list[tuple[str, int, str | None]], str]] = [
    ("A1", [("Bibimbap", 2, "no egg"), ("Cola", 2, None)], "placed"),
    ("A2", [("Kimchi stew", 1, None), ("Tteokbokki", 1, "mild")], "placed"),
    ("B1", [("Bulgogi", 2, None), ("Bibimbap", 1, None)], "cooking"),
    ("B3", [("Kimchi stew", 2, None)], "cooking"),
    ("C1", [("Tteokbokki", 3, None), ("Cola", 3, None)], "ready"),
    ("C2", [("Bulgogi", 1, "sauce on the side")], "serving"),
]
STEPS = ("placed", "cooking", "ready", "serving")


def test_a_screenshot_of_the_kitchen_for_the_docs(browser: Browser, screens: list[Screen], tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        kitchen = Kitchen(service, service.auth(service.token()))
        menu = {name: kitchen.dish(name) for name in MENU}
        screen = new_screen(browser, service.url)
        screens.append(screen)
        page = screen.context.new_page()
        page.clock.install()
        sign_in_at(screen, "/kitchen", "admin", ADMIN_PASSWORD, page=page)
        newest: dict[str, object] = {}
        for table_name, lines, status in PLAN:
            newest = kitchen.order(kitchen.table(table_name), *((menu[n], q, note) for n, q, note in lines))
            for step in STEPS[1 : STEPS.index(status) + 1]:
                kitchen.move(int(str(newest["id"])), step)
        expect(page.locator(f'[data-order-id="{newest["id"]}"]')).to_have_attribute("data-status", "serving")
        placed = datetime.fromisoformat(str(newest["created_at"]).replace("Z", "+00:00"))
        page.clock.pause_at(placed + timedelta(seconds=322))
        expect(page.locator(".ticket.age-warning")).to_have_count(len(PLAN))
        page.evaluate("document.fonts.ready.then(() => true)")
        picture = page.screenshot()  # (path= would write from a thread of Playwright's own)
    # The suite never changes a tracked file: ROBODINE_SCREENSHOTS=1 refreshes the docs' copy.
    target = SCREENSHOT if os.environ.get("ROBODINE_SCREENSHOTS") == "1" else tmp_path / "kitchen.png"
    target.write_bytes(picture)
    assert target.read_bytes()[:4] == b"\x89PNG" and target.stat().st_size > 10_000

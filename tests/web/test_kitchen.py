"""The kitchen's wall screen (`/kitchen`) in a real browser, against a store with no robots,
so an order moves only when the test (or the screen) moves it: tickets appear at once,
one tap moves them, cancel asks, ages colour with the clock, all-day counts, the new-ticket
chime, recall and both languages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.service import ADMIN_PASSWORD, ServiceProcess
from tests.simulator import Simulator
from tests.waiting import eventually
from tests.web.conftest import Screen, new_screen
from tests.web.staff import HeldSocket, Kitchen, sign_in_at

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kitchen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kitchen]:
    with ServiceProcess(tmp_path_factory.mktemp("kitchen-store")) as service:
        yield Kitchen(service, service.auth(service.token()))


@pytest.fixture(scope="module")
def staff_login(kitchen: Kitchen) -> tuple[str, str]:
    username = "line-cook"
    kitchen.service.http.post(
        "/api/users",
        headers=kitchen.admin,
        json={"username": username, "password": "a-good-password", "role": "staff"},
    ).raise_for_status()
    return username, "a-good-password"


@pytest.fixture
def open_kitchen(
    browser: Browser, screens: list[Screen], kitchen: Kitchen, staff_login: tuple[str, str]
) -> Callable[..., Page]:
    """The kitchen page, signed in as staff; `before(page)` runs before it loads."""

    def opener(locale: str = "en-US", before: Callable[[Page], object] | None = None) -> Page:
        screen = new_screen(browser, kitchen.service.url, locale=locale)
        screens.append(screen)
        page = screen.context.new_page()
        if before is not None:
            before(page)
        page = sign_in_at(screen, "/kitchen", *staff_login, page=page)
        expect(page.locator("[data-board][data-loaded=true]")).to_be_visible()
        return page

    return opener


def test_a_new_order_shows_at_once_and_one_tap_moves_it_each_step(
    open_kitchen: Callable[..., Page], kitchen: Kitchen
) -> None:
    page = open_kitchen()
    table = kitchen.table("Window 3")
    dish = kitchen.dish()
    order = kitchen.order(table, (dish, 2, "no sesame"))
    ticket = page.locator(f'[data-order-id="{order["id"]}"]')
    expect(ticket).to_have_attribute("data-status", "placed", timeout=2000)
    expect(ticket).to_have_attribute("data-age-level", "ok")
    expect(ticket.locator(".ticket-table")).to_have_text("Window 3")
    line = ticket.locator(f'[data-menu-item-id="{dish["id"]}"]')
    expect(line).to_contain_text(f"2\N{MULTIPLICATION SIGN} {dish['name']}")
    expect(ticket).to_contain_text("no sesame")
    expect(page.locator('[data-column="placed"]').locator(f'[data-order-id="{order["id"]}"]')).to_be_visible()
    for step in ("cooking", "ready", "serving"):
        ticket.locator(f'[data-action="{step}"]').click()
        eventually(partial(kitchen.has_status, order["id"], step), what=f"the order {step}")
        expect(page.locator(f'[data-column="{step}"] [data-order-id="{order["id"]}"]')).to_be_visible()
    expect(ticket.locator('[data-action="cancel"]')).to_have_count(0)  # not once cooking is over
    ticket.locator('[data-action="served"]').click()
    eventually(lambda: kitchen.status_of(order["id"]) == "served", what="the order served")
    finished = page.locator(f'[data-finished] [data-order-id="{order["id"]}"]')
    expect(finished).to_have_attribute("data-status", "served")
    expect(finished.locator("[data-action]")).to_have_count(0)


def test_a_tap_on_a_ticket_a_robot_already_moved_is_explained_and_the_card_follows(
    open_kitchen: Callable[..., Page], kitchen: Kitchen
) -> None:
    held: list[HeldSocket] = []
    page = open_kitchen(before=lambda p: held.append(HeldSocket(p)))
    order = kitchen.order(kitchen.table("Bar 1"), (kitchen.dish(), 1, None))
    ticket = page.locator(f'[data-order-id="{order["id"]}"]')
    expect(ticket).to_have_attribute("data-status", "placed")
    held[0].hold()  # the screen has not heard yet that ...
    kitchen.move(order["id"], "cooking")  # ... a cookbot took the order
    ticket.locator('[data-action="cooking"]').click()
    expect(ticket.locator(".ticket-notice")).to_contain_text("Already moved on")
    expect(ticket).to_have_attribute("data-status", "placed")
    held[0].release()
    expect(ticket).to_have_attribute("data-status", "cooking")
    expect(ticket.locator(".ticket-notice")).to_have_count(0, timeout=8000)  # shown briefly
    assert kitchen.status_of(order["id"]) == "cooking"


def test_cancel_asks_first_and_only_placed_or_cooking_orders_offer_it(
    open_kitchen: Callable[..., Page], kitchen: Kitchen
) -> None:
    page = open_kitchen()
    table, dish = kitchen.table("Patio 2"), kitchen.dish()
    order = kitchen.order(table, (dish, 1, None))
    ticket = page.locator(f'[data-order-id="{order["id"]}"]')
    ticket.locator('[data-action="cancel"]').click()
    dialog = page.locator("[data-confirm-dialog]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"#{order['id']}")
    expect(dialog).to_contain_text("Patio 2")
    page.keyboard.press("Enter")  # the focus is on "keep": Enter does not cancel
    expect(dialog).to_have_count(0)
    assert kitchen.status_of(order["id"]) == "placed"
    ticket.locator('[data-action="cancel"]').click()
    dialog.locator('[data-confirm="yes"]').click()
    eventually(lambda: kitchen.status_of(order["id"]) == "cancelled", what="the order cancelled")
    expect(page.locator(f'[data-finished] [data-order-id="{order["id"]}"]')).to_have_attribute(
        "data-status", "cancelled"
    )
    ready = kitchen.order(table, (dish, 1, None))
    kitchen.move(ready["id"], "cooking")
    kitchen.move(ready["id"], "ready")
    ready_card = page.locator(f'[data-order-id="{ready["id"]}"]')
    expect(ready_card).to_have_attribute("data-status", "ready")
    expect(ready_card.locator('[data-action="cancel"]')).to_have_count(0)
    expect(ready_card.locator('[data-action="serving"]')).to_be_visible()


def test_age_levels_turn_at_the_settings_thresholds(open_kitchen: Callable[..., Page], kitchen: Kitchen) -> None:
    page = open_kitchen(before=lambda p: p.clock.install())
    order = kitchen.order(kitchen.table("Corner"), (kitchen.dish(), 1, None))
    placed = datetime.fromisoformat(order["created_at"].replace("Z", "+00:00"))
    ticket = page.locator(f'[data-order-id="{order["id"]}"]')
    expect(ticket).to_have_attribute("data-age-level", "ok")
    steps = ((299, "ok", "04:59"), (300, "warning", "05:00"), (479, "warning", "07:59"), (480, "late", "08:00"))
    for after, level, shown in steps:
        page.clock.pause_at(placed + timedelta(seconds=after))
        expect(ticket).to_have_attribute("data-age-level", level)
        expect(ticket.locator(".ticket-age time")).to_have_text(shown)
    expect(ticket.locator(".age-word")).to_have_text("Late")


def test_the_board_takes_its_thresholds_from_the_settings(open_kitchen: Callable[..., Page], kitchen: Kitchen) -> None:
    changed = kitchen.service.http.patch(
        "/api/settings", headers=kitchen.admin, json={"kitchen_warning_s": 60, "kitchen_late_s": 90}
    )
    assert changed.status_code == 200, changed.text
    try:
        page = open_kitchen(before=lambda p: p.clock.install())
        order = kitchen.order(kitchen.table("Booth"), (kitchen.dish(), 1, None))
        placed = datetime.fromisoformat(order["created_at"].replace("Z", "+00:00"))
        ticket = page.locator(f'[data-order-id="{order["id"]}"]')
        expect(ticket).to_have_attribute("data-age-level", "ok")  # shown before the clock stops (frames stop too)
        page.clock.pause_at(placed + timedelta(seconds=61))
        expect(ticket).to_have_attribute("data-age-level", "warning")
        page.clock.pause_at(placed + timedelta(seconds=91))
        expect(ticket).to_have_attribute("data-age-level", "late")
    finally:
        kitchen.service.http.patch(
            "/api/settings", headers=kitchen.admin, json={"kitchen_warning_s": 300, "kitchen_late_s": 480}
        )


def test_all_day_counts_what_is_still_to_cook(open_kitchen: Callable[..., Page], kitchen: Kitchen) -> None:
    page = open_kitchen()
    table = kitchen.table("Family 1")
    soup, rice = kitchen.dish(), kitchen.dish()
    first = kitchen.order(table, (soup, 2, None), (rice, 1, None))
    second = kitchen.order(table, (soup, 3, "extra hot"))

    def count(dish: dict[str, object]) -> Locator:
        return page.locator(f'[data-all-day] [data-menu-item-id="{dish["id"]}"]')

    expect(count(soup)).to_have_attribute("data-count", "5")
    expect(count(rice)).to_have_attribute("data-count", "1")
    kitchen.move(second["id"], "cooking")  # cooking still counts
    expect(count(soup)).to_have_attribute("data-count", "5")
    kitchen.move(second["id"], "ready")
    expect(count(soup)).to_have_attribute("data-count", "2")
    page.locator(f'[data-order-id="{first["id"]}"] [data-action="cancel"]').click()
    page.locator('[data-confirm="yes"]').click()
    expect(count(soup)).to_have_count(0)
    expect(count(rice)).to_have_count(0)


TONES = """
window.__tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return start.apply(this, args); };
"""
"""Counts the tones the browser is asked to play (observing the browser, not our code)."""


def test_a_new_ticket_chimes_once_the_screen_was_started(open_kitchen: Callable[..., Page], kitchen: Kitchen) -> None:
    page = open_kitchen(before=lambda p: p.add_init_script(TONES))
    table, dish = kitchen.table("Chime"), kitchen.dish()
    sound = page.locator('[data-action="start-sound"]')
    expect(sound).to_have_attribute("data-sound", "off")
    quiet = kitchen.order(table, (dish, 1, None))
    expect(page.locator(f'[data-order-id="{quiet["id"]}"]')).to_be_visible()
    assert page.evaluate("window.__tones") == 0  # no gesture yet: no sound
    sound.click()
    expect(sound).to_have_attribute("data-sound", "on")
    armed = page.evaluate("window.__tones")
    assert armed > 0  # the start tap plays the chime once, so the kitchen hears it works
    kitchen.order(table, (dish, 1, None))
    expect(sound).to_have_attribute("data-chimes", "1")
    assert page.evaluate("window.__tones") == 2 * armed
    kitchen.move(quiet["id"], "cooking")  # a ticket moving on is not a new one
    kitchen.order(table, (dish, 1, None))
    expect(sound).to_have_attribute("data-chimes", "2")
    assert page.evaluate("window.__tones") == 3 * armed
    sound.click()  # muted
    expect(sound).to_have_attribute("data-sound", "off")
    unheard = kitchen.order(table, (dish, 1, None))
    expect(page.locator(f'[data-order-id="{unheard["id"]}"]')).to_be_visible()
    assert page.evaluate("window.__tones") == 3 * armed
    expect(sound).to_have_attribute("data-chimes", "2")


def test_recall_shows_the_last_bumped_ticket_again_with_its_state(
    open_kitchen: Callable[..., Page], kitchen: Kitchen
) -> None:
    page = open_kitchen()
    recall = page.locator('[data-action="recall"]')
    expect(recall).to_be_disabled()  # nothing bumped yet on this screen
    order = kitchen.order(kitchen.table("Recall"), (kitchen.dish(), 1, None))
    ticket = page.locator(f'.board-columns [data-order-id="{order["id"]}"]')
    for step in ("cooking", "ready", "serving", "served"):
        ticket.locator(f'[data-action="{step}"]').click()
        eventually(partial(kitchen.has_status, order["id"], step), what=f"the order {step}")
    recall.click()
    recalled = page.locator(f'[data-recall] [data-order-id="{order["id"]}"]')
    expect(recalled).to_have_attribute("data-status", "served")
    expect(page.locator("[data-recall]")).to_contain_text("Served")
    page.locator('[data-action="close-recall"]').click()
    expect(page.locator("[data-recall]")).to_have_count(0)
    other = kitchen.order(kitchen.table("Recall 2"), (kitchen.dish(), 1, None))
    page.locator(f'[data-order-id="{other["id"]}"] [data-action="cooking"]').click()
    eventually(lambda: kitchen.status_of(other["id"]) == "cooking", what="the order cooking")
    recall.click()
    live = page.locator(f'[data-recall] [data-order-id="{other["id"]}"]')
    expect(live).to_have_attribute("data-status", "cooking")
    live.locator('[data-action="ready"]').click()  # still actionable from the recall
    eventually(lambda: kitchen.status_of(other["id"]) == "ready", what="the recalled order ready")
    expect(live).to_have_attribute("data-status", "ready")


def test_an_order_the_robots_could_not_cook_is_flagged_with_the_reason(
    browser: Browser, screens: list[Screen], tmp_path: Path
) -> None:
    with ServiceProcess(tmp_path) as service:
        store = Kitchen(service, service.auth(service.token()))
        assert service.http.patch("/api/settings", headers=store.admin, json={"max_task_attempts": 1}).is_success
        screen = new_screen(browser, service.url)
        screens.append(screen)
        page = sign_in_at(screen, "/kitchen", "admin", ADMIN_PASSWORD)
        with Simulator(service, "--behave", "sim-cook-1=fail", albabots=1, cookbots=1, speed=20):
            eventually(
                lambda: sum(r["online"] for r in service.http.get("/api/robots", headers=store.admin).json()) == 2,
                timeout=20,
                what="the simulated robots online",
            )
            order = store.order(store.table("Unlucky"), (store.dish(), 1, None))
            ticket = page.locator(f'[data-order-id="{order["id"]}"]')
            expect(ticket).to_have_attribute("data-flagged", "true", timeout=30_000)
            expect(ticket.locator(".ticket-flag")).to_contain_text("Needs attention")
            expect(ticket.locator(".ticket-flag")).to_contain_text("simulated failure")


def test_the_kitchen_speaks_korean_and_english(open_kitchen: Callable[..., Page], kitchen: Kitchen) -> None:
    page = open_kitchen(locale="ko-KR")
    order = kitchen.order(kitchen.table("Hangul"), (kitchen.dish(), 1, None))
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text("주방")
    expect(page.locator('[data-column="placed"] h2')).to_contain_text("신규")
    ticket = page.locator(f'[data-order-id="{order["id"]}"]')
    expect(ticket.locator('[data-action="cooking"]')).to_have_text("조리 시작")
    expect(page.locator('[data-action="emergency-stop"]')).to_have_text("로봇 모두 정지")
    expect(page.locator('[data-action="start-sound"]')).to_contain_text("알림음")
    page.click("[data-action=switch-language]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Kitchen")
    expect(ticket.locator('[data-action="cooking"]')).to_have_text("Start cooking")
    expect(page.locator('[data-action="emergency-stop"]')).to_have_text("Stop all robots")

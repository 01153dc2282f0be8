"""The table's tablet (`/kiosk`) in a real browser, against the demo store: the menu with
what can be ordered (live), the cart and placing an order exactly once (double taps,
Wi-Fi drops, lost answers), refusals in words, the table's orders live to served,
calling staff, staying signed in, languages, and no traffic but the socket.

The demo's guests order on their own all the while (at any table), so every test finds
its own orders by a note nobody else writes, and each uses its own table's kiosk.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.service import ServiceProcess
from tests.waiting import eventually
from tests.web.conftest import Screen, demo_credentials, new_screen

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "kiosk.png"
STEPS = ["placed", "cooking", "ready", "serving", "served"]
_notes = itertools.count(1)


# -- the store, through the API ------------------------------------------------------------


@pytest.fixture(scope="module")
def admin(demo_store: ServiceProcess) -> dict[str, str]:
    return demo_store.auth(demo_store.token())


@pytest.fixture(scope="module")
def staff(demo_store: ServiceProcess) -> dict[str, str]:
    return demo_store.auth(demo_store.token("staff", demo_credentials(demo_store)["staff"]))


@pytest.fixture(scope="module")
def menu(demo_store: ServiceProcess, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    dishes = demo_store.http.get("/api/menu", headers=admin, params={"limit": 1000}).json()
    return {dish["name"]: dish for dish in dishes}


def shelf(service: ServiceProcess, admin: dict[str, str], name: str) -> dict[str, Any]:
    items = service.http.get("/api/inventory", headers=admin, params={"limit": 1000}).json()
    return next(item for item in items if item["name"] == name)


def set_count(service: ServiceProcess, admin: dict[str, str], name: str, count: int) -> None:
    item = shelf(service, admin, name)
    response = service.http.patch(f"/api/inventory/{item['id']}", headers=admin, json={"count": count})
    assert response.status_code == 200, response.text


def orders_noted(service: ServiceProcess, admin: dict[str, str], table_id: int, note: str) -> list[dict[str, Any]]:
    """The table's orders with a line carrying `note` (which only this test writes)."""
    listed = service.http.get("/api/orders", headers=admin, params={"table_id": table_id, "limit": 1000}).json()
    return [order for order in listed if any(line["note"] == note for line in order["items"])]


def unique_note() -> str:
    return f"kiosk test {next(_notes)}"


# -- the tablet ----------------------------------------------------------------------------


class Kiosk:
    """A signed-in kiosk page and what it sent."""

    def __init__(self, screen: Screen, page: Page, table_id: int) -> None:
        self.screen = screen
        self.page = page
        self.table_id = table_id

    def dish(self, dish_id: int) -> Any:
        return self.page.locator(f"[data-menu-item-id='{dish_id}']")

    def add(self, dish_id: int, times: int = 1) -> None:
        for _ in range(times):
            self.dish(dish_id).locator("[data-action=add]").click()

    def note(self, dish_id: int, text: str) -> None:
        self.page.locator(f"[data-cart-item-id='{dish_id}'] input[name=note]").fill(text)

    def posts(self, path: str) -> list[Request]:
        return [r for r in self.screen.traffic.requests if r.method == "POST" and r.url.endswith(path)]

    def outcome(self, kind: str) -> Any:
        return self.page.locator(f"[data-outcome={kind}]")


@pytest.fixture
def open_kiosk(
    browser: Browser, screens: list[Screen], demo_store: ServiceProcess, admin: dict[str, str]
) -> Callable[..., Kiosk]:
    users = demo_credentials(demo_store)

    def opener(table: str, locale: str = "en-US") -> Kiosk:
        screen = new_screen(browser, demo_store.url, locale=locale)
        screens.append(screen)
        page = screen.open("/")
        username = f"kiosk-{table.lower()}"
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", users[username])
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/kiosk$"))
        expect(page.locator("[data-connection=open]")).to_be_visible()
        expect(page.locator("[data-menu-item-id]").first).to_be_visible()
        me = demo_store.http.get("/api/auth/me", headers={"Authorization": f"Bearer {stored_token(page)}"}).json()
        return Kiosk(screen, page, me["table_id"])

    return opener


def stored_token(page: Page) -> str:
    return str(page.evaluate("JSON.parse(localStorage.getItem('robodine.session')).token"))


# -- the menu ----------------------------------------------------------------------------------


def test_the_menu_shows_every_dish_by_category_and_follows_the_stock_live(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess, admin: dict[str, str], menu: dict[str, Any]
) -> None:
    kiosk = open_kiosk("A2")
    page = kiosk.page
    expect(page.locator("[data-menu-item-id]")).to_have_count(len(menu))
    for dish in menu.values():
        card = kiosk.dish(dish["id"])
        expect(card).to_contain_text(dish["name"])
        expect(card).to_have_attribute("data-available", "true" if dish["available"] else "false")
    expect(page.locator(".menu-section h2")).to_have_text(["Mains", "Soups & stews", "Snacks", "Sides", "Drinks"])
    cider = kiosk.dish(menu["Cider"]["id"])
    try:
        set_count(demo_store, admin, "cider", 0)
        expect(cider).to_have_attribute("data-available", "false")
        expect(cider).to_contain_text("Sold out")
        expect(cider.locator("[data-action=add]")).to_be_disabled()
        shelf_id = shelf(demo_store, admin, "cider")["id"]
        demo_store.http.post(f"/api/inventory/{shelf_id}/restock", headers=admin, json={"quantity": 96})
        expect(cider).to_have_attribute("data-available", "true")
        expect(cider.locator("[data-action=add]")).to_be_enabled()
    finally:
        if shelf(demo_store, admin, "cider")["count"] == 0:
            set_count(demo_store, admin, "cider", 96)


def test_a_dish_ordered_out_greys_at_once_on_another_tablet(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess, admin: dict[str, str], menu: dict[str, Any]
) -> None:
    """One tablet takes the last green tea; the other shows it sold out without reloading."""
    watching, ordering = open_kiosk("A3"), open_kiosk("A4")
    tea = menu["Green tea"]["id"]
    note = unique_note()
    ordering.add(tea)
    ordering.note(tea, note)
    try:
        set_count(demo_store, admin, "green tea", 1)
        ordering.page.click("[data-action=place-order]")
        expect(ordering.outcome("placed")).to_be_visible()
        expect(watching.dish(tea)).to_have_attribute("data-available", "false")
        expect(ordering.dish(tea)).to_have_attribute("data-available", "false")
    finally:
        set_count(demo_store, admin, "green tea", 200)
    expect(watching.dish(tea)).to_have_attribute("data-available", "true")


# -- placing an order ----------------------------------------------------------------------------


def test_placing_an_order_makes_one_order_with_the_carts_lines(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess, admin: dict[str, str], menu: dict[str, Any]
) -> None:
    kiosk = open_kiosk("B1")
    page = kiosk.page
    bibimbap, cola = menu["Bibimbap"]["id"], menu["Cola"]["id"]
    kiosk.add(bibimbap, 3)
    kiosk.add(cola)
    page.locator(f"[data-cart-item-id='{bibimbap}'] [data-action=less]").click()
    note = unique_note()
    kiosk.note(bibimbap, note)
    expect(kiosk.dish(bibimbap)).to_contain_text("2 in your order")
    expect(page.locator(".cart-total")).to_contain_text("25.50")
    page.click("[data-action=place-order]")
    expect(kiosk.outcome("placed")).to_be_visible()
    (order,) = orders_noted(demo_store, admin, kiosk.table_id, note)
    lines = [(line["menu_item_id"], line["quantity"], line["note"]) for line in order["items"]]
    assert lines == [(bibimbap, 2, note), (cola, 1, None)]
    assert order["total"] == 25.5
    card = page.locator(f"[data-order-id='{order['id']}']")
    expect(card).to_have_attribute("data-status", re.compile("|".join(STEPS)))
    expect(card).to_contain_text("2 \u00d7 Bibimbap")
    expect(card).to_contain_text(note)
    expect(page.locator(".cart-lines")).to_have_count(0)  # the cart is empty again
    key = kiosk.posts("/api/orders")[0].headers["idempotency-key"]
    assert re.fullmatch(r"[0-9a-f]{32}", key)


def test_a_double_tap_on_place_order_orders_once(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess, admin: dict[str, str], menu: dict[str, Any]
) -> None:
    kiosk = open_kiosk("B2")
    page = kiosk.page
    cola = menu["Cola"]["id"]
    place = page.locator("[data-action=place-order]")
    first, second = unique_note(), unique_note()
    kiosk.add(cola)
    kiosk.note(cola, first)
    place.dblclick()
    expect(kiosk.outcome("placed")).to_be_visible()
    kiosk.add(cola)
    kiosk.note(cola, second)
    place.evaluate("button => { button.dispatchEvent(new MouseEvent('click', {bubbles: true})); button.click(); }")
    expect(kiosk.outcome("placed")).to_be_visible()
    assert len(orders_noted(demo_store, admin, kiosk.table_id, first)) == 1
    assert len(orders_noted(demo_store, admin, kiosk.table_id, second)) == 1
    keys = [r.headers["idempotency-key"] for r in kiosk.posts("/api/orders")]
    assert len(keys) == 2 and keys[0] != keys[1]


def test_a_retry_after_the_network_failed_orders_once(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess, admin: dict[str, str], menu: dict[str, Any]
) -> None:
    kiosk = open_kiosk("B4")
    page = kiosk.page
    cola = menu["Cola"]["id"]
    note = unique_note()
    kiosk.add(cola, 2)
    kiosk.note(cola, note)
    kiosk.screen.context.set_offline(True)
    page.click("[data-action=place-order]")
    expect(kiosk.outcome("problem")).to_contain_text("Not sent")
    assert orders_noted(demo_store, admin, kiosk.table_id, note) == []
    kiosk.screen.context.set_offline(False)
    page.click("[data-action=place-order]")
    expect(kiosk.outcome("placed")).to_be_visible()
    assert len(orders_noted(demo_store, admin, kiosk.table_id, note)) == 1
    keys = {r.headers["idempotency-key"] for r in kiosk.posts("/api/orders")}
    assert len(keys) == 1, "the retry must carry the first attempt's key"


def test_a_retry_after_the_answer_was_lost_orders_once(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess, admin: dict[str, str], menu: dict[str, Any]
) -> None:
    """The order reached the service and was placed, but the answer never came back (the
    Wi-Fi dropped on the way back): the retry gets the first answer, not a second order."""
    kiosk = open_kiosk("B5")
    page = kiosk.page
    cider = menu["Cider"]["id"]
    note = unique_note()
    answers: list[int] = []

    def lose_the_first_answer(route: Route) -> None:
        if answers:
            route.continue_()
            return
        answers.append(route.fetch().status)  # the service places the order...
        route.abort("connectionreset")  # ...and the tablet never hears of it

    page.route("**/api/orders", lose_the_first_answer)
    kiosk.add(cider)
    kiosk.note(cider, note)
    page.click("[data-action=place-order]")
    expect(kiosk.outcome("problem")).to_contain_text("Not sent")
    assert answers == [201] and len(orders_noted(demo_store, admin, kiosk.table_id, note)) == 1
    page.click("[data-action=place-order]")
    expect(kiosk.outcome("placed")).to_be_visible()
    assert len(orders_noted(demo_store, admin, kiosk.table_id, note)) == 1
    keys = {r.headers["idempotency-key"] for r in kiosk.posts("/api/orders")}
    assert len(keys) == 1


def test_out_of_stock_is_explained_and_a_later_try_is_a_new_attempt(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess, admin: dict[str, str], menu: dict[str, Any]
) -> None:
    """Five eggs, two steamed eggs of three each: refused, naming the dish. Once eggs are
    restocked the same cart is placed (the refusal is not replayed to it)."""
    kiosk = open_kiosk("B6")
    page = kiosk.page
    egg = menu["Steamed egg"]["id"]
    note = unique_note()
    before = shelf(demo_store, admin, "egg")["count"]
    try:
        set_count(demo_store, admin, "egg", 5)
        kiosk.add(egg, 2)
        kiosk.note(egg, note)
        page.click("[data-action=place-order]")
        problem = kiosk.outcome("problem")
        expect(problem).to_contain_text("not enough left for: Steamed egg")
        expect(page.locator(f"[data-cart-item-id='{egg}']")).to_contain_text("Not enough left")
        set_count(demo_store, admin, "egg", max(before, 20))
        page.click("[data-action=place-order]")
        expect(kiosk.outcome("placed")).to_be_visible()
    finally:
        set_count(demo_store, admin, "egg", max(before, 20))
    assert len(orders_noted(demo_store, admin, kiosk.table_id, note)) == 1
    keys = [r.headers["idempotency-key"] for r in kiosk.posts("/api/orders")]
    assert len(keys) == 2 and keys[0] != keys[1]


# -- the table's orders -------------------------------------------------------------------


def test_an_order_follows_its_status_live_to_served(
    open_kiosk: Callable[..., Kiosk],
    demo_store: ServiceProcess,
    admin: dict[str, str],
    staff: dict[str, str],
    menu: dict[str, Any],
) -> None:
    """Staff (and the demo's robots, whichever is first) move it along; the card follows."""
    kiosk = open_kiosk("C1")
    cola = menu["Cola"]["id"]
    note = unique_note()
    kiosk.add(cola)
    kiosk.note(cola, note)
    kiosk.page.click("[data-action=place-order]")
    expect(kiosk.outcome("placed")).to_be_visible()
    (order,) = orders_noted(demo_store, admin, kiosk.table_id, note)
    card = kiosk.page.locator(f"[data-order-id='{order['id']}']")
    for target in STEPS[1:]:
        moved = demo_store.http.post(f"/api/orders/{order['id']}/status", headers=staff, json={"status": target})
        assert moved.status_code in (200, 409), moved.text  # 409: a robot took it there (or past) first
        at_or_past = "|".join(STEPS[STEPS.index(target) :])
        expect(card).to_have_attribute("data-status", re.compile(f"^({at_or_past})$"))
    expect(card).to_have_attribute("data-status", "served")
    expect(card).to_contain_text("Served")
    status = demo_store.http.get(f"/api/orders/{order['id']}", headers=admin).json()["status"]
    assert status == "served"


@pytest.fixture
def emergency(demo_store: ServiceProcess, staff: dict[str, str]) -> Iterator[None]:
    """Robots paused, so a placed order stays placed (nothing cooks it) while a test looks."""
    declared = demo_store.http.post("/api/emergencies", headers=staff, json={"reason": "kiosk test: hold the kitchen"})
    assert declared.status_code == 201, declared.text
    try:
        yield
    finally:
        demo_store.http.post(f"/api/emergencies/{declared.json()['id']}/resolve", headers=staff)


def test_a_placed_order_is_cancelled_after_a_question(
    open_kiosk: Callable[..., Kiosk],
    demo_store: ServiceProcess,
    admin: dict[str, str],
    menu: dict[str, Any],
    emergency: None,
) -> None:
    kiosk = open_kiosk("C2")
    page = kiosk.page
    cider = menu["Cider"]["id"]
    note = unique_note()
    kiosk.add(cider)
    kiosk.note(cider, note)
    page.click("[data-action=place-order]")
    expect(kiosk.outcome("placed")).to_be_visible()
    (order,) = orders_noted(demo_store, admin, kiosk.table_id, note)
    card = page.locator(f"[data-order-id='{order['id']}']")
    expect(card).to_have_attribute("data-status", "placed")
    card.locator("[data-action=cancel]").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Cancel order {order['id']}?")
    dialog.locator("[data-action=dismiss]").click()
    expect(dialog).to_have_count(0)
    assert kiosk.posts("/cancel") == []
    card.locator("[data-action=cancel]").click()
    page.get_by_role("dialog").locator("[data-action=confirm-cancel]").click()
    expect(card).to_have_attribute("data-status", "cancelled")
    expect(card).to_contain_text("Cancelled")
    assert demo_store.http.get(f"/api/orders/{order['id']}", headers=admin).json()["status"] == "cancelled"


# -- calling staff ----------------------------------------------------------------------------


def staff_calls(service: ServiceProcess, admin: dict[str, str], table_id: int) -> list[dict[str, Any]]:
    events = service.http.get("/api/events", headers=admin, params={"type": "staff_called", "limit": 1000}).json()
    return [e for e in events if e["entity_type"] == "table" and int(e["entity_id"]) == table_id]


def test_calling_staff_makes_one_call_however_often_it_is_tapped(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess, admin: dict[str, str]
) -> None:
    kiosk = open_kiosk("A1")
    page = kiosk.page
    before = len(staff_calls(demo_store, admin, kiosk.table_id))
    button = page.locator("[data-action=call-staff]")
    button.evaluate("button => { button.click(); button.click(); }")
    expect(page.get_by_role("status").filter(has_text="Staff are on their way.")).to_be_visible()
    expect(button).to_be_disabled()
    eventually(lambda: len(staff_calls(demo_store, admin, kiosk.table_id)) == before + 1, what="one staff_called")
    assert len(kiosk.posts("/call-staff")) == 1


# -- staying signed in -------------------------------------------------------------------------


def test_the_kiosk_stays_signed_in_across_a_reload_and_a_token_refresh(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess
) -> None:
    kiosk = open_kiosk("B3")
    page = kiosk.page
    first = stored_token(page)
    login = page.evaluate("JSON.parse(localStorage.getItem('robodine.session'))")
    assert 29 * 86400_000 < login["expiresAt"] - login["issuedAt"] <= 30 * 86400_000  # a kiosk's 30 days
    page.reload()
    expect(page.locator("[data-connection=open]")).to_be_visible()
    assert page.url.endswith("/kiosk") and stored_token(page) == first and kiosk.posts("/api/auth/refresh") == []
    # Three quarters of its life gone (as the page sees it): it refreshes the token as it loads.
    page.evaluate(
        """() => { const s = JSON.parse(localStorage.getItem('robodine.session'));
        const life = s.expiresAt - s.issuedAt;
        s.issuedAt = Date.now() - 0.75 * life;
        s.expiresAt = s.issuedAt + life;
        localStorage.setItem('robodine.session', JSON.stringify(s)); }"""
    )
    page.reload()
    expect(page.locator("[data-connection=open]")).to_be_visible()
    eventually(lambda: stored_token(page) != first, what="a refreshed token stored")
    assert len(kiosk.posts("/api/auth/refresh")) == 1
    fresh = stored_token(page)
    me = demo_store.http.get("/api/auth/me", headers=demo_store.auth(fresh)).json()
    assert (me["role"], me["table_id"]) == ("kiosk", kiosk.table_id)
    # The old token ends (here: revoked): its socket closes and the page reconnects with the new one.
    with page.expect_websocket():
        assert demo_store.http.post("/api/auth/logout", headers=demo_store.auth(first)).status_code == 204
    expect(page.locator("[data-connection=open]")).to_be_visible()
    assert page.url.endswith("/kiosk")
    page.reload()
    expect(page.locator("[data-connection=open]")).to_be_visible()
    assert page.url.endswith("/kiosk") and stored_token(page) == fresh


def test_signing_out_asks_for_staffs_confirmation(open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess) -> None:
    kiosk = open_kiosk("B3")
    page = kiosk.page
    token = stored_token(page)
    page.click("[data-action=sign-out]")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("For staff only")
    expect(dialog.locator("[data-action=dismiss]")).to_be_focused()  # the safe answer
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert page.url.endswith("/kiosk") and kiosk.posts("/api/auth/logout") == []
    page.click("[data-action=sign-out]")
    page.click("[data-action=confirm-sign-out]")
    expect(page).to_have_url(re.compile(r"/$"))
    assert demo_store.http.get("/api/auth/me", headers=demo_store.auth(token)).status_code == 401


# -- languages, traffic, the picture ------------------------------------------------------------


def test_korean_and_english(open_kiosk: Callable[..., Kiosk], menu: dict[str, Any]) -> None:
    kiosk = open_kiosk("A2", locale="ko-KR")
    page = kiosk.page
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text("A2 테이블")
    expect(page.locator("[data-action=place-order]")).to_have_text("주문하기")
    expect(page.locator("[data-action=call-staff]")).to_contain_text("직원 호출")
    expect(page.locator(".menu-section h2").first).to_have_text("식사")
    page.click("[data-action=switch-language]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Table A2")
    expect(page.locator("[data-action=place-order]")).to_have_text("Place order")
    expect(kiosk.dish(menu["Bibimbap"]["id"]).locator("[data-action=add]")).to_have_text("+ Add")


def test_nothing_leaves_the_origin_and_an_idle_kiosk_makes_no_requests(
    open_kiosk: Callable[..., Kiosk], demo_store: ServiceProcess
) -> None:
    kiosk = open_kiosk("A3")
    page = kiosk.page
    expect(page.locator("h1")).to_have_text("Table A3")  # the one read at load has answered
    settled = len(kiosk.screen.traffic.requests)
    page.wait_for_timeout(10_000)  # the idle period itself is what is measured
    assert kiosk.screen.traffic.urls[settled:] == []
    assert kiosk.screen.traffic.outside(demo_store.url) == []


def test_the_kiosk_picture(
    open_kiosk: Callable[..., Kiosk],
    demo_store: ServiceProcess,
    admin: dict[str, str],
    menu: dict[str, Any],
    tmp_path: Path,
) -> None:
    """A 1280x800 picture of a tablet with a cart, an order on its way and a dish sold
    out; written to docs/screenshots/kiosk.png when ROBODINE_SCREENSHOTS=1 (to refresh
    the README's)."""
    kiosk = open_kiosk("B1")
    page = kiosk.page
    kiosk.add(menu["Kimchi stew"]["id"])
    kiosk.page.click("[data-action=place-order]")
    expect(kiosk.outcome("placed")).to_be_visible()
    kiosk.add(menu["Bulgogi"]["id"], 2)
    kiosk.note(menu["Bulgogi"]["id"], "no sesame, please")
    kiosk.add(menu["Cola"]["id"])
    page.locator(".kiosk-menu").evaluate("menu => menu.scrollTo(0, 0)")
    before = shelf(demo_store, admin, "rice cake")["count"]
    try:
        set_count(demo_store, admin, "rice cake", 0)
        expect(kiosk.dish(menu["Dakgalbi"]["id"])).to_have_attribute("data-available", "false")
        picture = page.screenshot()  # bytes: with a path, Playwright writes it from a thread it never stops
    finally:
        set_count(demo_store, admin, "rice cake", max(before, 1000))
    assert picture[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.viewport_size == {"width": 1280, "height": 800}
    target = SCREENSHOT if os.environ.get("ROBODINE_SCREENSHOTS") == "1" else tmp_path / "kiosk.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(picture)

"""Sign in (`/`) in a real browser: where each role lands, refusals in plain words,
coming back to the page that sent you, and staying signed in."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.service import ADMIN_PASSWORD, ServiceProcess
from tests.web.conftest import Screen, demo_credentials, new_screen

pytestmark = pytest.mark.e2e


@pytest.fixture
def open_screen(browser: Browser, screens: list[Screen], demo_store: ServiceProcess) -> Callable[..., Screen]:
    def opener(locale: str = "en-US") -> Screen:
        screen = new_screen(browser, demo_store.url, locale=locale)
        screens.append(screen)
        return screen

    return opener


def sign_in(page: Page, username: str, password: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_a_wrong_password_is_refused_in_plain_words(open_screen: Callable[..., Screen]) -> None:
    page = open_screen().open("/")
    sign_in(page, "admin", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    assert page.url.endswith("/")


def test_staff_land_on_the_dashboard_and_a_kiosk_on_its_table(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess
) -> None:
    users = demo_credentials(demo_store)
    staff = open_screen().open("/")
    sign_in(staff, "staff", users["staff"])
    expect(staff).to_have_url(re.compile(r"/dashboard$"))
    kiosk_user = next(name for name in users if name.startswith("kiosk-"))
    kiosk = open_screen().open("/")
    sign_in(kiosk, kiosk_user, users[kiosk_user])
    expect(kiosk).to_have_url(re.compile(r"/kiosk$"))


def test_a_page_opened_without_a_session_signs_in_and_comes_back(open_screen: Callable[..., Screen]) -> None:
    page = open_screen().open("/kitchen")
    expect(page).to_have_url(re.compile(r"/\?next=%2Fkitchen$"))
    sign_in(page, "admin", ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/kitchen$"))


def test_a_kiosk_stays_signed_in_across_reloads_until_signed_out(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess
) -> None:
    users = demo_credentials(demo_store)
    kiosk_user = next(name for name in users if name.startswith("kiosk-"))
    screen = open_screen()
    page = screen.open("/")
    sign_in(page, kiosk_user, users[kiosk_user])
    expect(page).to_have_url(re.compile(r"/kiosk$"))
    page.close()
    again = screen.open("/kiosk")  # the tablet restarted its browser tab
    expect(again.locator("[data-connection=open]")).to_be_visible()
    assert again.url.endswith("/kiosk")
    again.click("[data-action=sign-out]")
    again.click("[data-action=confirm-sign-out]")  # the guests' tablet: staff confirm
    expect(again).to_have_url(re.compile(r"/$"))
    expect(screen.open("/kiosk")).to_have_url(re.compile(r"/\?next=%2Fkiosk$"))


def test_the_page_follows_the_browsers_language_and_offers_a_switch(open_screen: Callable[..., Screen]) -> None:
    korean = open_screen(locale="ko-KR").open("/")
    expect(korean.locator("html")).to_have_attribute("lang", "ko")
    expect(korean.locator("h1")).to_have_text("로그인")
    korean.click("[data-action=switch-language]")
    expect(korean.locator("html")).to_have_attribute("lang", "en")
    expect(korean.locator("h1")).to_have_text("Sign in")
    english = open_screen(locale="en-GB").open("/")
    expect(english.locator("html")).to_have_attribute("lang", "en")


def test_sign_in_loads_nothing_from_any_other_origin(
    open_screen: Callable[..., Screen], demo_store: ServiceProcess
) -> None:
    screen = open_screen()
    page = screen.open("/")
    sign_in(page, "admin", ADMIN_PASSWORD)
    expect(page.locator("[data-connection=open]")).to_be_visible()
    assert screen.traffic.requests, "the recorder saw nothing"
    assert screen.traffic.outside(demo_store.url) == []

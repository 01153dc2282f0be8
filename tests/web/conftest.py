"""Browser tests: Debian's Chromium driven by Playwright, against the real service.

Chromium comes from Debian's `chromium` package (Playwright's own browser download does
not exist here): when /usr/bin/chromium is missing, the fixture installs the package
(the test machines run as root; `sudo -n` otherwise) and fails with the reason if it
cannot. One browser per test module; a fresh context (no storage) per test. Every
request a page makes is recorded, so tests can check that nothing leaves the origin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, ViewportSize, sync_playwright

from tests.service import ServiceProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
"""As root Chromium needs --no-sandbox; the rest keep it from calling Google's hosts,
which this machine's closed network refuses (many connections at every start)."""
TABLET: ViewportSize = {"width": 1280, "height": 800}


def chromium_executable() -> str:
    """Debian's Chromium, installed on first use if missing."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    apt = ["apt-get", "install", "-y", "-q", "chromium"]
    command = apt if os.geteuid() == 0 else ["sudo", "-n", *apt]
    if shutil.which(command[0]) is None:
        pytest.fail(f"{CHROMIUM} is missing and {command[0]} is not available to install Debian's chromium")
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=False
    )
    if result.returncode != 0 or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"could not install Debian's chromium ({' '.join(command)}):\n{result.stderr[-2000:]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Per module, not per session: Playwright's sync API keeps an asyncio loop running
    on this thread while it lives, and any other test on the same worker calling
    `asyncio.run()` in between would fail ("cannot be called from a running event loop")."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Traffic:
    """Every request pages of one context made."""

    requests: list[Request] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.requests]

    def outside(self, origin: str) -> list[str]:
        return [url for url in self.urls if not url.startswith((origin, origin.replace("http", "ws", 1), "data:"))]


@dataclass
class Screen:
    """A browser context on a service: open pages, see what they asked for."""

    context: BrowserContext
    base: str
    traffic: Traffic

    def open(self, path: str) -> Page:
        page = self.context.new_page()
        page.goto(self.base + path)
        return page


def new_screen(browser: Browser, base: str, *, locale: str = "en-US") -> Screen:
    context = browser.new_context(viewport=TABLET, locale=locale, has_touch=True)
    context.set_default_timeout(10_000)
    traffic = Traffic()
    context.on("request", lambda request: traffic.requests.append(request))
    return Screen(context, base, traffic)


@pytest.fixture
def screens(browser: Browser) -> Iterator[list[Screen]]:
    """Contexts opened by a test (closed after it): `open_screen(service)` adds one."""
    opened: list[Screen] = []
    yield opened
    for screen in opened:
        screen.context.close()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The demo store with its simulated robots and guests, shared by a module's tests."""
    data_dir: Path = tmp_path_factory.mktemp("web-store")
    with ServiceProcess(data_dir, args=("--demo",)) as service:
        yield service


def demo_credentials(service: ServiceProcess) -> dict[str, str]:
    text = (service.data_dir / "demo-credentials.txt").read_text()
    return dict(line.split()[:2] for line in text.splitlines() if line.strip() and not line.startswith("#"))

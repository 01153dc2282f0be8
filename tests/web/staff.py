"""Helpers for the staff screens' browser tests: signing in through the page, a small store
built through the API, and a switch that holds the live socket's messages back."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.http.store_setup import make_dish, make_stock, make_table
from tests.service import ServiceProcess
from tests.web.conftest import Screen


def sign_in_at(screen: Screen, path: str, username: str, password: str, page: Page | None = None) -> Page:
    """Open `path` (the page sends us to sign in and back) and wait for its live socket."""
    page = page or screen.context.new_page()
    page.goto(screen.base + path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    expect(page.locator("[data-connection=open]")).to_be_visible()
    return page


@dataclass
class Kitchen:
    """A store with no robots (orders move only when someone taps), built through the API."""

    service: ServiceProcess
    admin: dict[str, str]
    tables: list[dict[str, Any]] = field(default_factory=list)
    dishes: list[dict[str, Any]] = field(default_factory=list)

    def dish(self, name: str | None = None) -> dict[str, Any]:
        """A dish of its own (so all-day counts of one test are not mixed with another's)."""
        stock = make_stock(self.service, self.admin, 10_000)
        dish = make_dish(self.service, self.admin, {stock["id"]: 1})
        if name:
            dish = self.service.http.patch(f"/api/menu/{dish['id']}", headers=self.admin, json={"name": name}).json()
        self.dishes.append(dish)
        return dish

    def table(self, name: str) -> dict[str, Any]:
        table = make_table(self.service, self.admin, name=name)
        self.tables.append(table)
        return table

    def order(self, table: dict[str, Any], *lines: tuple[dict[str, Any], int, str | None]) -> dict[str, Any]:
        items = [{"menu_item_id": d["id"], "quantity": q, **({"note": n} if n else {})} for d, q, n in lines]
        body = {"table_id": table["id"], "items": items}
        response = self.service.http.post("/api/orders", headers=self.admin, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def status_of(self, order_id: int) -> str:
        return str(self.service.http.get(f"/api/orders/{order_id}", headers=self.admin).json()["status"])

    def has_status(self, order_id: int, status: str) -> bool:
        return self.status_of(order_id) == status

    def move(self, order_id: int, status: str) -> None:
        response = self.service.http.post(f"/api/orders/{order_id}/status", headers=self.admin, json={"status": status})
        assert response.status_code == 200, response.text


class HeldSocket:
    """Sits between a page and the real `/ws` (Playwright's WebSocket routing): while held,
    what the service sends waits here, as if the Wi-Fi were slow; released, it goes on in
    order. The page and the service are untouched: only the browser's network is."""

    def __init__(self, page: Page) -> None:
        self._lock = threading.Lock()
        self._held: list[str | bytes] | None = None
        self._route: WebSocketRoute | None = None
        page.route_web_socket(re.compile(r"/ws$"), self._connect)

    def _connect(self, route: WebSocketRoute) -> None:
        self._route = route
        server = route.connect_to_server()
        server.on_message(self._from_server)

    def _from_server(self, message: str | bytes) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(message)
                return
        assert self._route is not None
        self._route.send(message)

    def hold(self) -> None:
        with self._lock:
            self._held = []

    def drop(self) -> None:
        """Forget what was held (as a connection that died would) and let messages through."""
        with self._lock:
            self._held = None

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held or [], None
        assert self._route is not None
        for message in held:
            self._route.send(message)

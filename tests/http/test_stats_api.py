"""`GET /api/stats/today` against the real process: the day is the edge's local day (its
time zone, here `TZ=Asia/Seoul`), and orders placed, served and cancelled through the API
are counted in their local hour."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.http.conftest import make_user, seed_table
from tests.http.store_setup import make_dish, make_stock
from tests.service import ServiceProcess, service_env

pytestmark = pytest.mark.e2e
SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture(scope="module")
def seoul_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir = tmp_path_factory.mktemp("seoul")
    seed_table(data_dir)
    with ServiceProcess(data_dir, env=service_env(data_dir, TZ="Asia/Seoul")) as running:
        yield running


def figures(service: ServiceProcess, headers: dict[str, str]) -> dict[str, Any]:
    response = service.http.get("/api/stats/today", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_todays_orders_are_counted_in_the_stores_local_day(seoul_store: ServiceProcess) -> None:
    service = seoul_store
    admin = service.auth(service.token())
    staff = make_user(service, admin, "staff")[1]
    dish = make_dish(service, admin, {make_stock(service, admin, 100)["id"]: 1})
    before = figures(service, staff)
    placed, hours = [], Counter[int]()
    for _ in range(3):
        response = service.http.post(
            "/api/orders", headers=staff, json={"table_id": 1, "items": [{"menu_item_id": dish["id"], "quantity": 1}]}
        )
        assert response.status_code == 201, response.text
        placed.append(response.json()["id"])
        hours[datetime.fromisoformat(response.json()["created_at"]).astimezone(SEOUL).hour] += 1
    for status in ("cooking", "ready", "serving", "served"):
        moved = service.http.post(f"/api/orders/{placed[0]}/status", headers=staff, json={"status": status})
        assert moved.status_code == 200, moved.text
    assert service.http.post(f"/api/orders/{placed[1]}/cancel", headers=staff).status_code == 200
    now = datetime.now(SEOUL)
    after = figures(service, staff)

    days = {(now - timedelta(minutes=1)).date().isoformat(), now.date().isoformat()}
    assert after["date"] in days  # Seoul's date, whatever this machine's own zone
    start = datetime.fromisoformat(after["day_start"]).astimezone(SEOUL)
    assert (start.hour, start.minute, start.date().isoformat()) == (0, 0, after["date"])
    assert datetime.fromisoformat(after["day_end"]) - datetime.fromisoformat(after["day_start"]) == timedelta(hours=24)
    assert [slot["hour"] for slot in after["orders_per_hour"]] == list(range(24))
    assert after["orders"] - before["orders"] == 3
    assert (after["served"] - before["served"], after["cancelled"] - before["cancelled"]) == (1, 1)
    assert after["avg_placed_to_served_s"] is not None and after["avg_placed_to_served_s"] >= 0
    assert after["last_order_id"] == placed[-1]
    assert placed[2] in after["open_order_ids"] and not set(placed[:2]) & set(after["open_order_ids"])
    grown = Counter(
        {
            a["hour"]: a["orders"] - b["orders"]
            for a, b in zip(after["orders_per_hour"], before["orders_per_hour"], strict=True)
        }
    )
    assert +grown == hours  # each order in the Seoul hour it was placed
    for slot in after["orders_per_hour"]:
        assert datetime.fromisoformat(slot["start"]).astimezone(SEOUL).hour == slot["hour"]


def test_a_kiosk_may_not_read_the_stores_figures(seoul_store: ServiceProcess) -> None:
    admin = seoul_store.auth(seoul_store.token())
    kiosk = make_user(seoul_store, admin, "kiosk", table_id=1)[1]
    refused = seoul_store.http.get("/api/stats/today", headers=kiosk)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

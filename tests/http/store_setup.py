"""Building a store through the API for end-to-end tests."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import unique
from tests.service import ServiceProcess


def make_table(service: ServiceProcess, admin: dict[str, str], seats: int = 4, **extra: Any) -> dict[str, Any]:
    response = service.http.post("/api/tables", headers=admin, json={"name": unique("table-"), "seats": seats, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def make_stock(
    service: ServiceProcess, admin: dict[str, str], count: int, low: int = 0, unit: str = "pcs"
) -> dict[str, Any]:
    body = {"name": unique("stock"), "unit": unit, "count": count, "max_count": count, "low_threshold": low}
    response = service.http.post("/api/inventory", headers=admin, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def make_dish(
    service: ServiceProcess, admin: dict[str, str], recipe: dict[int, int], price: float = 9.5
) -> dict[str, Any]:
    body = {
        "name": unique("dish"),
        "price": price,
        "category": "main",
        "ingredients": [{"inventory_id": item, "quantity": qty} for item, qty in recipe.items()],
    }
    response = service.http.post("/api/menu", headers=admin, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def make_kiosk(service: ServiceProcess, admin: dict[str, str], table_id: int) -> tuple[dict[str, Any], dict[str, str]]:
    response = service.http.post("/api/kiosks", headers=admin, json={"table_id": table_id, "name": "tablet"})
    assert response.status_code == 201, response.text
    kiosk = response.json()
    return kiosk, service.auth(service.token(kiosk["username"], kiosk["password"]))

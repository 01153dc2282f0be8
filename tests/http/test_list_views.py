"""List reads come from encoded views; a change answered to a client is always in the
next list it reads (read-your-writes), for every way the lists change."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import make_user, unique
from tests.http.store_setup import make_dish, make_stock, make_table
from tests.net.conftest import register
from tests.service import ServiceProcess


def listed(service: ServiceProcess, headers: dict[str, str], path: str, **params: Any) -> list[dict[str, Any]]:
    response = service.http.get(path, headers=headers, params=params)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json", response.text
    return response.json()


def test_the_menu_follows_dishes_and_stock(service: ServiceProcess, admin: dict[str, str]) -> None:
    _, staff = make_user(service, admin, "staff")
    table = make_table(service, admin)
    stock = make_stock(service, admin, count=2)
    before = listed(service, staff, "/api/menu")
    assert listed(service, staff, "/api/menu") == before  # the cached body, twice
    dish = make_dish(service, admin, {stock["id"]: 2})
    menu = {entry["id"]: entry for entry in listed(service, staff, "/api/menu")}
    assert menu[dish["id"]]["sold_out"] is False
    assert dish["id"] in {e["id"] for e in listed(service, staff, "/api/menu", category="main")}
    placed = service.http.post(
        "/api/orders",
        headers=staff,
        json={"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]},
    )
    assert placed.status_code == 201, placed.text
    menu = {entry["id"]: entry for entry in listed(service, staff, "/api/menu")}
    assert menu[dish["id"]]["sold_out"] is True, "stock taken by an order shows at once"
    service.http.patch(f"/api/menu/{dish['id']}", headers=admin, json={"name": "renamed-dish"})
    assert {e["id"]: e["name"] for e in listed(service, staff, "/api/menu")}[dish["id"]] == "renamed-dish"
    assert service.http.delete(f"/api/menu/{dish['id']}", headers=admin).status_code == 204
    assert dish["id"] not in {e["id"] for e in listed(service, staff, "/api/menu")}


def test_tables_follow_every_change(service: ServiceProcess, admin: dict[str, str]) -> None:
    listed(service, admin, "/api/tables")
    table = make_table(service, admin, seats=2)
    assert {t["id"]: t["seats"] for t in listed(service, admin, "/api/tables")}[table["id"]] == 2
    assert service.http.patch(f"/api/tables/{table['id']}", headers=admin, json={"seats": 6}).status_code == 200
    assert {t["id"]: t["seats"] for t in listed(service, admin, "/api/tables")}[table["id"]] == 6
    assert service.http.delete(f"/api/tables/{table['id']}", headers=admin).status_code == 204
    assert table["id"] not in {t["id"] for t in listed(service, admin, "/api/tables")}


def test_robots_follow_registration_and_changes(service: ServiceProcess, admin: dict[str, str]) -> None:
    assert listed(service, admin, "/api/albabot") == listed(service, admin, "/api/robots", kind="albabot")
    robot_id, _ = register(service, admin)
    for path, params in (("/api/robots", {}), ("/api/robots", {"kind": "albabot"}), ("/api/albabot", {})):
        assert robot_id in {r["robot_id"] for r in listed(service, admin, path, **params)}
    assert robot_id not in {r["robot_id"] for r in listed(service, admin, "/api/cookbot")}
    assert service.http.patch(f"/api/robots/{robot_id}", headers=admin, json={"name": "Rosie"}).status_code == 200
    assert {r["robot_id"]: r["name"] for r in listed(service, admin, "/api/robots")}[robot_id] == "Rosie"
    assert service.http.delete(f"/api/robots/{robot_id}", headers=admin).status_code == 204
    assert robot_id not in {r["robot_id"] for r in listed(service, admin, "/api/albabot")}


def ids(service: ServiceProcess, headers: dict[str, str], path: str, **params: Any) -> list[int]:
    return [row["id"] for row in listed(service, headers, path, **params)]


def test_tables_menu_and_inventory_are_newest_first_and_paged(service: ServiceProcess, admin: dict[str, str]) -> None:
    """SPEC section 2: lists are newest first, with `limit` and `before=<id>`."""
    stock = [make_stock(service, admin, count=5)["id"] for _ in range(3)]
    made = {
        "/api/tables": [make_table(service, admin)["id"] for _ in range(3)],
        "/api/inventory": stock,
        "/api/menu": [make_dish(service, admin, {item: 1})["id"] for item in stock],
    }
    for path, created in made.items():
        everything = ids(service, admin, path)
        assert everything == sorted(everything, reverse=True), path
        assert everything[:3] == created[::-1], path
        assert ids(service, admin, path, limit=2) == created[:0:-1], path
        assert ids(service, admin, path, limit=2, before=created[2]) == created[1::-1], path
        assert ids(service, admin, path, before=created[0]) == everything[3:], path
        assert ids(service, admin, path, before=1) == [], path
    assert ids(service, admin, "/api/menu", category="main", limit=1) == made["/api/menu"][-1:]


def test_the_menu_in_menu_order_follows_categories_and_positions(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    """`?order=menu`: categories by their smallest position, dishes by position; a new
    dish goes to the end of its category, a new category to the end of the menu."""
    _, staff = make_user(service, admin, "staff")
    drinks, mains = unique("drinks"), unique("mains")

    def dish(category: str) -> dict[str, Any]:
        body = {"name": unique("dish"), "price": 2.5, "category": category}
        response = service.http.post("/api/menu", headers=admin, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def menu(**params: Any) -> list[int]:
        rows = listed(service, staff, "/api/menu", order="menu", **params)
        return [row["id"] for row in rows if row["category"] in (drinks, mains)]

    cola, rice = dish(drinks), dish(mains)
    soup = dish(mains)
    assert rice["position"] > cola["position"] and soup["position"] == rice["position"] + 1
    assert ids(service, admin, "/api/menu")[:3] == [soup["id"], rice["id"], cola["id"]]  # the default: newest first
    assert menu() == [cola["id"], rice["id"], soup["id"]]
    moved = service.http.patch(f"/api/menu/{rice['id']}", headers=staff, json={"position": cola["position"] - 1})
    assert moved.status_code == 200 and moved.json()["position"] == cola["position"] - 1
    assert menu() == [rice["id"], soup["id"], cola["id"]]  # mains now start before drinks
    assert menu(category=mains) == [rice["id"], soup["id"]]
    assert menu(category=mains, limit=1) == [rice["id"]] and menu(category=mains, before=rice["id"]) == [soup["id"]]
    cola = service.http.patch(f"/api/menu/{cola['id']}", headers=admin, json={"category": mains}).json()
    assert cola["position"] == soup["position"] + 1 and menu() == [rice["id"], soup["id"], cola["id"]]
    gone = service.http.get("/api/menu", headers=staff, params={"order": "menu", "before": 987654})
    assert gone.status_code == 422 and set(gone.json()["error"]["fields"]) == {"before"}


def test_a_page_read_after_a_change_shows_it(service: ServiceProcess, admin: dict[str, str]) -> None:
    listed(service, admin, "/api/tables", limit=1)
    table = make_table(service, admin, seats=3)
    assert listed(service, admin, "/api/tables", limit=1) == [table]
    item = make_stock(service, admin, count=4)
    assert service.http.post(f"/api/inventory/{item['id']}/restock", headers=admin, json={"quantity": 2}).is_success
    assert [row["count"] for row in listed(service, admin, "/api/inventory", limit=1)] == [6]


def test_bad_paging_is_422_with_fields(service: ServiceProcess, admin: dict[str, str]) -> None:
    for path in ("/api/tables", "/api/inventory", "/api/menu"):
        for params, field in (({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "abc"}, "limit")):
            response = service.http.get(path, headers=admin, params=params)
            assert response.status_code == 422, (path, params, response.text)
            assert set(response.json()["error"]["fields"]) == {field}, (path, params)
        response = service.http.get(path, headers=admin, params={"before": 0})
        assert response.status_code == 422 and "before" in response.json()["error"]["fields"], path


def robot_ids(service: ServiceProcess, headers: dict[str, str], path: str, **params: Any) -> list[str]:
    return [row["robot_id"] for row in listed(service, headers, path, **params)]


def test_robots_are_newest_registered_first_and_paged_by_robot_id(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    """SPEC section 2: newest first (by registration), `limit`, `before=<robot_id>`."""
    albabots = [register(service, admin)[0] for _ in range(3)]
    cookbot, _ = register(service, admin, "cookbot")
    everything = robot_ids(service, admin, "/api/robots")
    assert everything[:4] == [cookbot, *albabots[::-1]]
    assert robot_ids(service, admin, "/api/robots", limit=2) == [cookbot, albabots[2]]
    assert robot_ids(service, admin, "/api/robots", before=albabots[2], limit=1) == [albabots[1]]
    assert robot_ids(service, admin, "/api/robots", before=albabots[0]) == everything[4:]
    for path, params in (("/api/albabot", {}), ("/api/robots", {"kind": "albabot"})):
        assert robot_ids(service, admin, path, **params)[:3] == albabots[::-1], path
        assert robot_ids(service, admin, path, limit=2, **params) == albabots[:0:-1], path
        assert robot_ids(service, admin, path, before=cookbot, limit=1, **params) == albabots[-1:], path
    assert robot_ids(service, admin, "/api/cookbot", limit=1) == [cookbot]
    assert robot_ids(service, admin, "/api/cookbot", before=albabots[0]) == robot_ids(
        service, admin, "/api/cookbot", before=albabots[0], limit=1000
    )
    assert service.http.delete(f"/api/robots/{albabots[1]}", headers=admin).status_code == 204
    assert robot_ids(service, admin, "/api/robots", before=albabots[2], limit=1) == [albabots[0]]


def test_bad_robot_paging_is_422_with_fields(service: ServiceProcess, admin: dict[str, str]) -> None:
    """An unknown (or removed) `before` robot is 422, not an empty page that would look
    like the end of the list."""
    gone, _ = register(service, admin)
    assert service.http.delete(f"/api/robots/{gone}", headers=admin).status_code == 204
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"before": "has space"}, "before"),
        ({"before": "never-registered"}, "before"),
        ({"before": gone}, "before"),
    ]
    for path in ("/api/robots", "/api/albabot", "/api/cookbot"):
        for params, field in refusals:
            for _ in range(2):  # the first read builds the view, the second is served from it
                response = service.http.get(path, headers=admin, params=params)
                assert response.status_code == 422, (path, params, response.text)
                error = response.json()["error"]
                assert error["code"] == "validation_error" and set(error["fields"]) == {field}, (path, params)

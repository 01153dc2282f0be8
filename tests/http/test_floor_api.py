"""Tables, parties and the waiting list through HTTP, against the real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.http.conftest import make_user
from tests.http.store_setup import make_kiosk, make_table
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def staff(service: ServiceProcess, admin: dict[str, str]) -> dict[str, str]:
    return make_user(service, admin, "staff")[1]


def test_table_crud(service: ServiceProcess, admin: dict[str, str], staff: dict[str, str]) -> None:
    table = make_table(service, admin, seats=4, x=3.5, y=2.0, width=1.2, height=1.0)
    assert table["status"] == "available" and table["party_id"] is None and table["present"] is False
    assert (table["x"], table["y"], table["width"], table["height"]) == (3.5, 2.0, 1.2, 1.0)
    assert service.http.get(f"/api/tables/{table['id']}", headers=staff).json() == table
    assert table in service.http.get("/api/tables", headers=staff).json()
    patched = service.http.patch(f"/api/tables/{table['id']}", headers=admin, json={"seats": 6, "x": 4.0})
    assert patched.status_code == 200 and (patched.json()["seats"], patched.json()["x"]) == (6, 4.0)
    assert service.http.delete(f"/api/tables/{table['id']}", headers=admin).status_code == 204
    assert service.http.get(f"/api/tables/{table['id']}", headers=staff).status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "seats"}),
        ({"name": "x", "seats": 0}, {"seats"}),
        ({"name": "x", "seats": "4"}, {"seats"}),
        ({"name": "", "seats": 2}, {"name"}),
        ({"name": "x", "seats": 2, "width": 0}, {"width"}),
        ({"name": "x", "seats": 2, "colour": "red"}, {"colour"}),
    ],
)
def test_invalid_tables_are_422(service: ServiceProcess, admin: dict[str, str], body: dict, fields: set) -> None:
    response = service.http.post("/api/tables", headers=admin, json=body)
    assert response.status_code == 422 and set(response.json()["error"]["fields"]) == fields


def test_duplicate_table_names_are_409(service: ServiceProcess, admin: dict[str, str]) -> None:
    table = make_table(service, admin)
    again = service.http.post("/api/tables", headers=admin, json={"name": table["name"], "seats": 2})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_unknown_tables_are_404(service: ServiceProcess, admin: dict[str, str]) -> None:
    for method, path, body in [
        ("GET", "/api/tables/9999", None),
        ("PATCH", "/api/tables/9999", {"seats": 2}),
        ("DELETE", "/api/tables/9999", None),
        ("POST", "/api/tables/9999/release", None),
        ("POST", "/api/tables/9999/cleaned", None),
        ("POST", "/api/tables/9999/seat", {"customer_id": 1}),
        ("POST", "/api/tables/9999/presence", {"present": True}),
    ]:
        response = service.http.request(method, path, headers=admin, json=body)
        assert response.status_code == 404, (method, path, response.text)


def test_the_whole_floor_cycle(tmp_path: Path) -> None:
    """A fresh store: parties arrive, wait, get seated as tables turn over."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        two, four = make_table(service, admin, seats=2), make_table(service, admin, seats=4)
        first = service.http.post("/api/customers", headers=admin, json={"party_size": 2, "name": "Ana"}).json()
        assert (first["status"], first["table_id"]) == ("seated", two["id"])
        second = service.http.post("/api/customers", headers=admin, json={"party_size": 3}).json()
        assert (second["status"], second["table_id"]) == ("seated", four["id"])
        third = service.http.post("/api/customers", headers=admin, json={"party_size": 4}).json()
        fourth = service.http.post("/api/customers", headers=admin, json={"party_size": 1}).json()
        assert third["status"] == "waiting" and (third["position"], fourth["position"]) == (1, 2)
        assert third["estimated_wait_s"] > 0 and fourth["estimated_wait_s"] > 0
        waiting = service.http.get("/api/customers", headers=admin, params={"status": "waiting"}).json()
        assert [p["id"] for p in waiting] == [fourth["id"], third["id"]]  # newest first

        released = service.http.post(f"/api/tables/{two['id']}/release", headers=admin)
        assert released.status_code == 200 and released.json()["status"] == "cleaning"
        assert service.http.get(f"/api/customers/{first['id']}", headers=admin).json()["status"] == "left"
        assert service.http.post(f"/api/tables/{two['id']}/release", headers=admin).status_code == 409
        cleaned = service.http.post(f"/api/tables/{two['id']}/cleaned", headers=admin).json()
        assert cleaned["status"] == "occupied" and cleaned["party_id"] == fourth["id"]  # the small party fits
        assert service.http.get(f"/api/customers/{third['id']}", headers=admin).json()["position"] == 1

        left = service.http.post(f"/api/customers/{second['id']}/leave", headers=admin)
        assert left.status_code == 200 and left.json()["status"] == "left"
        service.http.post(f"/api/tables/{four['id']}/cleaned", headers=admin)
        seated = service.http.get(f"/api/customers/{third['id']}", headers=admin).json()
        assert (seated["status"], seated["table_id"], seated["position"]) == ("seated", four["id"], None)


def test_staff_seat_by_hand_and_reserve(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin, seats=4)
        reserved = service.http.post(f"/api/tables/{table['id']}/status", headers=admin, json={"status": "reserved"})
        assert reserved.json()["status"] == "reserved"
        party = service.http.post("/api/customers", headers=admin, json={"party_size": 4}).json()
        assert party["status"] == "waiting"
        assert party["estimated_wait_s"] == 2700 + 300  # the reservation dines, then the table is cleaned
        seat = service.http.post(f"/api/tables/{table['id']}/seat", headers=admin, json={"customer_id": party["id"]})
        assert seat.status_code == 200 and seat.json()["party_id"] == party["id"]
        again = service.http.post(f"/api/tables/{table['id']}/seat", headers=admin, json={"customer_id": party["id"]})
        assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
        bad = service.http.post(f"/api/tables/{table['id']}/status", headers=admin, json={"status": "cleaning"})
        assert bad.status_code == 409 and bad.json()["error"]["code"] == "invalid_transition"
        wrong = service.http.post(f"/api/tables/{table['id']}/status", headers=admin, json={"status": "dirty"})
        assert wrong.status_code == 422
        too_big = service.http.post("/api/customers", headers=admin, json={"party_size": 9})
        assert too_big.status_code == 201 and (too_big.json()["status"], too_big.json()["estimated_wait_s"]) == (
            "waiting",
            None,
        )
        gone = service.http.post(f"/api/customers/{party['id']}/leave", headers=admin)
        assert gone.status_code == 200
        assert service.http.post(f"/api/customers/{party['id']}/leave", headers=admin).status_code == 409
        unknown = service.http.post("/api/customers/999/leave", headers=admin)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
        assert service.http.get("/api/customers/999", headers=admin).status_code == 404


def test_a_party_is_never_seated_by_hand_at_a_table_that_is_not_free(tmp_path: Path) -> None:
    """Staff may seat a waiting party at an available or reserved table only: one that is
    occupied or being cleaned is 409 and nothing changes."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin, seats=4)
        first = service.http.post("/api/customers", headers=admin, json={"party_size": 4}).json()
        assert (first["status"], first["table_id"]) == ("seated", table["id"])
        second = service.http.post("/api/customers", headers=admin, json={"party_size": 2}).json()
        assert second["status"] == "waiting"
        busy = service.http.post(f"/api/tables/{table['id']}/seat", headers=admin, json={"customer_id": second["id"]})
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "invalid_transition"
        assert service.http.post(f"/api/tables/{table['id']}/release", headers=admin).json()["status"] == "cleaning"
        dirty = service.http.post(f"/api/tables/{table['id']}/seat", headers=admin, json={"customer_id": second["id"]})
        assert dirty.status_code == 409 and dirty.json()["error"]["code"] == "invalid_transition"
        assert service.http.get(f"/api/customers/{second['id']}", headers=admin).json()["status"] == "waiting"
        assert service.http.get(f"/api/tables/{table['id']}", headers=admin).json()["party_id"] is None


def test_a_party_no_table_seats_waits_and_is_seated_when_one_fits(tmp_path: Path) -> None:
    """SPEC §2: `waiting` in arrival order, seated as soon as a table fits, when one is
    created (here the first) or grows; not refused. Only the size bound (1..50) is 422."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        early = service.http.post("/api/customers", headers=admin, json={"party_size": 2})
        assert early.status_code == 201
        assert (early.json()["status"], early.json()["position"], early.json()["estimated_wait_s"]) == (
            "waiting",
            1,
            None,
        )
        table = make_table(service, admin, seats=4)
        assert (table["status"], table["party_id"]) == ("occupied", early.json()["id"])
        big = service.http.post("/api/customers", headers=admin, json={"party_size": 6}).json()
        assert (big["status"], big["position"], big["estimated_wait_s"]) == ("waiting", 1, None)
        small = make_table(service, admin, seats=2)
        assert small["status"] == "available"  # too small for the party waiting
        grown = service.http.patch(f"/api/tables/{small['id']}", headers=admin, json={"seats": 6})
        assert grown.status_code == 200 and grown.json()["party_id"] == big["id"]
        seated = service.http.get(f"/api/customers/{big['id']}", headers=admin).json()
        assert (seated["status"], seated["table_id"], seated["position"]) == ("seated", small["id"], None)
        refused = service.http.post("/api/customers", headers=admin, json={"party_size": 51})
        assert refused.status_code == 422 and "party_size" in refused.json()["error"]["fields"]


def test_a_table_cannot_shrink_under_its_seated_party(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin, seats=10)
        party = service.http.post("/api/customers", headers=admin, json={"party_size": 10}).json()
        assert party["table_id"] == table["id"]
        refused = service.http.patch(f"/api/tables/{table['id']}", headers=admin, json={"seats": 2})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
        assert "party of 10" in refused.json()["error"]["message"]
        assert service.http.get(f"/api/tables/{table['id']}", headers=admin).json()["seats"] == 10
        renamed = service.http.patch(f"/api/tables/{table['id']}", headers=admin, json={"name": "long-table"})
        assert renamed.status_code == 200 and renamed.json()["seats"] == 10


def test_presence_and_call_staff(service: ServiceProcess, admin: dict[str, str], staff: dict[str, str]) -> None:
    table = make_table(service, admin)
    present = service.http.post(
        f"/api/tables/{table['id']}/presence", headers=staff, json={"present": True, "reliability": 87.5}
    )
    assert present.status_code == 200 and present.json()["present"] is True
    assert (
        service.http.post(f"/api/tables/{table['id']}/presence", headers=staff, json={"present": "yes"}).status_code
        == 422
    )
    _, kiosk = make_kiosk(service, admin, table["id"])
    call = service.http.post(f"/api/tables/{table['id']}/call-staff", headers=kiosk, json={"message": "more water"})
    assert call.status_code == 200
    other = make_table(service, admin)
    assert service.http.post(f"/api/tables/{other['id']}/call-staff", headers=kiosk, json={}).status_code == 403
    notes = service.http.get("/api/notifications", headers=staff).json()
    assert any(n["type"] == "staff_called" and "more water" in n["message"] for n in notes)


def test_a_kiosk_reads_its_own_table_only(service: ServiceProcess, admin: dict[str, str]) -> None:
    table, other = make_table(service, admin), make_table(service, admin)
    _, kiosk = make_kiosk(service, admin, table["id"])
    assert service.http.get(f"/api/tables/{table['id']}", headers=kiosk).json() == table
    refused = service.http.get(f"/api/tables/{other['id']}", headers=kiosk)
    assert refused.status_code == 403 and refused.json()["error"]["message"] == "a kiosk may read its own table only"
    assert service.http.get("/api/tables", headers=kiosk).status_code == 403


def test_deleting_a_table_logs_its_kiosk_out(service: ServiceProcess, admin: dict[str, str]) -> None:
    table = make_table(service, admin)
    kiosk, auth = make_kiosk(service, admin, table["id"])
    assert service.http.get("/api/auth/me", headers=auth).status_code == 200
    assert service.http.delete(f"/api/tables/{table['id']}", headers=admin).status_code == 204
    assert service.http.get("/api/auth/me", headers=auth).status_code == 401
    assert service.http.get(f"/api/kiosks/{kiosk['id']}", headers=admin).status_code == 404


def test_occupied_tables_cannot_be_deleted(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin, seats=2)
        service.http.post("/api/customers", headers=admin, json={"party_size": 2})
        refused = service.http.delete(f"/api/tables/{table['id']}", headers=admin)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"


def test_kiosks(service: ServiceProcess, admin: dict[str, str]) -> None:
    table = make_table(service, admin)
    kiosk, auth = make_kiosk(service, admin, table["id"])
    assert kiosk["table_id"] == table["id"] and kiosk["username"].startswith(f"kiosk-t{table['id']}-")
    assert "password" not in service.http.get(f"/api/kiosks/{kiosk['id']}", headers=admin).json()
    me = service.http.get("/api/auth/me", headers=auth).json()
    assert me["role"] == "kiosk" and me["table_id"] == table["id"]
    assert service.http.post("/api/kiosks", headers=admin, json={"table_id": 9999}).status_code == 422
    assert service.http.post("/api/kiosks", headers=admin, json={"table_id": "1"}).status_code == 422
    assert service.http.delete(f"/api/kiosks/{kiosk['id']}", headers=admin).status_code == 204
    assert service.http.get("/api/auth/me", headers=auth).status_code == 401
    assert service.http.delete(f"/api/kiosks/{kiosk['id']}", headers=admin).status_code == 404

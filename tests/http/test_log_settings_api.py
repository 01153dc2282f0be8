"""Events, notifications, settings and emergencies through HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.http.conftest import make_user
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e


def test_settings_read_and_change(service: ServiceProcess, admin: dict[str, str]) -> None:
    _, staff = make_user(service, admin, "staff")
    settings = service.http.get("/api/settings", headers=staff).json()
    assert settings["store_name"] == "Robodine" and settings["alert_levels"] == ["warning", "error"]
    assert settings["battery_low"] < settings["battery_resume"]
    assert service.http.patch("/api/settings", headers=staff, json={"store_name": "X"}).status_code == 403
    changed = service.http.patch(
        "/api/settings",
        headers=admin,
        json={"store_name": "Seoul Kitchen", "opening_hours": {"mon": ["10:00-15:00", "17:00-23:30"]}},
    )
    assert changed.status_code == 200 and changed.json()["store_name"] == "Seoul Kitchen"
    assert service.http.get("/api/settings", headers=staff).json()["opening_hours"] == {
        "mon": ["10:00-15:00", "17:00-23:30"]
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"battery_low": 90}, "body"),
        ({"battery_low": 120}, "battery_low"),
        ({"opening_hours": {"funday": ["10:00-12:00"]}}, "opening_hours"),
        ({"opening_hours": {"mon": ["25:00-26:00"]}}, "opening_hours"),
        ({"alert_levels": ["loud"]}, "alert_levels.0"),
        ({"store_name": ""}, "store_name"),
        ({"kitchen_pass": {"x": 1}}, "kitchen_pass.y"),
        ({"colour": "red"}, "colour"),
        ({"kitchen_warning_s": 0}, "kitchen_warning_s"),
        ({"kitchen_late_s": -5}, "kitchen_late_s"),
        ({"kitchen_warning_s": "300"}, "kitchen_warning_s"),
        ({"kitchen_warning_s": 480}, "kitchen_late_s"),
        ({"kitchen_warning_s": 600, "kitchen_late_s": 500}, "kitchen_late_s"),
    ],
)
def test_invalid_settings_are_422(service: ServiceProcess, admin: dict[str, str], body: dict, field: str) -> None:
    before = service.http.get("/api/settings", headers=admin).json()
    response = service.http.patch("/api/settings", headers=admin, json=body)
    assert response.status_code == 422, response.text
    assert any(key.startswith(field) for key in response.json()["error"]["fields"]), response.json()
    assert service.http.get("/api/settings", headers=admin).json() == before


def test_the_kitchen_age_colours_default_to_five_and_eight_minutes_and_can_be_changed(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    _, staff = make_user(service, admin, "staff")
    settings = service.http.get("/api/settings", headers=staff).json()
    assert (settings["kitchen_warning_s"], settings["kitchen_late_s"]) == (300, 480)
    both = service.http.patch("/api/settings", headers=admin, json={"kitchen_warning_s": 600, "kitchen_late_s": 900})
    assert both.status_code == 200, both.text
    one = service.http.patch("/api/settings", headers=admin, json={"kitchen_warning_s": 120})
    assert (one.json()["kitchen_warning_s"], one.json()["kitchen_late_s"]) == (120, 900)
    read = service.http.get("/api/settings", headers=staff).json()
    assert (read["kitchen_warning_s"], read["kitchen_late_s"]) == (120, 900)
    restored = service.http.patch(
        "/api/settings", headers=admin, json={"kitchen_warning_s": 300, "kitchen_late_s": 480}
    )
    assert restored.status_code == 200


def test_emergency_declare_and_resolve(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        _, staff = make_user(service, admin, "staff")
        declared = service.http.post("/api/emergencies", headers=staff, json={"reason": "fire in the kitchen"})
        assert declared.status_code == 201
        emergency = declared.json()
        assert emergency["active"] is True and emergency["reason"] == "fire in the kitchen"
        second = service.http.post("/api/emergencies", headers=staff, json={})
        assert second.status_code == 409
        resolved = service.http.post(f"/api/emergencies/{emergency['id']}/resolve", headers=staff)
        assert resolved.status_code == 200 and resolved.json()["active"] is False and resolved.json()["resolved_at"]
        again = service.http.post(f"/api/emergencies/{emergency['id']}/resolve", headers=staff)
        assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
        assert service.http.post("/api/emergencies/99/resolve", headers=staff).status_code == 404
        assert [e["id"] for e in service.http.get("/api/emergencies", headers=staff).json()] == [emergency["id"]]
        assert service.http.post("/api/emergencies", headers=staff, json={"reason": "x" * 201}).status_code == 422
        types = [e["type"] for e in service.http.get("/api/events", headers=staff).json()]
        assert "emergency" in types and "emergency_resolved" in types
        notes = service.http.get("/api/notifications", headers=staff).json()
        assert any(n["type"] == "emergency" and "fire in the kitchen" in n["message"] for n in notes)


def test_event_filters_and_paging(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        for reason in ("one", "two", "three"):
            emergency = service.http.post("/api/emergencies", headers=admin, json={"reason": reason}).json()
            service.http.post(f"/api/emergencies/{emergency['id']}/resolve", headers=admin)
        everything = service.http.get("/api/events", headers=admin).json()
        assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
        errors = service.http.get("/api/events", headers=admin, params={"level": "error"}).json()
        assert len(errors) == 3 and {e["type"] for e in errors} == {"emergency"}
        typed = service.http.get("/api/events", headers=admin, params={"type": "emergency_resolved", "limit": 2}).json()
        assert len(typed) == 2
        rest = service.http.get(
            "/api/events", headers=admin, params={"type": "emergency_resolved", "before": typed[-1]["id"]}
        )
        assert len(rest.json()) == 1
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        assert service.http.get("/api/events", headers=admin, params={"since": future}).json() == []
        past = service.http.get("/api/events", headers=admin, params={"since": "2000-01-01T00:00:00Z"}).json()
        assert len(past) == len(everything)
        for bad in ({"since": "yesterday"}, {"level": "loud"}, {"limit": 0}):
            assert service.http.get("/api/events", headers=admin, params=bad).status_code == 422


def test_notifications_belong_to_their_user(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        _, staff = make_user(service, admin, "staff")
        _, other = make_user(service, admin, "staff")
        service.http.post("/api/emergencies", headers=admin, json={"reason": "test"})
        mine = service.http.get("/api/notifications", headers=staff).json()
        assert len(mine) == 1 and mine[0]["read"] is False
        assert service.http.post(f"/api/notifications/{mine[0]['id']}/read", headers=other).status_code == 404
        assert service.http.post(f"/api/notifications/{mine[0]['id']}/read", headers=staff).json()["read"] is True
        assert service.http.get("/api/notifications", headers=staff, params={"unread": "true"}).json() == []
        assert len(service.http.get("/api/notifications", headers=other, params={"unread": "true"}).json()) == 1
        service.http.patch("/api/settings", headers=admin, json={"alert_levels": ["error"]})
        service.http.post("/api/tables", headers=admin, json={"name": "T", "seats": 2})
        tablet = service.http.post("/api/kiosks", headers=admin, json={"table_id": 1}).json()
        kiosk = service.auth(service.token(tablet["username"], tablet["password"]))
        service.http.post("/api/tables/1/call-staff", headers=kiosk, json={})  # a warning: below the chosen level
        assert len(service.http.get("/api/notifications", headers=staff).json()) == 1
        assert service.http.get("/api/notifications", headers=kiosk).json() == []

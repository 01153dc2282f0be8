"""The running service reports a party that waits or sits far too long, once per party."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.http.store_setup import make_table
from tests.service import ServiceProcess
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def test_a_party_waiting_past_the_threshold_notifies_staff_once_and_no_other(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        changed = service.http.patch(
            "/api/settings", headers=admin, json={"party_waiting_long_s": 1, "party_overstay_s": 3600}
        )
        assert changed.status_code == 200 and changed.json()["party_waiting_long_s"] == 1
        make_table(service, admin, seats=2)
        seated = service.http.post("/api/customers", headers=admin, json={"party_size": 2, "name": "Kim"}).json()
        waiting = service.http.post("/api/customers", headers=admin, json={"party_size": 2, "name": "Lee"}).json()
        assert (seated["status"], waiting["status"]) == ("seated", "waiting")

        def notes(kind: str) -> list[dict[str, Any]]:
            found = service.http.get("/api/notifications", headers=admin, params={"limit": 1000}).json()
            return [n for n in found if n["type"] == kind]

        first = eventually(lambda: notes("party_waiting_long"), timeout=10, what="the waiting party reported")
        assert len(first) == 1 and first[0]["message"].startswith("Lee (party of 2) has waited")
        # A party arriving later is reported a tick or more later: by then the first has
        # been looked at again, and is still reported once.
        later = service.http.post("/api/customers", headers=admin, json={"party_size": 2, "name": "Park"}).json()
        eventually(lambda: len(notes("party_waiting_long")) == 2, timeout=10, what="the later party reported")
        events = service.http.get("/api/events", headers=admin, params={"type": "party_waiting_long"}).json()
        assert sorted((e["entity_type"], e["entity_id"], e["level"]) for e in events) == [
            ("customer", waiting["id"], "warning"),
            ("customer", later["id"], "warning"),
        ]
        assert notes("party_overstayed") == []  # the seated party is well under an hour

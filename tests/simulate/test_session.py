"""The simulated guests' login against the real service: a revoked token is not the end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from robodine_edge.simulate.session import Refused, Session, Stopped
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e
PASSWORD = "host-password-1"


def test_guests_log_in_again_when_their_token_stops_working(tmp_path: Path) -> None:
    """A demo runs longer than a token lives (`token_ttl_s`, 12 h), and staff may revoke
    sessions: the guests then log in again rather than stopping for good."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        body = {"username": "host", "password": PASSWORD, "role": "staff"}
        user = service.http.post("/api/users", headers=admin, json=body).json()

        def revoke() -> None:  # a new password (the same one) ends every session of the user
            patched = service.http.patch(f"/api/users/{user['id']}", headers=admin, json={"password": PASSWORD})
            assert patched.status_code == 200, patched.text

        async def scenario() -> list[Any]:
            stop = asyncio.Event()
            session = Session(service.url, "host", PASSWORD, stop)
            seen = [await session.call("GET", "/api/customers")]
            await asyncio.to_thread(revoke)
            seen.append(await session.call("POST", "/api/customers", {"party_size": 2}, key="k-1"))
            stop.set()
            with pytest.raises(Stopped):
                await session.call("GET", "/api/customers")
            return seen

        before, party = asyncio.run(scenario())
        assert before == [] and party["status"] == "waiting"


def test_a_wrong_password_is_refused_not_retried(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:

        async def scenario() -> None:
            session = Session(service.url, "admin", "not-the-password", asyncio.Event())
            with pytest.raises(Refused, match="refused the guests' login as admin: 401"):
                await session.call("GET", "/api/customers")

        asyncio.run(scenario())

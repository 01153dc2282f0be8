"""Simulated guests, so a demo store has work for its robots (`simulate --guests-every S`).

A party arrives every `S` seconds (of simulated time): it asks for a table through the
API (`POST /api/customers`), waits on the waiting list if none is free, orders one to
three available dishes once seated, eats once the food is served, and leaves (`leave`
releases its table, which the robots clean). A guest is what a table tablet and the
host stand would be: HTTP only, as staff. Runs on the simulator's event loop; each
HTTP call goes to a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robodine_edge.simulate.api import SimulationError, http_json

log = logging.getLogger(__name__)
LOOK_EVERY_S = 2.0
"""How often a guest looks whether its table or its food has come (as a person would)."""
PATIENCE_S = 1800.0
"""Simulated seconds a party waits for a table, or for its food, before it leaves."""
EATING_S = (120.0, 360.0)
NAMES = ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Oh")


@dataclass(frozen=True)
class Guests:
    api: str
    username: str
    password: str
    every_s: float
    speed: float = 1.0


def staff_login(path: Path) -> tuple[str, str]:
    """The `staff` line of a credentials file (`username password` lines, as the demo's)."""
    try:
        lines = [line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise SimulationError(f"cannot read credentials from {path}: {exc}") from None
    pairs = [(parts[0], parts[1]) for parts in lines if len(parts) >= 2]
    staff = [pair for pair in pairs if pair[0] == "staff"] or pairs
    if not staff:
        raise SimulationError(f"{path} holds no 'username password' line")
    return staff[0]


async def run_guests(guests: Guests, stop: asyncio.Event) -> None:
    """A new party every `every_s` simulated seconds until `stop`; each lives on its own."""
    login = {"username": guests.username, "password": guests.password}
    try:
        token = (await _call(guests, "POST", "/api/auth/login", login))["access_token"]
    except (urllib.error.URLError, OSError, KeyError) as exc:
        log.error("guests cannot log in as %s (%s): none will come", guests.username, exc)
        return
    log.info("guests arrive every %g s (simulated)", guests.every_s)
    parties: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        party = asyncio.get_running_loop().create_task(_visit(guests, token, stop))
        parties.add(party)
        party.add_done_callback(parties.discard)
        await _pause(guests, stop, guests.every_s)
    for party in parties:
        party.cancel()


async def _visit(guests: Guests, token: str, stop: asyncio.Event) -> None:
    try:
        body = {"party_size": random.choice((1, 2, 2, 2, 3, 4, 4, 5, 6)), "name": random.choice(NAMES)}
        party = await _call(guests, "POST", "/api/customers", body, token)
        if party["status"] == "waiting":
            path = f"/api/customers/{party['id']}"
            seated = await _until(guests, token, stop, path, lambda p: p["status"] != "waiting")
            if seated is None or seated["status"] != "seated":  # tired of waiting (or the run ends)
                await _leave(guests, token, seated or party)
                return
            party = seated
        menu = [dish for dish in await _call(guests, "GET", "/api/menu", None, token) if dish["available"]]
        if menu:
            items = [{"menu_item_id": dish["id"], "quantity": random.choice((1, 1, 2))}
                     for dish in random.sample(menu, k=min(len(menu), random.randint(1, 3)))]  # fmt: skip
            order = await _call(guests, "POST", "/api/orders", {"table_id": party["table_id"], "items": items}, token,
                                key=secrets.token_hex(8))  # fmt: skip
            await _until(guests, token, stop, f"/api/orders/{order['id']}",
                         lambda o: o["status"] in ("served", "cancelled"))  # fmt: skip
        await _pause(guests, stop, random.uniform(*EATING_S))
        await _leave(guests, token, party)
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        log.info("a simulated party gave up: %s", exc)


async def _until(guests: Guests, token: str, stop: asyncio.Event, path: str, done: Any) -> dict[str, Any] | None:
    """Look at `path` now and then until `done(it)`; None if patience or the run ends."""
    waited = 0.0
    while not stop.is_set() and waited < PATIENCE_S:
        found: dict[str, Any] = await _call(guests, "GET", path, None, token)
        if done(found):
            return found
        await _pause(guests, stop, LOOK_EVERY_S * guests.speed)
        waited += LOOK_EVERY_S * guests.speed
    return None


async def _leave(guests: Guests, token: str, party: dict[str, Any] | None) -> None:
    if party is not None and party["status"] in ("waiting", "seated"):
        await _call(guests, "POST", f"/api/customers/{party['id']}/leave", None, token)


async def _pause(guests: Guests, stop: asyncio.Event, simulated_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), simulated_s / guests.speed)


async def _call(guests: Guests, method: str, path: str, body: Any, token: str | None = None, *,
                key: str | None = None) -> Any:  # fmt: skip
    return await asyncio.to_thread(http_json, guests.api, method, path, body, token, key)

"""Simulated guests, so a demo store has work for its robots (`simulate --guests-every S`).

A party arrives every `S` seconds (of simulated time): it asks for a table through the
API (`POST /api/customers`), waits on the waiting list if none is free, orders one to
three available dishes once seated, eats once the food is served, and leaves (`leave`
releases its table, which the robots clean). A guest is what a table tablet and the
host stand would be: HTTP only, as staff (`session.Session`).

Parties outlive the run that made them (they are rows of the store), so the guests
take over what an earlier run left: every party they create is named with `MARK`, and
at start and every `SWEEP_S` the host lists the open parties and drives each marked one
no guest of this run drives — a run that was stopped or killed, a database restored
from a backup. A taken-over party goes on from what the API shows: a waiting one keeps
waiting, a seated one orders if it has not (its orders carry its `party_id`), waits for
what it ordered, eats and leaves. Parties not so named (made by staff) are never
touched. At stop no guest starts another call and none is cancelled mid-call, so what
was done is certain; the parties stay for the next run. Runs on the simulator's loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
import urllib.error
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robodine_edge.simulate.api import SimulationError
from robodine_edge.simulate.session import Refused, Session, Stopped, pause

log = logging.getLogger(__name__)
MARK = "sim-"
"""How the name of every party the guests create begins: what they may take over."""
LOOK_EVERY_S = 2.0
"""How often (real seconds) a guest looks whether its table or its food has come."""
PATIENCE_S = 1800.0
"""Simulated seconds a party waits for a table, or for its food, before it leaves."""
EATING_S = (120.0, 360.0)
SWEEP_S = 10.0
"""Real seconds between looks for marked parties no guest of this run drives."""
MAX_FAILURES = 3
"""A party whose guest was refused by the edge this often is left to staff."""
PAGE = 1000
ACTIVE_ORDER = frozenset({"placed", "cooking", "ready", "serving"})
NAMES = ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Oh")


@dataclass(frozen=True)
class Guests:
    api: str
    username: str
    password: str
    every_s: float
    speed: float = 1.0


class NotOurs(Exception):
    """The party is no longer the one the guest drives (the database was restored)."""


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


def is_marked(party: dict[str, Any]) -> bool:
    return isinstance(party.get("name"), str) and party["name"].startswith(MARK)


async def run_guests(guests: Guests, stop: asyncio.Event) -> None:
    """Parties arrive, and are taken over, until `stop`; then the run waits for each
    guest's call in flight to finish."""
    host = Host(guests, Session(guests.api, guests.username, guests.password, stop), stop)
    log.info("guests arrive every %g s (simulated)", guests.every_s)
    try:
        await host.run()
    except Stopped:
        pass
    except Refused as exc:
        log.error("%s: no guests will come", exc)
    finally:
        await host.finish()


class Host:
    """The host stand of one run: who arrives, and which parties this run's guests drive."""

    def __init__(self, guests: Guests, session: Session, stop: asyncio.Event) -> None:
        self._guests = guests
        self._session = session
        self._stop = stop
        self._driven: dict[int, asyncio.Task[None]] = {}
        self._failures: Counter[int] = Counter()

    async def run(self) -> None:
        """Arrivals and sweeps on one coroutine, so a sweep never sees a party this run
        has created but not yet started driving."""
        loop = asyncio.get_running_loop()
        next_sweep = next_arrival = loop.time()
        while True:
            if loop.time() >= next_sweep:
                await self._sweep()
                next_sweep = loop.time() + SWEEP_S
            if loop.time() >= next_arrival:
                await self._arrive()
                next_arrival = loop.time() + self._guests.every_s / self._guests.speed
            await pause(self._stop, min(next_sweep, next_arrival) - loop.time())

    async def finish(self) -> None:
        """Wait for every guest to end: each stops at its next call or pause (Stopped)."""
        if self._driven:
            await asyncio.gather(*self._driven.values(), return_exceptions=True)

    async def _arrive(self) -> None:
        body = {"party_size": random.choice((1, 2, 2, 2, 3, 4, 4, 5, 6)), "name": MARK + random.choice(NAMES)}
        try:
            party = await self._session.call("POST", "/api/customers", body, key=secrets.token_hex(8))
            self._drive(party, taken_over=False)
        except (urllib.error.HTTPError, KeyError, TypeError) as exc:
            log.warning("a party could not arrive: %s", exc)

    async def _sweep(self) -> None:
        """Drive every open marked party that no guest of this run drives."""
        try:
            found = [p for status in ("waiting", "seated") for p in await self._open(status)]
        except (urllib.error.HTTPError, KeyError, TypeError, ValueError) as exc:
            log.warning("cannot list the parties to take over: %s", exc)
            return
        orphans = [
            p for p in found
            if is_marked(p) and p["id"] not in self._driven and self._failures[p["id"]] < MAX_FAILURES
        ]  # fmt: skip
        for party in orphans:
            self._drive(party, taken_over=True)
        if orphans:
            log.info("took over %d parties no guest drove: %s", len(orphans), [p["id"] for p in orphans])

    async def _open(self, status: str) -> list[dict[str, Any]]:
        parties: list[dict[str, Any]] = []
        params = f"?status={status}&limit={PAGE}"
        while True:
            page = await self._session.call("GET", f"/api/customers{params}")
            parties += page
            if len(page) < PAGE:
                return parties
            params = f"?status={status}&limit={PAGE}&before={page[-1]['id']}"

    def _drive(self, party: dict[str, Any], *, taken_over: bool) -> None:
        party_id = party["id"]
        task = asyncio.get_running_loop().create_task(self._visit(party, taken_over))
        self._driven[party_id] = task
        task.add_done_callback(lambda _: self._driven.pop(party_id, None))

    async def _visit(self, party: dict[str, Any], taken_over: bool) -> None:
        """One party's stay, from wherever it is. A refusal from the edge ends the guest
        (the next sweep takes the party over again, up to `MAX_FAILURES` times)."""
        try:
            await Visit(self._guests, self._session, self._stop, party).stay(taken_over)
        except (Stopped, NotOurs):
            return
        except (urllib.error.HTTPError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code == 404:
                return  # no such party now (the database was restored): nothing to drive
            self._failures[party["id"]] += 1
            left = "" if self._failures[party["id"]] < MAX_FAILURES else "; left to staff"
            log.info("the guest of party %d stopped: %s%s", party["id"], exc, left)


class Visit:
    """One party, as its guest sees it through the API."""

    def __init__(self, guests: Guests, session: Session, stop: asyncio.Event, party: dict[str, Any]) -> None:
        self._guests = guests
        self._session = session
        self._stop = stop
        self._party = party

    async def stay(self, taken_over: bool) -> None:
        party = self._party
        if taken_over:  # as it is now, not as the sweep's list saw it a moment ago
            party = await self._session.call("GET", self._path)
            self._check_ours(party)
        if party["status"] == "waiting":
            party = await self._until(self._path, lambda p: p["status"] != "waiting") or party
            if party["status"] == "waiting":  # tired of waiting
                await self._leave()
                return
        if party["status"] != "seated":  # it has left (sent away by staff, or just now)
            return
        ordered = await self._orders(party) if taken_over else []
        if not ordered:
            ordered = await self._order(party)
        for order in ordered:
            if order["status"] in ACTIVE_ORDER:
                await self._until(f"/api/orders/{order['id']}", lambda o: o["status"] not in ACTIVE_ORDER)
        await pause(self._stop, random.uniform(*EATING_S) / self._guests.speed)
        await self._leave()

    @property
    def _path(self) -> str:
        return f"/api/customers/{self._party['id']}"

    async def _orders(self, party: dict[str, Any]) -> list[dict[str, Any]]:
        """What this party ordered before it was taken over."""
        found = await self._session.call("GET", f"/api/orders?table_id={party['table_id']}&limit=100")
        return [order for order in found if order.get("party_id") == party["id"]]

    async def _order(self, party: dict[str, Any]) -> list[dict[str, Any]]:
        menu = [dish for dish in await self._session.call("GET", "/api/menu") if dish["available"]]
        if not menu:
            return []
        items = [{"menu_item_id": dish["id"], "quantity": random.choice((1, 1, 2))}
                 for dish in random.sample(menu, k=min(len(menu), random.randint(1, 3)))]  # fmt: skip
        body = {"table_id": party["table_id"], "items": items}
        try:
            return [await self._session.call("POST", "/api/orders", body, key=secrets.token_hex(8))]
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: sold out or switched off meanwhile; it eats nothing
                raise
            return []

    async def _until(self, path: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """Look at `path` every `LOOK_EVERY_S` until `done(it)`; None once out of patience."""
        deadline = time.monotonic() + PATIENCE_S / self._guests.speed
        while time.monotonic() < deadline:
            found: dict[str, Any] = await self._session.call("GET", path)
            if path == self._path:
                self._check_ours(found)
            if done(found):
                return found
            await pause(self._stop, LOOK_EVERY_S)
        return None

    def _check_ours(self, found: dict[str, Any]) -> None:
        if (found.get("name"), found.get("created_at")) != (self._party["name"], self._party["created_at"]):
            raise NotOurs(f"customer {self._party['id']} is another party now")

    async def _leave(self) -> None:
        self._check_ours(await self._session.call("GET", self._path))
        try:
            await self._session.call("POST", f"{self._path}/leave")
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: it has left already (staff released its table)
                raise

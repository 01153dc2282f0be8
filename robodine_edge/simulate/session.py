"""The simulated guests' way to the API: one staff login shared by every guest of a run.

A guest is what a tablet or the host stand would be, so it behaves like one on a shaky
network: a refused token (expired after `token_ttl_s`, or revoked) means logging in
again; an edge that cannot be reached or answers 5xx, 408 or 429 (restarting, busy) is
asked again every `RETRY_S`, a `POST` with the same Idempotency-Key (the edge then
answers the first result rather than creating twice). Once the run stops, no call
starts (`Stopped`); one in flight finishes. Runs on the simulator's event loop; each
HTTP call goes to a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.error
from typing import Any

from robodine_edge.simulate.api import http_json

log = logging.getLogger(__name__)
RETRY_S = 2.0
"""Real seconds between tries while the edge cannot be reached."""
ASK_AGAIN = frozenset({408, 429})
"""Answers below 500 that say "not now" rather than "no"."""


class Stopped(Exception):
    """The run is stopping: a guest makes no further call."""


class Refused(Exception):
    """The edge refused the guests' login (wrong user or password): no guest can come."""


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds` of real time; `Stopped` at once when the run stops."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(seconds, 0.0))
    if stop.is_set():
        raise Stopped


class Session:
    def __init__(self, api: str, username: str, password: str, stop: asyncio.Event) -> None:
        self._api = api
        self._login = {"username": username, "password": password}
        self._stop = stop
        self._token: str | None = None
        self._logging_in = asyncio.Lock()

    async def call(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> Any:
        """One API call, as often as it takes: `HTTPError` for a refusal (4xx but those in
        `ASK_AGAIN`; a 401 after a fresh login too), `Stopped` once the run stops."""
        fresh = False
        while True:
            if self._stop.is_set():
                raise Stopped
            token = await self._token_for(None)
            try:
                return await asyncio.to_thread(http_json, self._api, method, path, body, token, key)
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and not fresh:
                    await self._token_for(token)
                    fresh = False
                    continue
                if exc.code < 500 and exc.code not in ASK_AGAIN:
                    raise
                reason: object = exc.code
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
            log.debug("%s %s: %s; asking again in %g s", method, path, reason, RETRY_S)
            await pause(self._stop, RETRY_S)

    async def _token_for(self, refused: str | None) -> str:
        """The current token, after logging in if there is none or it is `refused` (one
        login for every guest that found the same token refused)."""
        async with self._logging_in:
            while self._token is None or self._token == refused:
                if self._stop.is_set():
                    raise Stopped
                try:
                    answer = await asyncio.to_thread(http_json, self._api, "POST", "/api/auth/login", self._login, None)
                    self._token = str(answer["access_token"])
                except urllib.error.HTTPError as exc:
                    if exc.code < 500 and exc.code not in ASK_AGAIN:
                        who = self._login["username"]
                        raise Refused(f"the edge refused the guests' login as {who}: {exc.code}") from None
                    log.debug("login: %s; trying again in %g s", exc.code, RETRY_S)
                    await pause(self._stop, RETRY_S)
                except (urllib.error.URLError, OSError) as exc:
                    log.debug("login: %s; trying again in %g s", getattr(exc, "reason", exc), RETRY_S)
                    await pause(self._stop, RETRY_S)
            return self._token

"""Who is calling: bearer tokens, revocations, roles, and the login rate limit.

All of this runs on the event loop and never blocks: a token check is a signature
check (~70 µs) and a set lookup. The revocation list is a loop-owned cache of the
`auth_session` rows marked revoked; it is filled from SQLite at start and extended by
the handlers that revoke (logout, user changes) after their write has committed.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Collection
from typing import TYPE_CHECKING

from robodine_edge.auth.tokens import TokenCodec
from robodine_edge.errors import Forbidden, RateLimited, Unauthorized
from robodine_edge.types import Principal, Role

if TYPE_CHECKING:
    from robodine_edge.http.context import ApiRequest

MAX_FAILED_LOGINS = 5
LOGIN_WINDOW_S = 60.0
MAX_TRACKED_ADDRESSES = 10_000


class Revocations:
    """Revoked token ids until they expire anyway. Event-loop thread only."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}

    def add(self, jti: str, expires_at: float) -> None:
        self._expiry[jti] = expires_at
        if len(self._expiry) % 256 == 0:
            self.prune()

    def add_all(self, tokens: Collection[tuple[str, float]]) -> None:
        for jti, expires_at in tokens:
            self.add(jti, expires_at)

    def __contains__(self, jti: str) -> bool:
        return jti in self._expiry

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for jti in [jti for jti, exp in self._expiry.items() if exp <= now]:
            del self._expiry[jti]


VERIFIED_CACHE = 4096


class AuthGate:
    """Turns a request's credentials into a `Principal` and enforces roles.

    A token's signature is checked once (PyJWT, ~70 µs); the result is kept in a bounded
    cache, since a tablet sends the same token all day. Expiry and revocation are still
    checked on every request.
    """

    def __init__(self, codec: TokenCodec, revocations: Revocations) -> None:
        self.codec = codec
        self.revocations = revocations
        self._verified: OrderedDict[str, Principal] = OrderedDict()

    def authenticate(self, request: ApiRequest, *, allow_query_token: bool = False) -> Principal:
        token = _bearer(request)
        if token is None and allow_query_token:
            token = request.args.get("token")
        if not token:
            raise Unauthorized("missing bearer token")
        return self.verify(token)

    def verify(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is None:
            principal = self.codec.verify(token)
            self._verified[token] = principal
            if len(self._verified) > VERIFIED_CACHE:
                self._verified.popitem(last=False)
        elif principal.expires_at <= time.time():
            del self._verified[token]
            raise Unauthorized("token expired")
        if principal.token_id in self.revocations:
            raise Unauthorized("token revoked")
        return principal

    def require(self, request: ApiRequest, roles: Collection[Role], *, allow_query_token: bool = False) -> Principal:
        principal = self.authenticate(request, allow_query_token=allow_query_token)
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal


def _bearer(request: ApiRequest) -> str | None:
    header: str | None = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'")
    return credentials.strip()


class LoginLimiter:
    """At most `MAX_FAILED_LOGINS` failed logins per address per minute; the next is 429.

    Bounded: past `MAX_TRACKED_ADDRESSES` the least recently seen address is forgotten.
    Event-loop thread only.
    """

    def __init__(self) -> None:
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._now = time.monotonic

    def check(self, address: str) -> None:
        recent = self._recent(address)
        if len(recent) >= MAX_FAILED_LOGINS:
            retry = max(1, int(LOGIN_WINDOW_S - (self._now() - recent[0])) + 1)
            raise RateLimited("too many failed logins; try again later", retry_after_s=retry)

    def record_failure(self, address: str) -> None:
        recent = self._recent(address)
        recent.append(self._now())
        self._failures[address] = recent
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_TRACKED_ADDRESSES:
            self._failures.popitem(last=False)

    def _recent(self, address: str) -> deque[float]:
        recent = self._failures.get(address, deque())
        cutoff = self._now() - LOGIN_WINDOW_S
        while recent and recent[0] <= cutoff:
            recent.popleft()
        return recent

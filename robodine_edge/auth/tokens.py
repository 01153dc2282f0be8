"""Access tokens: signed JWTs (HS256, PyJWT) with expiry and a unique id for revocation.

A token says who the caller is (`sub`, `name`, `role`, and `table` for kiosks) and
until when. Revocation (logout, user deleted, role changed) is recorded against its
`jti`; see `robodine_edge.http.auth.Revocations`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from robodine_edge.errors import Unauthorized
from robodine_edge.types import Principal, Role, TableId, UserId

ALGORITHM = "HS256"
ISSUER = "robodine-edge"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    principal: Principal
    expires_in: int


class TokenCodec:
    """Issues and verifies tokens for one store. Pure: safe from any thread."""

    def __init__(self, key: bytes, ttl_s: int, store_id: str, kiosk_ttl_s: int | None = None) -> None:
        self._key = key
        self._ttl_s = ttl_s
        self._kiosk_ttl_s = ttl_s if kiosk_ttl_s is None else kiosk_ttl_s
        """A table's tablet stays signed in: its tokens may live longer than staff's."""
        self._audience = f"robodine-edge:{store_id}"

    def ttl_s(self, role: Role) -> int:
        return self._kiosk_ttl_s if role is Role.KIOSK else self._ttl_s

    def issue(self, user_id: int, username: str, role: Role, table_id: int | None = None) -> IssuedToken:
        now = int(time.time())
        ttl_s = self.ttl_s(role)
        jti = secrets.token_urlsafe(16)
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": self._audience,
            "sub": str(user_id),
            "name": username,
            "role": role.value,
            "iat": now,
            "exp": now + ttl_s,
            "jti": jti,
        }
        if table_id is not None:
            claims["table"] = table_id
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        principal = Principal(
            user_id=UserId(user_id),
            username=username,
            role=role,
            token_id=jti,
            expires_at=float(now + ttl_s),
            table_id=TableId(table_id) if table_id is not None else None,
        )
        return IssuedToken(token=token, principal=principal, expires_in=ttl_s)

    def verify(self, token: str) -> Principal:
        """Decode a token; raises `Unauthorized` for a bad signature, expiry or shape."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None
        try:
            table = claims.get("table")
            return Principal(
                user_id=UserId(int(claims["sub"])),
                username=str(claims.get("name", "")),
                role=Role(claims["role"]),
                token_id=str(claims["jti"]),
                expires_at=float(claims["exp"]),
                table_id=TableId(int(table)) if table is not None else None,
            )
        except (ValueError, TypeError, KeyError):
            raise Unauthorized("invalid token") from None

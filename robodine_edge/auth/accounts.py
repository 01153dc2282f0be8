"""Users and their sessions in SQLite: the data side of authentication.

Functions here are units of work: writers run on the writer actor's thread (submitted
with `Writer.write`), readers on a read-pool thread, `ensure_admin` on the main thread
at start-up. None of them knows about HTTP or actors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from peewee import IntegrityError

from robodine_edge.auth.passwords import hash_password, new_password
from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.datadir import ADMIN_PASSWORD_FILE, write_secret_once
from robodine_edge.data.models import AuthSession, DiningTable, User
from robodine_edge.data.rows import newest_first, one
from robodine_edge.data.sessions import revoke_users_sessions
from robodine_edge.errors import Conflict, ValidationFailed
from robodine_edge.types import Role

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoginRecord:
    """What login needs to know about a user (read-pool thread → loop)."""

    id: int
    username: str
    role: Role
    password_hash: str
    table_id: int | None


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "table_id": user.table_id,
        "created_at": to_iso(user.created_at),
    }


# -- readers (read-pool thread) ------------------------------------------------------


def find_login(username: str) -> LoginRecord | None:
    user = User.get_or_none(User.username == username)
    if user is None:
        return None
    return LoginRecord(user.id, user.username, Role(user.role), user.password_hash, user.table_id)


def find_user(user_id: int) -> LoginRecord | None:
    """The user as it is now (a token says who it was when issued)."""
    user = User.get_or_none(User.id == user_id)
    if user is None:
        return None
    return LoginRecord(user.id, user.username, Role(user.role), user.password_hash, user.table_id)


def get_user(user_id: int) -> dict[str, Any]:
    return user_json(one(User, user_id, "user"))


def list_users(limit: int, before: int | None, role: str | None = None) -> list[dict[str, Any]]:
    query = newest_first(User.select(), User, limit, before)
    if role is not None:
        query = query.where(User.role == role)
    return [user_json(user) for user in query]


def revoked_sessions(now: datetime) -> list[tuple[str, float]]:
    """Revoked tokens not yet expired, as (jti, expiry unix time), to refill the revocation list."""
    query = AuthSession.select(AuthSession.jti, AuthSession.expires_at).where(
        AuthSession.revoked_at.is_null(False), AuthSession.expires_at > now
    )
    return [(row.jti, _unix(row.expires_at)) for row in query]


# -- writers (store actor thread) ------------------------------------------------------


def create_user(username: str, password_hash: str, role: Role, table_id: int | None) -> dict[str, Any]:
    _check_binding(role, table_id)
    now = utcnow()
    try:
        user = User.create(
            username=username,
            password_hash=password_hash,
            role=role.value,
            table=table_id,
            created_at=now,
            updated_at=now,
        )
    except IntegrityError:
        raise Conflict(f"username {username!r} is taken") from None
    return user_json(user)


def update_user(user_id: int, changes: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, float]]]:
    """Apply `changes` (username, password_hash, role, table_id); returns the user and the
    sessions it revoked (a new role, password or table ends every session of that user:
    a kiosk's token names its table, and lives 30 days)."""
    user = one(User, user_id, "user")
    role = Role(changes.get("role", user.role))
    table_id = changes.get("table_id", user.table_id) if role is Role.KIOSK else None
    _check_binding(role, table_id)
    if user.role == Role.ADMIN and role is not Role.ADMIN:
        _keep_an_admin(user.id)
    revoke = role.value != user.role or "password_hash" in changes or table_id != user.table_id
    user.username = changes.get("username", user.username)
    user.password_hash = changes.get("password_hash", user.password_hash)
    user.role = role.value
    user.table = table_id
    user.updated_at = utcnow()
    try:
        user.save()
    except IntegrityError:
        raise Conflict(f"username {user.username!r} is taken") from None
    revoked = _revoke_all(user.id) if revoke else []
    return user_json(user), revoked


def delete_user(user_id: int) -> list[tuple[str, float]]:
    """Delete a user; returns the sessions that must stop working at once."""
    user = one(User, user_id, "user")
    if user.role == Role.ADMIN:
        _keep_an_admin(user.id)
    revoked = _revoke_all(user.id)
    user.delete_instance()
    return revoked


def record_session(jti: str, user_id: int, expires_at: float) -> None:
    AuthSession.create(jti=jti, user=user_id, expires_at=_from_unix(expires_at))


def revoke_session(jti: str) -> None:
    AuthSession.update(revoked_at=utcnow()).where(AuthSession.jti == jti, AuthSession.revoked_at.is_null()).execute()


def set_password_hash(user_id: int, password_hash: str) -> None:
    User.update(password_hash=password_hash, updated_at=utcnow()).where(User.id == user_id).execute()


def prune_sessions(now: datetime) -> int:
    """Forget sessions that expired (a revoked-but-expired token fails on expiry alone)."""
    pruned: int = AuthSession.delete().where(AuthSession.expires_at < now).execute()
    return pruned


# -- start-up (main thread) -----------------------------------------------------------


def ensure_admin(data_dir: Path, password: str | None) -> bool:
    """On first start (no users at all), create `admin`; True if it was created now.

    Without `password` a random one is written once to DATA_DIR/initial-admin-password
    (mode 0600); the log names the file, never the password.
    """
    if User.select().exists():
        return False
    generated = password is None
    secret = password if password else new_password()
    create_user("admin", hash_password(secret), Role.ADMIN, None)
    if generated:
        path = data_dir / ADMIN_PASSWORD_FILE
        if write_secret_once(path, secret + "\n"):
            log.warning("created user admin; its initial password is in %s", path)
        else:
            log.error("created user admin but %s already exists; set ROBODINE_ADMIN_PASSWORD", path)
    else:
        log.info("created user admin with the password from ROBODINE_ADMIN_PASSWORD")
    return True


# -- helpers ----------------------------------------------------------------------------


def _check_binding(role: Role, table_id: int | None) -> None:
    if role is Role.KIOSK and table_id is None:
        raise ValidationFailed("a kiosk user is bound to a table", fields={"table_id": "required for role kiosk"})
    if role is not Role.KIOSK and table_id is not None:
        raise ValidationFailed("only kiosk users are bound to a table", fields={"table_id": "only for role kiosk"})
    if table_id is not None and not DiningTable.select().where(DiningTable.id == table_id).exists():
        raise ValidationFailed(f"table {table_id} does not exist", fields={"table_id": "no such table"})


def _keep_an_admin(leaving_id: int) -> None:
    others = User.select().where(User.role == Role.ADMIN.value, User.id != leaving_id).count()
    if others == 0:
        raise Conflict("the last admin cannot be removed or demoted")


def _revoke_all(user_id: int) -> list[tuple[str, float]]:
    return revoke_users_sessions([user_id])


_EPOCH = datetime(1970, 1, 1)


def _unix(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def _from_unix(seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)

"""Kiosks: a tablet's user account, bound to one table."""

from __future__ import annotations

import secrets
from typing import Any

from robodine_edge.auth.passwords import new_password
from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.models import DiningTable, Kiosk, User
from robodine_edge.data.rows import newest_first, one
from robodine_edge.data.sessions import revoke_users_sessions
from robodine_edge.errors import ValidationFailed
from robodine_edge.types import Role


def kiosk_json(kiosk: Kiosk, username: str) -> dict[str, Any]:
    return {
        "id": kiosk.id,
        "table_id": kiosk.table_id,
        "name": kiosk.name,
        "username": username,
        "created_at": to_iso(kiosk.created_at),
    }


def new_credentials(table_id: int) -> tuple[str, str]:
    """A fresh username and password for a table's kiosk (any thread)."""
    return f"kiosk-t{table_id}-{secrets.token_hex(3)}", new_password()


def create_kiosk(table_id: int, name: str | None, username: str, password_hash: str) -> dict[str, Any]:
    """Writer thread: the kiosk user and its kiosk row, together."""
    if not DiningTable.select().where(DiningTable.id == table_id).exists():
        raise ValidationFailed(f"table {table_id} does not exist", fields={"table_id": "no such table"})
    now = utcnow()
    user = User.create(
        username=username,
        password_hash=password_hash,
        role=Role.KIOSK.value,
        table=table_id,
        created_at=now,
        updated_at=now,
    )
    kiosk = Kiosk.create(table=table_id, user=user.id, name=name, created_at=now)
    return kiosk_json(kiosk, username)


def delete_kiosk(kiosk_id: int) -> list[tuple[str, float]]:
    """Writer thread: delete the kiosk and its user; returns the sessions to revoke."""
    kiosk = one(Kiosk, kiosk_id, "kiosk")
    revoked = revoke_users_sessions([kiosk.user_id])
    User.delete().where(User.id == kiosk.user_id).execute()
    Kiosk.delete().where(Kiosk.id == kiosk_id).execute()
    return revoked


def get_kiosk(kiosk_id: int) -> dict[str, Any]:
    kiosk = one(Kiosk, kiosk_id, "kiosk")
    return kiosk_json(kiosk, kiosk.user.username)


def list_kiosks(limit: int, before: int | None) -> list[dict[str, Any]]:
    query = newest_first(Kiosk.select(Kiosk, User).join(User), Kiosk, limit, before)
    return [kiosk_json(kiosk, kiosk.user.username) for kiosk in query]

"""Sign-in sessions as rows: revoking every live session of some users.

A unit of work (writer thread), called inside the unit that removes or changes the
users (a deleted table's kiosk user, a removed or demoted account), so both commit or
neither. It lives with the rows rather than in `auth` because `data.tables` needs it
too, and the data room imports nothing above it.
"""

from __future__ import annotations

from robodine_edge.clock import to_unix, utcnow
from robodine_edge.data.models import AuthSession


def revoke_users_sessions(user_ids: list[int]) -> list[tuple[str, float]]:
    """Revoke every live session of these users; returns (jti, expiry) to add to the revocation list."""
    if not user_ids:
        return []
    now = utcnow()
    mine = (AuthSession.user.in_(user_ids)) & AuthSession.revoked_at.is_null()
    live = list(AuthSession.select(AuthSession.jti, AuthSession.expires_at).where(mine, AuthSession.expires_at > now))
    AuthSession.update(revoked_at=now).where(mine).execute()
    return [(row.jti, to_unix(row.expires_at)) for row in live]

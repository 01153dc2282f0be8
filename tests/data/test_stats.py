"""Today's figures (`data.stats.today`) on a real SQLite file: the local day's bounds in a
given time zone, orders per local hour (daylight-saving days included), the served
average, and the index the day's query runs on."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from peewee import SqliteDatabase

from robodine_edge.data.models import DiningTable, Order
from robodine_edge.data.stats import PER_HOUR, LocalDay, today

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


def place(placed: datetime, status: str = "placed", served_after_s: float | None = None) -> int:
    """An order placed at `placed` (naive UTC), optionally served that many seconds later."""
    table = DiningTable.get_or_create(name="T1", defaults={"seats": 4})[0]
    served_at = placed + timedelta(seconds=served_after_s) if served_after_s is not None else None
    return Order.create(
        table=table.id, status=status, total_cents=1000, created_at=placed, updated_at=placed, served_at=served_at
    ).id


def by_hour(figures: dict) -> dict[int, int]:
    return {slot["hour"]: slot["orders"] for slot in figures["orders_per_hour"] if slot["orders"]}


def test_the_day_is_the_local_calendar_day_in_utc_bounds() -> None:
    # 2026-12-06 20:00 UTC is already 7 December in Seoul (UTC+9, no daylight saving).
    day = LocalDay.of(datetime(2026, 12, 6, 20, 0), SEOUL)
    assert day.day.isoformat() == "2026-12-07"
    assert (day.start, day.end) == (datetime(2026, 12, 6, 15, 0), datetime(2026, 12, 7, 15, 0))
    assert [hour for hour, _ in day.hours()] == list(range(24))
    assert day.hours()[9] == (9, datetime(2026, 12, 7, 0, 0))


def test_orders_are_counted_in_the_local_hour_they_were_placed(db: SqliteDatabase) -> None:
    now = datetime(2026, 12, 7, 3, 0)  # 12:00 in Seoul
    place(datetime(2026, 12, 6, 14, 59, 59, 999000))  # 23:59:59.999 the day before: not today
    first = place(datetime(2026, 12, 6, 15, 0))  # local midnight exactly
    place(datetime(2026, 12, 6, 23, 30), "served", served_after_s=600)  # 08:30
    place(datetime(2026, 12, 6, 23, 59, 59), "served", served_after_s=300)  # 08:59:59
    place(datetime(2026, 12, 7, 0, 0), "cancelled")  # 09:00
    last = place(datetime(2026, 12, 7, 2, 10), "cooking")  # 11:10
    place(datetime(2026, 12, 7, 15, 0))  # tomorrow's midnight: not today
    figures = today(now, SEOUL)
    assert figures["date"] == "2026-12-07"
    assert (figures["day_start"], figures["day_end"]) == ("2026-12-06T15:00:00.000Z", "2026-12-07T15:00:00.000Z")
    assert by_hour(figures) == {0: 1, 8: 2, 9: 1, 11: 1}
    assert [slot["hour"] for slot in figures["orders_per_hour"]] == list(range(24))
    assert (figures["orders"], figures["served"], figures["cancelled"]) == (5, 2, 1)
    assert figures["avg_placed_to_served_s"] == 450.0
    assert figures["open_order_ids"] == [first, last]
    assert figures["last_order_id"] == last + 1


def test_an_empty_day_has_every_hour_at_zero_and_no_average(db: SqliteDatabase) -> None:
    figures = today(datetime(2026, 12, 7, 3, 0), SEOUL)
    assert len(figures["orders_per_hour"]) == 24 and by_hour(figures) == {}
    assert (figures["orders"], figures["served"], figures["avg_placed_to_served_s"]) == (0, 0, None)
    assert figures["last_order_id"] is None and figures["open_order_ids"] == []


def test_a_spring_forward_day_has_23_hours_labelled_by_the_wall_clock(db: SqliteDatabase) -> None:
    # New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    place(datetime(2026, 3, 8, 6, 30))  # 01:30 EST
    place(datetime(2026, 3, 8, 7, 30))  # 03:30 EDT
    place(datetime(2026, 3, 9, 3, 59))  # 23:59 EDT
    figures = today(datetime(2026, 3, 8, 18, 0), NEW_YORK)
    hours = [slot["hour"] for slot in figures["orders_per_hour"]]
    assert hours == [0, 1, *range(3, 24)]
    assert by_hour(figures) == {1: 1, 3: 1, 23: 1}
    assert figures["day_end"] == "2026-03-09T04:00:00.000Z"


def test_a_fall_back_day_has_25_hours_and_shows_the_repeated_hour_twice(db: SqliteDatabase) -> None:
    # New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    place(datetime(2026, 11, 1, 5, 30))  # 01:30 EDT
    place(datetime(2026, 11, 1, 6, 30))  # 01:30 EST, an hour later
    figures = today(datetime(2026, 11, 1, 18, 0), NEW_YORK)
    slots = figures["orders_per_hour"]
    assert [slot["hour"] for slot in slots] == [0, 1, 1, *range(2, 24)]
    assert [slot["orders"] for slot in slots[:4]] == [0, 1, 1, 0]


def test_the_day_is_read_through_the_placing_time_index(db: SqliteDatabase) -> None:
    plan = " ".join(str(row) for row in db.execute_sql("EXPLAIN QUERY PLAN " + PER_HOUR, (0, "2026", "2027")))
    assert "order_created_at" in plan, plan

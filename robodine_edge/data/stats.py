"""Today's orders in figures, for the dashboard: orders per hour, served, and the average
time from placed to served (`GET /api/stats/today`).

"Today" is the store's local day: midnight to midnight in the edge's own time zone (the
system's: `TZ`, else `/etc/localtime`), the clock its opening hours are read in. Times are
stored as naive UTC, so the day is turned into its UTC bounds first and the orders are
counted in SQL over those bounds (the `order.created_at` index), one bucket per elapsed
hour since local midnight. Each bucket is labelled with its local wall-clock hour: 24 of
them on most days, 23 or 25 on a daylight-saving change (the repeated hour shows twice).

Runs on a read-pool thread (one read transaction, so every figure is of one moment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from robodine_edge.clock import to_iso, to_unix
from robodine_edge.data.models import Order
from robodine_edge.domain.lifecycle import OrderStatus

HOUR_S = 3600
TABLE = f'"{Order._meta.table_name}"'
PER_HOUR = (
    f"SELECT (CAST(strftime('%s', created_at) AS INTEGER) - ?) / {HOUR_S} AS slot, COUNT(*) "
    f"FROM {TABLE} WHERE created_at >= ? AND created_at < ? GROUP BY slot"
)
TOTALS = (
    "SELECT COUNT(*), "
    "COALESCE(SUM(status = ?), 0), "
    "COALESCE(SUM(status = ?), 0), "
    "AVG(CASE WHEN status = ? AND served_at IS NOT NULL "
    "THEN (julianday(served_at) - julianday(created_at)) * 86400.0 END) "
    f"FROM {TABLE} WHERE created_at >= ? AND created_at < ?"
)
OPEN = f"SELECT id FROM {TABLE} WHERE created_at >= ? AND created_at < ? AND status NOT IN (?, ?) ORDER BY id"
LAST = f"SELECT MAX(id) FROM {TABLE}"


@dataclass(frozen=True, slots=True)
class LocalDay:
    """A calendar day of a time zone and its bounds as naive UTC (how times are stored)."""

    day: date
    start: datetime
    end: datetime
    zone: tzinfo | None
    """None: the system's time zone."""

    @classmethod
    def of(cls, now: datetime, zone: tzinfo | None = None) -> LocalDay:
        """The day `now` (naive UTC) falls on in `zone` (None: the system's time zone).

        `astimezone()` with no zone, and a naive datetime's `astimezone`, both use the
        system's local time with its daylight-saving rules, so None needs no zone name."""
        day = now.replace(tzinfo=UTC).astimezone(zone).date()
        return cls(day, _utc_midnight(day, zone), _utc_midnight(day + timedelta(days=1), zone), zone)

    def hours(self) -> list[tuple[int, datetime]]:
        """Each elapsed hour of the day: its local wall-clock hour and its UTC start."""
        count = -(-int((self.end - self.start).total_seconds()) // HOUR_S)
        starts = [self.start + timedelta(hours=n) for n in range(count)]
        return [(start.replace(tzinfo=UTC).astimezone(self.zone).hour, start) for start in starts]


def _utc_midnight(day: date, zone: tzinfo | None) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def today(now: datetime, zone: tzinfo | None = None) -> dict[str, Any]:
    """The figures of the local day `now` falls on. Read-pool thread."""
    bounds = LocalDay.of(now, zone)
    span = (bounds.start, bounds.end)
    served, cancelled = OrderStatus.SERVED.value, OrderStatus.CANCELLED.value
    db = Order._meta.database
    with db.atomic():
        per_slot = dict(db.execute_sql(PER_HOUR, (int(to_unix(bounds.start)), *span)).fetchall())
        orders, served_count, cancelled_count, average = db.execute_sql(
            TOTALS, (served, cancelled, served, *span)
        ).fetchone()
        open_ids = [row[0] for row in db.execute_sql(OPEN, (*span, served, cancelled))]
        last_id = db.execute_sql(LAST).fetchone()[0]
    return {
        "date": bounds.day.isoformat(),
        "day_start": to_iso(bounds.start),
        "day_end": to_iso(bounds.end),
        "orders_per_hour": [
            {"hour": hour, "start": to_iso(start), "orders": per_slot.get(slot, 0)}
            for slot, (hour, start) in enumerate(bounds.hours())
        ],
        "orders": orders,
        "served": served_count,
        "cancelled": cancelled_count,
        "avg_placed_to_served_s": None if average is None else round(average, 3),
        "last_order_id": last_id,
        "open_order_ids": open_ids,
    }

"""The soak's verdict, as pure functions: each resource's drift per hour after warm-up, against
its tolerance, and what became of every order.

Drift is the least-squares slope of a resource over the samples after the warm-up (by default
the second half of the run), scaled to an hour; its standard error says how far noise alone
could move it. A resource passes when its slope is within its tolerance (docs/BENCH.md,
"Soak", says why each tolerance is what it is). Runs in the harness's process.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tolerance:
    """How much a resource may rise per hour after warm-up, in its own unit (None: reported,
    not judged)."""

    resource: str
    unit: str
    per_hour: float | None
    why: str


TOLERANCES: tuple[Tolerance, ...] = (
    Tolerance("rss_mb", "MB", None, "RSS as the kernel counts it: the three lines below it make it up"),
    Tolerance("replay_mb", "MB", None, "the live topics' replay buffers: 2,000 messages a topic, full after hours"),
    Tolerance("sqlite_mb", "MB", None, "SQLite's page caches: grow with the database, 8 MB a connection at most"),
    Tolerance("rss_net_mb", "MB", 2.0, "RSS less those two: a 14-hour day at this rate adds 28 MB"),
    Tolerance("fds", "fds", 2.0, "descriptors are counted exactly; one leaked per request would be hundreds an hour"),
    Tolerance("threads", "threads", 1.0, "threads are made per robot and per pool: a fixed fleet makes none"),
    Tolerance("wal_mb", "MB", 1.0, "the WAL is checkpointed at 1,000 frames (~4 MB) and reused, never grown"),
    Tolerance("open_orders", "orders", 6.0, "the robots keep up: open orders wander, they do not pile up"),
)
"""The resources sampled, judged or reported. The database file is not among them: it grows with what it must keep
(orders, events, pose samples for `retention.*_days`), so it is judged per order instead."""
DB_BYTES_PER_ORDER = 64 * 1024
"""What the database file may grow by per order placed in the rush, pose samples and events
of the 20 robots included (measured ~20 KB; docs/BENCH.md)."""
DB_TOLERANCE_WHY = "every order keeps its rows, events and the robots' pose samples: judged per order"


def slope(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope of y over x, and its standard error (0 with fewer than 3 points
    or no spread in x)."""
    n = len(points)
    if n < 2:
        return 0.0, 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0, 0.0
    b = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    if n < 3:
        return b, 0.0
    residual = sum((y - mean_y - b * (x - mean_x)) ** 2 for x, y in points)
    return b, math.sqrt(residual / (n - 2) / sxx)


def after(samples: Sequence[Mapping[str, Any]], warmup_s: float) -> list[Mapping[str, Any]]:
    return [s for s in samples if s["t_s"] >= warmup_s]


def drift(samples: Sequence[Mapping[str, Any]], resource: str, warmup_s: float) -> dict[str, Any]:
    """`resource`'s slope per hour over the samples from `warmup_s` on, with where it
    started, ended and peaked there."""
    window = [(s["t_s"] / 3600.0, float(s[resource])) for s in after(samples, warmup_s) if s.get(resource) is not None]
    per_hour, error = slope(window)
    values = [y for _, y in window]
    return {
        "per_hour": round(per_hour, 3),
        "stderr": round(error, 3),
        "samples": len(window),
        "first": values[0] if values else None,
        "last": values[-1] if values else None,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
    }


def verdicts(
    samples: Sequence[Mapping[str, Any]], warmup_s: float, tolerances: Iterable[Tolerance] = TOLERANCES
) -> dict[str, dict[str, Any]]:
    """Each resource's drift and whether it is within its tolerance. Too few samples after
    warm-up to draw a line through is no verdict (`ok` None), never a pass; a resource only
    reported has none either."""
    out: dict[str, dict[str, Any]] = {}
    for tolerance in tolerances:
        found = drift(samples, tolerance.resource, warmup_s)
        judged = tolerance.per_hour is not None and found["samples"] >= 3
        ok = found["per_hour"] <= tolerance.per_hour if judged else None
        out[tolerance.resource] = {**found, "unit": tolerance.unit, "tolerance_per_hour": tolerance.per_hour, "ok": ok}
    return out


def db_growth(samples: Sequence[Mapping[str, Any]], warmup_s: float) -> dict[str, Any]:
    """The database file's growth after warm-up against the orders placed meanwhile."""
    window = after(samples, warmup_s)
    found = drift(samples, "db_mb", warmup_s)
    if len(window) < 2:
        return {**found, "bytes_per_order": None, "tolerance_bytes_per_order": DB_BYTES_PER_ORDER, "ok": None}
    grown = (window[-1]["db_mb"] - window[0]["db_mb"]) * 2**20
    orders = window[-1]["orders_placed"] - window[0]["orders_placed"]
    per_order = grown / orders if orders > 0 else None
    ok = None if per_order is None else per_order <= DB_BYTES_PER_ORDER
    return {**found, "bytes_per_order": None if per_order is None else round(per_order),
            "tolerance_bytes_per_order": DB_BYTES_PER_ORDER, "ok": ok}  # fmt: skip


ACTIVE = frozenset({"placed", "cooking", "ready", "serving"})


def account(
    orders: Iterable[Mapping[str, Any]], acknowledged: Iterable[int], cancelled_by_us: Iterable[int], last_id: int
) -> dict[str, Any]:
    """What became of every order up to `last_id` (the newest when the load stopped).

    `acknowledged`: ids the harness got a 201 for — each must exist (else it is lost);
    `cancelled_by_us`: ids the harness's staff cancelled. An order is served, or explained
    (cancelled by the harness's staff, or flagged with its reason), or unexplained: cancelled
    by no one we know, or still open after the drain without a flag."""
    every = {int(o["id"]): o for o in orders}
    by_id = {order_id: order for order_id, order in every.items() if order_id <= last_id}
    ours = set(cancelled_by_us)
    served: list[int] = []
    explained: dict[int, str] = {}
    unexplained: dict[int, str] = {}
    for order_id, order in sorted(by_id.items()):
        status = order["status"]
        if status == "served":
            served.append(order_id)
        elif status == "cancelled" and order_id in ours:
            explained[order_id] = "cancelled by the soak's staff"
        elif order.get("flagged"):
            explained[order_id] = f"{status}, flagged: {order.get('flag_reason') or 'no reason given'}"
        elif status == "cancelled":
            unexplained[order_id] = "cancelled, not by the soak's staff"
        elif status in ACTIVE:
            unexplained[order_id] = f"still {status} after the drain, not flagged"
        else:
            unexplained[order_id] = f"status {status!r}"
    lost = sorted(set(acknowledged) - set(every))
    return {
        "orders": len(by_id),
        "served": len(served),
        "explained": len(explained),
        "unexplained": len(unexplained),
        "lost": len(lost),
        "explained_detail": {str(k): v for k, v in explained.items()},
        "unexplained_detail": {str(k): v for k, v in unexplained.items()},
        "lost_ids": lost,
        "ok": not lost and not unexplained,
    }

"""Who sits where: the smallest free table that fits, in arrival order, and wait estimates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from robodine_edge.domain.lifecycle import TableStatus


@dataclass(frozen=True, slots=True)
class TableFit:
    """What seating needs to know of a table. `seated_at` is a unix time, when occupied."""

    id: int
    seats: int
    status: TableStatus
    seated_at: float | None = None


@dataclass(frozen=True, slots=True)
class WaitingParty:
    id: int
    size: int


def pick_table(size: int, tables: Iterable[TableFit]) -> TableFit | None:
    """The smallest available table seating `size` (lowest id among equals)."""
    fitting = [t for t in tables if t.status is TableStatus.AVAILABLE and t.seats >= size]
    return min(fitting, key=lambda t: (t.seats, t.id), default=None)


def assign(waiting: Sequence[WaitingParty], tables: Iterable[TableFit]) -> list[tuple[int, int]]:
    """Seat waiting parties in arrival order; a party that fits nothing free does not block
    a smaller one behind it. Returns (party id, table id) pairs."""
    free = [t for t in tables if t.status is TableStatus.AVAILABLE]
    seated: list[tuple[int, int]] = []
    for party in waiting:
        table = pick_table(party.size, free)
        if table is not None:
            seated.append((party.id, table.id))
            free.remove(table)
    return seated


def estimate_waits(
    waiting: Sequence[WaitingParty],
    tables: Iterable[TableFit],
    now: float,
    dining_s: float,
    cleaning_s: float,
) -> dict[int, float | None]:
    """Seconds until each waiting party can expect a table (None: no table is big enough).

    Each table that fits is expected free when its guests have dined `dining_s` and it
    has been cleaned; a reserved table counts as held for one sitting from now (its
    booking dines and it is cleaned). Parties take those moments in arrival order, and
    a table serves again `dining_s + cleaning_s` after it turns.
    """
    tables = list(tables)
    free_at = {t.id: _expected_free(t, now, dining_s, cleaning_s) for t in tables}
    estimates: dict[int, float | None] = {}
    for party in waiting:
        fitting = [t.id for t in tables if t.seats >= party.size]
        if not fitting:
            estimates[party.id] = None
            continue
        soonest = min(fitting, key=lambda table_id: (free_at[table_id], table_id))
        estimates[party.id] = round(max(0.0, free_at[soonest] - now), 1)
        free_at[soonest] += dining_s + cleaning_s
    return estimates


def _expected_free(table: TableFit, now: float, dining_s: float, cleaning_s: float) -> float:
    if table.status is TableStatus.AVAILABLE:
        return now
    if table.status is TableStatus.CLEANING:
        return now + cleaning_s
    if table.status is TableStatus.RESERVED:
        return now + dining_s + cleaning_s
    seated_at = table.seated_at if table.seated_at is not None else now
    return max(now, seated_at + dining_s) + cleaning_s

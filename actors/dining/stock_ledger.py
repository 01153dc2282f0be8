"""The order queue's stock accounting: what is left to order, moved only by amounts.

Counts here are the database's counts less what orders in flight reserved. With other
writes in flight, a count the database had at some moment is already out of date, so
every change is applied as a move: a reservation taken (by ticket) or given back, the
delta of a restock, correction or new shelf, the stock a cancel returned. Only when the
database refuses stock these counts said was there does the queue `reload` them, from
a read that follows every unit it handed the store, so no reservation is left to keep.

Kept apart from the actor so the arithmetic can be tested without a store. No I/O and
no locks: every method runs on the order queue's thread (actors/dining/order_queue.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import replace

from robodine_edge.data.kitchen import StockChange, StockEntry
from robodine_edge.domain.stock import shortages


class StockLedger:
    """Shelves as the order queue sees them, and the stock held by orders in flight."""

    def __init__(self) -> None:
        self._shelves: dict[int, StockEntry] = {}
        self._reserved: dict[int, dict[int, int]] = {}
        """Stock held by orders in flight, by ticket, until their unit commits or fails."""
        self._tickets = itertools.count(1)

    # -- reading ----------------------------------------------------------------------

    def get(self, item_id: int) -> StockEntry | None:
        return self._shelves.get(item_id)

    def name(self, item_id: int) -> str:
        """A shelf's name for a message; its id if the shelf is not held (deleted)."""
        entry = self._shelves.get(item_id)
        return entry.name if entry is not None else str(item_id)

    def entries(self) -> list[StockEntry]:
        """Every shelf, in the order it was first loaded or created."""
        return list(self._shelves.values())

    def known(self, items: Iterable[int]) -> list[StockEntry]:
        """The shelves among `items` this ledger holds (ids of deleted ones are skipped)."""
        return [self._shelves[item] for item in items if item in self._shelves]

    def counts(self) -> dict[int, int]:
        """What is left to order, by inventory id."""
        return {item: entry.count for item, entry in self._shelves.items()}

    def shortages(self, needed: Mapping[int, int]) -> dict[int, tuple[int, int]]:
        """{inventory id: (needed, left to order)} for every item `needed` cannot have."""
        return shortages(needed, self.counts())

    # -- reservations -----------------------------------------------------------------

    def reserve(self, needed: Mapping[int, int]) -> int:
        """Take `needed` for an order in flight (checked by the caller); returns the
        ticket that names the reservation until the order's unit commits or fails."""
        ticket = next(self._tickets)
        self._reserved[ticket] = dict(needed)
        self.move({item: -quantity for item, quantity in needed.items()})
        return ticket

    def settle(self, ticket: int) -> None:
        """The order committed: its reservation is now stock taken, already counted."""
        self._reserved.pop(ticket, None)

    def give_back(self, ticket: int) -> dict[int, int] | None:
        """The order's unit failed and changed nothing on disk: return exactly its
        reservation. Returns what moved, or None if the ticket was already settled."""
        needed = self._reserved.pop(ticket, None)
        if needed is not None:
            self.move(needed)
        return needed

    # -- committed changes ------------------------------------------------------------

    def move(self, deltas: Mapping[int, int]) -> None:
        """Move counts by amounts (a reservation taken or given back, stock a cancel
        returned); ids of shelves not held (deleted meanwhile) are ignored."""
        for item, delta in deltas.items():
            if item in self._shelves:
                self._shelves[item] = replace(self._shelves[item], count=self._shelves[item].count + delta)

    def apply(self, change: StockChange) -> StockEntry:
        """Keep a committed change to one shelf: its fields as written, its count moved
        by what the unit moved it (orders in flight still hold their reservations)."""
        held = self._shelves.get(change.entry.id)
        entry = replace(change.entry, count=(held.count if held is not None else 0) + change.delta)
        self._shelves[entry.id] = entry
        return entry

    def remove(self, item_id: int) -> None:
        """The shelf was deleted; raises KeyError for one not held."""
        del self._shelves[item_id]

    def reload(self, entries: Iterable[StockEntry]) -> None:
        """Take the database's counts, with no reservation left: at start, and the safety
        net after the database refused stock these counts said was there. Only correct
        from a read that follows every unit handed to the store so far."""
        self._reserved.clear()
        self._shelves = {entry.id: entry for entry in entries}

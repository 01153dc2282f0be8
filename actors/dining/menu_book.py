"""The menu as the order queue holds it: dishes by id, and what an order's lines need.

Kept apart from the actor (like the stock ledger, actors/dining/stock_ledger.py) so checking an
order's items against the menu is plain code over plain data. No I/O and no locks:
every method runs on the order queue's thread (actors/dining/order_queue.py).

It also remembers, per dish, the `available` flag the `menu` topic last announced, so
the queue can tell which dishes flipped when stock moves (`flips`): a kiosk greys a
dish out the moment its last portion is taken, and back when it is restocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from robodine_edge.data.kitchen import MenuEntry, menu_order
from robodine_edge.data.orders import OrderLine
from robodine_edge.domain.stock import Recipe, can_make, requirements
from robodine_edge.errors import Conflict, NotFound, OutOfStock, ValidationFailed


class MenuBook:
    """Every dish on the menu, available or not."""

    def __init__(self, entries: Iterable[MenuEntry] = ()) -> None:
        self._entries: dict[int, MenuEntry] = {}
        self._recipes: dict[int, Recipe] = {}
        self._users: dict[int, set[int]] = {}
        """Dishes by the inventory id they use: which dishes a stock move may flip."""
        self._shown: dict[int, bool] = {}
        """Each dish's `available` as last announced (`announce`, `flips`, `settle`)."""
        for entry in entries:
            self.put(entry)

    def put(self, entry: MenuEntry) -> None:
        self._unlink(entry.id)
        self._entries[entry.id] = entry
        self._recipes[entry.id] = entry.recipe
        for item, _ in entry.recipe:
            self._users.setdefault(item, set()).add(entry.id)

    def remove(self, item_id: int) -> None:
        self._unlink(item_id)
        self._entries.pop(item_id, None)
        self._recipes.pop(item_id, None)
        self._shown.pop(item_id, None)

    def _unlink(self, item_id: int) -> None:
        for item, _ in self._recipes.get(item_id, ()):
            users = self._users.get(item)
            if users is not None:
                users.discard(item_id)
                if not users:
                    del self._users[item]

    # -- what the `menu` topic was told -----------------------------------------------

    def settle(self, counts: Mapping[int, int]) -> list[dict[str, Any]]:
        """Every dish as it is now, each taken as announced (at start, and after stock was
        reloaded): the whole menu, for the caller to announce."""
        return [self.announce(entry, counts) for entry in self._entries.values()]

    def announce(self, entry: MenuEntry, counts: Mapping[int, int]) -> dict[str, Any]:
        """The dish as the API shows it, remembered as announced."""
        shown = self.json(entry, counts)
        self._shown[entry.id] = shown["available"]
        return shown

    def flips(self, counts: Mapping[int, int], moved: Iterable[int]) -> list[dict[str, Any]]:
        """The dishes using any of the `moved` inventory ids whose `available` is no longer
        what was last announced, each as the API shows it now (and taken as announced)."""
        dishes = sorted({dish for item in moved for dish in self._users.get(item, ())})
        flipped = []
        for dish in dishes:
            entry = self._entries[dish]
            if self._shown.get(dish) != (entry.enabled and can_make(entry.recipe, counts)):
                flipped.append(self.announce(entry, counts))
        return flipped

    def entry(self, item_id: int) -> MenuEntry:
        entry = self._entries.get(item_id)
        if entry is None:
            raise NotFound(f"menu item {item_id} not found")
        return entry

    def listing(self, counts: Mapping[int, int], category: str | None = None) -> list[dict[str, Any]]:
        """The menu as the API shows it: a dish whose ingredients ran out is not available."""
        return [self.json(entry, counts) for entry in self._entries.values() if category in (None, entry.category)]

    def ranks(self) -> dict[int, int]:
        """{dish id: rank}, the first dish in menu order (`kitchen.menu_order`) highest."""
        ordered = menu_order(self._entries.values())
        return {entry.id: len(ordered) - n for n, entry in enumerate(ordered)}

    @staticmethod
    def json(entry: MenuEntry, counts: Mapping[int, int]) -> dict[str, Any]:
        return entry.json(not can_make(entry.recipe, counts))

    def lines(self, items: list[tuple[int, int, str | None]]) -> list[OrderLine]:
        """An order's items as priced lines; every unknown dish named in one error (422),
        a dish staff took off the menu refused (409)."""
        unknown = {
            f"items.{n}.menu_item_id": "no such menu item"
            for n, (item, _, _) in enumerate(items)
            if item not in self._entries
        }
        if unknown:
            raise ValidationFailed("the order names unknown menu items", fields=unknown)
        disabled = sorted({self._entries[item].name for item, _, _ in items if not self._entries[item].enabled})
        if disabled:
            raise Conflict(f"not available now: {', '.join(disabled)}")
        return [
            OrderLine(item, self._entries[item].name, qty, self._entries[item].price_cents, note)
            for item, qty, note in items
        ]

    def needs(self, lines: Iterable[OrderLine]) -> dict[int, int]:
        """{inventory id: quantity} that these lines take from the shelves."""
        return requirements(((line.menu_item_id, line.quantity) for line in lines), self._recipes)

    def out_of_stock(self, lines: list[OrderLine], short: Mapping[int, Any], names: str) -> OutOfStock:
        """The 409 for an order the shelves cannot make: each line that needs a short
        ingredient is named in `fields`."""
        fields = {
            f"items.{n}": f"not enough {names}"
            for n, line in enumerate(lines)
            if any(item in short for item, _ in self._entries[line.menu_item_id].recipe)
        }
        return OutOfStock(f"not enough {names} for this order", fields=fields)

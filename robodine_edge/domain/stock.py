"""Stock arithmetic: what an order needs, what is short, and how full a shelf is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum

Recipe = tuple[tuple[int, int], ...]
"""(inventory id, quantity per portion) pairs."""


class StockStatus(StrEnum):
    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"


def stock_status(count: int, low_threshold: int) -> StockStatus:
    if count <= 0:
        return StockStatus.OUT_OF_STOCK
    if count <= low_threshold:
        return StockStatus.LOW_STOCK
    return StockStatus.IN_STOCK


def requirements(lines: Iterable[tuple[int, int]], recipes: Mapping[int, Recipe]) -> dict[int, int]:
    """Total inventory needed for order lines of (menu item id, portions)."""
    needed: Counter[int] = Counter()
    for menu_item_id, portions in lines:
        for inventory_id, per_portion in recipes[menu_item_id]:
            needed[inventory_id] += per_portion * portions
    return dict(needed)


def shortages(needed: Mapping[int, int], counts: Mapping[int, int]) -> dict[int, tuple[int, int]]:
    """{inventory id: (needed, available)} for every item there is not enough of."""
    return {item: (amount, counts.get(item, 0)) for item, amount in needed.items() if counts.get(item, 0) < amount}


def can_make(recipe: Recipe, counts: Mapping[int, int]) -> bool:
    """Whether one more portion can be made from `counts`."""
    return all(counts.get(item, 0) >= amount for item, amount in recipe)

"""Menu items (with their recipes) and inventory in SQLite.

Prices are integer cents inside and numbers with two decimals in the API; inventory
counts are integers in the item's unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from peewee import fn

from robodine_edge.clock import utcnow
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.data.models import DEFAULT_CATEGORY, InventoryItem, MenuItem, RecipeLine
from robodine_edge.data.rows import create_named, one, save_changes
from robodine_edge.domain.stock import Recipe, StockStatus, stock_status
from robodine_edge.errors import Conflict, NotFound, ValidationFailed
from robodine_edge.types import EventLevel


@dataclass(frozen=True, slots=True)
class MenuEntry:
    id: int
    name: str
    price_cents: int
    prepare_time_s: int
    category: str
    enabled: bool
    recipe: Recipe
    position: int = 0

    def json(self, sold_out: bool) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "price": self.price_cents / 100,
            "prepare_time_s": self.prepare_time_s,
            "category": self.category,
            "position": self.position,
            "available": self.enabled and not sold_out,
            "sold_out": sold_out,
            "ingredients": [{"inventory_id": item, "quantity": qty} for item, qty in self.recipe],
        }


def menu_order(entries: Iterable[MenuEntry]) -> list[MenuEntry]:
    """The menu as a kiosk shows it: categories by the smallest position among their
    dishes (then by name), and within a category dishes by position, then by id."""
    entries = list(entries)
    first: dict[str, int] = {}
    for entry in entries:
        first[entry.category] = min(first.get(entry.category, entry.position), entry.position)
    return sorted(entries, key=lambda e: (first[e.category], e.category, e.position, e.id))


@dataclass(frozen=True, slots=True)
class StockEntry:
    id: int
    name: str
    unit: str
    count: int
    max_count: int
    low_threshold: int

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "unit": self.unit,
            "count": self.count,
            "max_count": self.max_count,
            "low_threshold": self.low_threshold,
            "status": stock_status(self.count, self.low_threshold).value,
        }


@dataclass(frozen=True, slots=True)
class StockChange:
    """What one unit did to one shelf: the row as written, how far its count moved
    (`count - count before`), and the events it raised. The order queue applies the
    move, not the count, because orders still in flight have reserved from the shelf."""

    entry: StockEntry
    delta: int
    recorded: list[Recorded]


def menu_entry(row: MenuItem, recipe: Recipe | None = None) -> MenuEntry:
    if recipe is None:
        lines = RecipeLine.select().where(RecipeLine.menu_item == row.id).order_by(RecipeLine.id)
        recipe = tuple((line.inventory_id, line.quantity) for line in lines)
    return MenuEntry(
        row.id, row.name, row.price_cents, row.prepare_time_s, row.category, row.available, recipe, row.position
    )


def _stock_entry(row: InventoryItem) -> StockEntry:
    return StockEntry(row.id, row.name, row.unit, row.count, row.max_count, row.low_threshold)


# -- readers ---------------------------------------------------------------------------


def load_menu() -> list[MenuEntry]:
    recipes: dict[int, list[tuple[int, int]]] = {}
    for line in RecipeLine.select().order_by(RecipeLine.id):
        recipes.setdefault(line.menu_item_id, []).append((line.inventory_id, line.quantity))
    return [menu_entry(row, tuple(recipes.get(row.id, ()))) for row in MenuItem.select().order_by(MenuItem.id)]


def load_inventory() -> list[StockEntry]:
    return [_stock_entry(row) for row in InventoryItem.select().order_by(InventoryItem.id)]


# -- writers (writer thread) ---------------------------------------------------------------


def create_menu_item(fields: dict[str, Any], ingredients: list[tuple[int, int]]) -> MenuEntry:
    """A dish given no `position` goes to the end of its category."""
    _check_ingredients(ingredients)
    if "position" not in fields:
        fields = {**fields, "position": _end_of(fields.get("category", DEFAULT_CATEGORY))}
    row = create_named(MenuItem, fields, "menu item")
    _write_recipe(row.id, ingredients)
    return menu_entry(row)


def update_menu_item(item_id: int, changes: dict[str, Any], ingredients: list[tuple[int, int]] | None) -> MenuEntry:
    """A dish moved to another category without a `position` goes to the end of that one."""
    row = one(MenuItem, item_id, "menu item")
    if changes.get("category", row.category) != row.category and "position" not in changes:
        changes = {**changes, "position": _end_of(changes["category"])}
    save_changes(row, changes, "menu item")
    if ingredients is not None:
        _check_ingredients(ingredients)
        RecipeLine.delete().where(RecipeLine.menu_item == item_id).execute()
        _write_recipe(item_id, ingredients)
    return menu_entry(row)


def _end_of(category: str) -> int:
    """One past the last position of `category`; of the whole menu for a new category,
    so it comes last (1 for the first dish)."""
    last = MenuItem.select(fn.MAX(MenuItem.position)).where(MenuItem.category == category).scalar()
    if last is None:
        last = MenuItem.select(fn.MAX(MenuItem.position)).scalar()
    return (last or 0) + 1


def delete_menu_item(item_id: int) -> None:
    if not MenuItem.delete().where(MenuItem.id == item_id).execute():
        raise NotFound(f"menu item {item_id} not found")


def create_inventory_item(fields: dict[str, Any]) -> StockChange:
    """A new shelf counts as in stock before: one created low or empty raises its event."""
    entry = _stock_entry(create_named(InventoryItem, fields, "inventory item"))
    return StockChange(entry, entry.count, record_stock_change(entry, StockStatus.IN_STOCK))


def update_inventory_item(item_id: int, changes: dict[str, Any]) -> StockChange:
    """A corrected count or a new threshold may each put the shelf into low or out of stock."""
    row = one(InventoryItem, item_id, "inventory item")
    count, before = row.count, stock_status(row.count, row.low_threshold)
    save_changes(row, changes, "inventory item")
    entry = _stock_entry(row)
    return StockChange(entry, entry.count - count, record_stock_change(entry, before))


def delete_inventory_item(item_id: int) -> None:
    row = one(InventoryItem, item_id, "inventory item")
    users = [line.menu_item.name for line in RecipeLine.select().where(RecipeLine.inventory == item_id).limit(5)]
    if users:
        raise Conflict(f"{row.name} is used by {', '.join(users)}; change those recipes first")
    row.delete_instance()


def add_stock(item_id: int, quantity: int) -> StockChange:
    row = one(InventoryItem, item_id, "inventory item")
    InventoryItem.update(count=InventoryItem.count + quantity, updated_at=utcnow()).where(
        InventoryItem.id == item_id
    ).execute()
    entry = _stock_entry(InventoryItem.get_by_id(row.id))
    return StockChange(entry, quantity, record_stock_change(entry, stock_status(row.count, row.low_threshold)))


def record_stock_change(entry: StockEntry, before: StockStatus) -> list[Recorded]:
    """Writer thread, inside the unit that changed the shelf: a `low_stock` or
    `out_of_stock` event when it crosses from `before` into that state."""
    now = stock_status(entry.count, entry.low_threshold)
    if now is before or now is StockStatus.IN_STOCK:
        return []
    out = now is StockStatus.OUT_OF_STOCK
    message = f"{entry.name}: {entry.count} {entry.unit} left" + (" (out of stock)" if out else "")
    level = EventLevel.ERROR if out else EventLevel.WARNING
    return [record_event(now.value, message, level=level, entity_type="inventory", entity_id=entry.id)]


def _check_ingredients(ingredients: list[tuple[int, int]]) -> None:
    known = {
        row.id
        for row in InventoryItem.select(InventoryItem.id).where(InventoryItem.id.in_([i for i, _ in ingredients]))
    }
    missing = {
        f"ingredients.{n}.inventory_id": "no such inventory item"
        for n, (item, _) in enumerate(ingredients)
        if item not in known
    }
    seen: set[int] = set()
    for n, (item, _) in enumerate(ingredients):
        if item in seen:
            missing[f"ingredients.{n}.inventory_id"] = "listed twice"
        seen.add(item)
    if missing:
        raise ValidationFailed("invalid recipe", fields=missing)


def _write_recipe(item_id: int, ingredients: list[tuple[int, int]]) -> None:
    if ingredients:
        RecipeLine.insert_many(
            [{"menu_item": item_id, "inventory": item, "quantity": qty} for item, qty in ingredients]
        ).execute()

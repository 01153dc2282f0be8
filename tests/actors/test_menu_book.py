"""The menu book: an order's items checked against the menu, as plain data."""

from __future__ import annotations

import pytest

from robodine_edge.actors.dining.menu_book import MenuBook
from robodine_edge.data.kitchen import MenuEntry, menu_order
from robodine_edge.data.orders import OrderLine
from robodine_edge.errors import Conflict, NotFound, OutOfStock, ValidationFailed

RICE, EGG = 10, 11


def dish(item_id: int, name: str, recipe: tuple[tuple[int, int], ...], enabled: bool = True) -> MenuEntry:
    return MenuEntry(item_id, name, 850, 60, "main", enabled, recipe)


@pytest.fixture
def book() -> MenuBook:
    return MenuBook([dish(1, "Rice bowl", ((RICE, 1),)), dish(2, "Omelette rice", ((RICE, 1), (EGG, 2)))])


def test_lines_are_priced_from_the_menu_and_keep_their_notes(book: MenuBook) -> None:
    assert book.lines([(2, 3, "no onion"), (1, 1, None)]) == [
        OrderLine(2, "Omelette rice", 3, 850, "no onion"),
        OrderLine(1, "Rice bowl", 1, 850, None),
    ]


def test_every_unknown_dish_is_named_by_its_position(book: MenuBook) -> None:
    with pytest.raises(ValidationFailed) as refused:
        book.lines([(1, 1, None), (7, 1, None), (8, 2, None)])
    assert refused.value.fields == {
        "items.1.menu_item_id": "no such menu item",
        "items.2.menu_item_id": "no such menu item",
    }


def test_a_dish_taken_off_the_menu_is_refused_by_name(book: MenuBook) -> None:
    book.put(dish(1, "Rice bowl", ((RICE, 1),), enabled=False))
    with pytest.raises(Conflict, match="Rice bowl"):
        book.lines([(2, 1, None), (1, 1, None)])


def test_needs_add_up_every_line_of_every_recipe(book: MenuBook) -> None:
    assert book.needs(book.lines([(1, 2, None), (2, 3, None)])) == {RICE: 5, EGG: 6}


def test_out_of_stock_names_only_the_lines_that_need_the_short_ingredient(book: MenuBook) -> None:
    lines = book.lines([(1, 1, None), (2, 1, None)])
    error = book.out_of_stock(lines, {EGG: (2, 0)}, "egg")
    assert isinstance(error, OutOfStock) and error.fields == {"items.1": "not enough egg"}


def test_listing_shows_a_dish_without_ingredients_unavailable_and_filters_by_category(book: MenuBook) -> None:
    book.put(MenuEntry(3, "Tea", 300, 10, "drink", True, ()))
    listed = {d["name"]: d["available"] for d in book.listing({RICE: 5, EGG: 1})}
    assert listed == {"Rice bowl": True, "Omelette rice": False, "Tea": True}
    assert [d["name"] for d in book.listing({}, "drink")] == ["Tea"]


def test_a_removed_dish_is_not_found_and_no_longer_counted(book: MenuBook) -> None:
    book.remove(2)
    with pytest.raises(NotFound):
        book.entry(2)
    with pytest.raises(ValidationFailed):
        book.lines([(2, 1, None)])


def placed(item_id: int, category: str, position: int) -> MenuEntry:
    return MenuEntry(item_id, f"dish {item_id}", 500, 60, category, True, (), position)


def test_menu_order_puts_categories_by_their_first_position_then_dishes_by_position_and_id() -> None:
    entries = [
        placed(1, "drink", 9),
        placed(2, "main", 4),
        placed(3, "soup", 5),
        placed(4, "main", 1),
        placed(5, "drink", 2),  # drinks now start at 2: before soups (5), after mains (1)
        placed(6, "main", 4),  # same position as 2: by id
        placed(7, "dessert", 5),  # ties soup's first position: by category name
    ]
    assert [e.id for e in menu_order(entries)] == [4, 2, 6, 5, 1, 7, 3]


def test_ranks_number_the_menu_order_from_the_top() -> None:
    book = MenuBook([placed(1, "drink", 3), placed(2, "main", 1), placed(3, "main", 2)])
    assert book.ranks() == {2: 3, 3: 2, 1: 1}


def test_a_dish_flips_when_its_ingredient_runs_out_and_back_on_restock(book: MenuBook) -> None:
    book.settle({RICE: 5, EGG: 2})
    flipped = book.flips({RICE: 5, EGG: 1}, [EGG])
    assert [(d["id"], d["available"], d["sold_out"]) for d in flipped] == [(2, False, True)]
    assert book.flips({RICE: 5, EGG: 0}, [EGG]) == []  # still unavailable: nothing new to tell
    assert book.flips({RICE: 0, EGG: 0}, [RICE]) == [book.json(book.entry(1), {RICE: 0})]
    again = book.flips({RICE: 3, EGG: 4}, [RICE, EGG])
    assert [(d["id"], d["available"]) for d in again] == [(1, True), (2, True)]


def test_only_dishes_using_a_moved_shelf_are_looked_at(book: MenuBook) -> None:
    book.settle({RICE: 5, EGG: 2})
    assert [d["id"] for d in book.flips({RICE: 0, EGG: 2}, [EGG])] == [2]  # the rice bowl uses no egg
    assert [d["id"] for d in book.flips({RICE: 0, EGG: 2}, [RICE])] == [1]


def test_a_changed_recipe_is_followed_and_a_removed_dish_forgotten(book: MenuBook) -> None:
    book.settle({RICE: 5, EGG: 2})
    book.put(dish(1, "Rice bowl", ((EGG, 1),)))  # no rice any more
    book.announce(book.entry(1), {RICE: 5, EGG: 2})
    assert [d["id"] for d in book.flips({RICE: 0, EGG: 2}, [RICE])] == [2]
    assert [d["id"] for d in book.flips({RICE: 0, EGG: 0}, [EGG])] == [1]
    book.remove(2)
    assert book.flips({RICE: 9, EGG: 9}, [RICE, EGG]) == [book.json(book.entry(1), {RICE: 9, EGG: 9})]


def test_a_dish_switched_off_by_staff_does_not_flip_with_stock(book: MenuBook) -> None:
    book.put(dish(1, "Rice bowl", ((RICE, 1),), enabled=False))
    book.settle({RICE: 5, EGG: 2})
    assert book.flips({RICE: 0, EGG: 2}, [RICE]) == [book.json(book.entry(2), {RICE: 0, EGG: 2})]
    assert [d["id"] for d in book.flips({RICE: 5, EGG: 2}, [RICE])] == [2]

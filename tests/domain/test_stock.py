"""Stock arithmetic."""

from __future__ import annotations

from robodine_edge.domain.stock import StockStatus, can_make, requirements, shortages, stock_status


def test_status_thresholds() -> None:
    assert stock_status(0, 5) is StockStatus.OUT_OF_STOCK
    assert stock_status(-1, 5) is StockStatus.OUT_OF_STOCK
    assert stock_status(5, 5) is StockStatus.LOW_STOCK
    assert stock_status(6, 5) is StockStatus.IN_STOCK


def test_requirements_add_up_across_lines() -> None:
    recipes = {1: ((10, 2), (11, 1)), 2: ((10, 1),)}
    assert requirements([(1, 3), (2, 2), (1, 1)], recipes) == {10: 10, 11: 4}


def test_shortages_and_can_make() -> None:
    assert shortages({10: 5, 11: 1}, {10: 4, 11: 1}) == {10: (5, 4)}
    assert shortages({12: 1}, {}) == {12: (1, 0)}
    assert can_make(((10, 2),), {10: 2}) and not can_make(((10, 2),), {10: 1})
    assert can_make((), {})

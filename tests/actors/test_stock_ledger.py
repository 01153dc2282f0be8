"""The stock ledger: what is left to order moves only by amounts, and reloads clean."""

from __future__ import annotations

from robodine_edge.actors.dining.stock_ledger import StockLedger
from robodine_edge.data.kitchen import StockChange, StockEntry


def shelf(item_id: int, count: int, name: str = "") -> StockEntry:
    return StockEntry(item_id, name or f"item{item_id}", "pcs", count, 100, 1)


def ledger(**counts: int) -> StockLedger:
    """A ledger loaded with shelves 1, 2, ... named and filled as the keywords say."""
    stock = StockLedger()
    stock.reload(shelf(n, count, name) for n, (name, count) in enumerate(counts.items(), start=1))
    return stock


def test_a_reservation_takes_stock_and_a_commit_keeps_it_taken() -> None:
    stock = ledger(rice=10, egg=3)
    ticket = stock.reserve({1: 4, 2: 1})
    assert stock.counts() == {1: 6, 2: 2}
    stock.settle(ticket)
    assert stock.counts() == {1: 6, 2: 2}
    assert stock.give_back(ticket) is None and stock.counts() == {1: 6, 2: 2}


def test_a_failed_order_gives_back_exactly_its_own_reservation() -> None:
    stock = ledger(rice=10, egg=3)
    first, second = stock.reserve({1: 4}), stock.reserve({1: 2, 2: 3})
    assert first != second
    assert stock.give_back(second) == {1: 2, 2: 3}
    assert stock.counts() == {1: 6, 2: 3}
    assert stock.give_back(second) is None, "given back once only"
    assert stock.counts() == {1: 6, 2: 3}


def test_shortages_count_what_orders_in_flight_reserved() -> None:
    stock = ledger(rice=5)
    assert stock.shortages({1: 5}) == {}
    stock.reserve({1: 3})
    assert stock.shortages({1: 3, 9: 1}) == {1: (3, 2), 9: (1, 0)}


def test_a_committed_change_moves_the_count_by_its_delta_not_to_its_count() -> None:
    stock = ledger(rice=10)
    stock.reserve({1: 4})  # in flight: the database still says 10
    restocked = stock.apply(StockChange(shelf(1, 15, "long-grain rice"), delta=5, recorded=[]))
    assert restocked.count == 11 and restocked.name == "long-grain rice"
    assert stock.get(1) == restocked


def test_a_new_shelf_starts_at_its_delta_and_comes_last() -> None:
    stock = ledger(rice=10)
    stock.apply(StockChange(shelf(7, 3, "egg"), delta=3, recorded=[]))
    assert [entry.id for entry in stock.entries()] == [1, 7]
    assert stock.counts() == {1: 10, 7: 3}


def test_moves_and_lookups_skip_shelves_no_longer_held() -> None:
    stock = ledger(rice=10, egg=3)
    ticket = stock.reserve({1: 2, 2: 1})
    stock.remove(2)
    stock.move({1: 1, 2: 5})  # a cancel returned stock, one shelf deleted meanwhile
    assert stock.counts() == {1: 9}
    assert stock.give_back(ticket) == {1: 2, 2: 1} and stock.counts() == {1: 11}
    assert [entry.id for entry in stock.known([2, 1])] == [1]
    assert (stock.name(1), stock.name(2)) == ("rice", "2")
    assert stock.get(2) is None


def test_a_reload_takes_the_database_counts_and_forgets_every_reservation() -> None:
    stock = ledger(rice=10, egg=3)
    ticket = stock.reserve({1: 4})
    stock.reload([shelf(1, 2, "rice")])
    assert stock.counts() == {1: 2}
    assert stock.give_back(ticket) is None and stock.counts() == {1: 2}
    assert stock.reserve({1: 1}) != ticket, "tickets are never reused"

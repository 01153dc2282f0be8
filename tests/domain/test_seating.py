"""Seating: smallest fitting table, arrival order, no blocking, estimates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from robodine_edge.domain.lifecycle import TableStatus
from robodine_edge.domain.seating import TableFit, WaitingParty, assign, estimate_waits, pick_table

A = TableStatus.AVAILABLE


def test_the_smallest_fitting_table_is_chosen() -> None:
    tables = [TableFit(1, 6, A), TableFit(2, 2, A), TableFit(3, 4, A), TableFit(4, 4, A)]
    assert pick_table(3, tables).id == 3  # type: ignore[union-attr]
    assert pick_table(7, tables) is None
    assert pick_table(2, [TableFit(5, 2, TableStatus.RESERVED)]) is None


def test_a_big_party_ahead_does_not_block_a_small_one_behind() -> None:
    waiting = [WaitingParty(10, 6), WaitingParty(11, 2)]
    assert assign(waiting, [TableFit(1, 4, A)]) == [(11, 1)]


def test_arrival_order_gets_first_pick() -> None:
    waiting = [WaitingParty(10, 2), WaitingParty(11, 2)]
    assert assign(waiting, [TableFit(1, 2, A)]) == [(10, 1)]


tables_strategy = st.lists(
    st.builds(
        lambda i, seats, status: TableFit(i, seats, status),
        st.integers(1, 10_000),
        st.integers(1, 10),
        st.sampled_from(list(TableStatus)),
    ),
    max_size=15,
    unique_by=lambda t: t.id,
)
waiting_strategy = st.lists(
    st.builds(WaitingParty, st.integers(1, 10_000), st.integers(1, 12)), max_size=15, unique_by=lambda p: p.id
)


@given(waiting_strategy, tables_strategy)
def test_assignment_is_sound(waiting: list[WaitingParty], tables: list[TableFit]) -> None:
    pairs = assign(waiting, tables)
    by_id = {t.id: t for t in tables}
    sizes = {p.id: p.size for p in waiting}
    assert len({table for _, table in pairs}) == len(pairs), "a table was given twice"
    for party, table in pairs:
        assert by_id[table].status is A and by_id[table].seats >= sizes[party]
    taken = {table for _, table in pairs}
    seated = {party for party, _ in pairs}
    for left in waiting:
        if left.id not in seated:
            assert not any(t.status is A and t.id not in taken and t.seats >= left.size for t in tables)


def test_estimates_follow_the_expected_turnover() -> None:
    now = 1000.0
    tables = [TableFit(1, 4, TableStatus.OCCUPIED, seated_at=now - 600), TableFit(2, 4, TableStatus.CLEANING)]
    waiting = [WaitingParty(1, 2), WaitingParty(2, 4), WaitingParty(3, 4), WaitingParty(4, 9)]
    estimates = estimate_waits(waiting, tables, now, dining_s=1800, cleaning_s=300)
    assert estimates[1] == 300.0  # the table being cleaned
    assert estimates[2] == 1500.0  # table 1: 1200 s of dining left + 300 s cleaning
    assert estimates[3] == 300.0 + 2100.0  # table 2 again after a full turn
    assert estimates[4] is None  # no table seats nine


def test_a_free_table_means_no_wait() -> None:
    assert estimate_waits([WaitingParty(1, 2)], [TableFit(1, 2, A)], 0.0, 1800, 300) == {1: 0.0}


def test_a_reserved_table_is_expected_free_after_one_sitting() -> None:
    """A party whose only fitting table is reserved still gets an estimate: the booking
    dines and the table is cleaned."""
    tables = [TableFit(1, 6, TableStatus.RESERVED), TableFit(2, 2, TableStatus.OCCUPIED, seated_at=0.0)]
    estimates = estimate_waits([WaitingParty(1, 6), WaitingParty(2, 6)], tables, 100.0, 1800, 300)
    assert estimates == {1: 2100.0, 2: 4200.0}


def test_an_occupied_table_comes_before_a_reserved_one() -> None:
    tables = [TableFit(1, 4, TableStatus.RESERVED), TableFit(2, 4, TableStatus.OCCUPIED, seated_at=0.0)]
    assert estimate_waits([WaitingParty(1, 4)], tables, 600.0, 1800, 300) == {1: 1500.0}


@given(waiting_strategy, tables_strategy)
def test_every_party_some_table_seats_gets_an_estimate(waiting: list[WaitingParty], tables: list[TableFit]) -> None:
    estimates = estimate_waits(waiting, tables, 1000.0, 1800, 300)
    for party in waiting:
        fits = any(t.seats >= party.size for t in tables)
        assert (estimates[party.id] is not None) == fits

"""Which order and table transitions are allowed, and for whom."""

from __future__ import annotations

import itertools

import pytest

from robodine_edge.domain.lifecycle import (
    ORDER_NEXT,
    OrderStatus,
    TableStatus,
    check_order_transition,
    check_table_transition,
)
from robodine_edge.errors import Forbidden, InvalidTransition
from robodine_edge.types import Role

CHAIN = [OrderStatus.PLACED, OrderStatus.COOKING, OrderStatus.READY, OrderStatus.SERVING, OrderStatus.SERVED]


def test_the_chain_is_walkable_one_step_at_a_time() -> None:
    for current, target in itertools.pairwise(CHAIN):
        check_order_transition(current, target, Role.STAFF)


@pytest.mark.parametrize("current", list(OrderStatus))
@pytest.mark.parametrize("target", list(OrderStatus))
def test_everything_else_is_an_invalid_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target in ORDER_NEXT[current]:
        return
    with pytest.raises(InvalidTransition):
        check_order_transition(current, target, Role.ADMIN)


def test_cancelling_while_cooking_is_for_staff_only() -> None:
    check_order_transition(OrderStatus.PLACED, OrderStatus.CANCELLED, Role.KIOSK)
    check_order_transition(OrderStatus.COOKING, OrderStatus.CANCELLED, Role.STAFF)
    with pytest.raises(Forbidden):
        check_order_transition(OrderStatus.COOKING, OrderStatus.CANCELLED, Role.KIOSK)
    with pytest.raises(InvalidTransition):
        check_order_transition(OrderStatus.READY, OrderStatus.CANCELLED, Role.ADMIN)


def test_tables_switch_between_available_and_reserved_by_hand_only() -> None:
    check_table_transition(TableStatus.AVAILABLE, TableStatus.RESERVED)
    check_table_transition(TableStatus.RESERVED, TableStatus.AVAILABLE)
    for current in (TableStatus.OCCUPIED, TableStatus.CLEANING):
        for target in TableStatus:
            with pytest.raises(InvalidTransition):
                check_table_transition(current, target)

"""Choosing robots for tasks."""

from __future__ import annotations

from robodine_edge.domain.dispatch import (
    DONE_MOVES,
    STARTED_MOVES,
    RobotView,
    available,
    charged,
    dish_names,
    is_behind,
    legacy_step,
    needs_charge,
    pick_albabot,
    pick_cookbot,
    steps_to,
    table_centre,
    takes_back,
    task_command,
    without_its_task,
    work_start,
)
from robodine_edge.domain.lifecycle import OrderStatus as S


def robot(
    robot_id: str,
    kind: str = "albabot",
    *,
    online: bool = True,
    state: str = "idle",
    battery: float | None = 90.0,
    at: tuple[float, float] | None = (0.0, 0.0),
) -> RobotView:
    return RobotView(robot_id, kind, online, state, battery, at)


def test_availability() -> None:
    assert available(robot("a"), busy=(), charging=())
    assert not available(robot("a", online=False), (), ())
    assert not available(robot("a", state="serving"), (), ())
    assert not available(robot("a"), busy={"a"}, charging=())
    assert not available(robot("a"), (), charging={"a"})


def test_a_robot_that_takes_no_commands_is_never_available() -> None:
    """A legacy robot only reports: an albabot is given no work at all, a cookbot only
    the dishes its address takes."""
    legacy_alba = RobotView("a", "albabot", True, "idle", 90.0, (0.0, 0.0), legacy=True)
    legacy_cook = RobotView("c", "cookbot", True, "idle", None, None, legacy=True, legacy_cook_addr="10.0.0.5:8002")
    no_address = RobotView("n", "cookbot", True, "idle", None, None, legacy=True)
    assert not available(legacy_alba, (), ())
    assert available(legacy_cook, (), ()) and not available(no_address, (), ())
    assert available(robot("m", "cookbot"), (), ())


def test_cookbots_in_order_untried_first() -> None:
    cooks = [robot("c2", "cookbot"), robot("c1", "cookbot"), robot("a1")]
    assert pick_cookbot(cooks).robot_id == "c1"  # type: ignore[union-attr]
    assert pick_cookbot(cooks, tried={"c1"}).robot_id == "c2"  # type: ignore[union-attr]
    assert pick_cookbot([robot("a1")]) is None


def test_albabots_nearest_with_battery_untried_first() -> None:
    fleet = [
        robot("far", at=(9.0, 9.0)),
        robot("near", at=(1.0, 0.0)),
        robot("low", battery=10.0, at=(0.0, 0.0)),
        robot("nowhere", at=None),
    ]
    assert pick_albabot(fleet, (0.0, 0.0), battery_low=20.0).robot_id == "near"  # type: ignore[union-attr]
    assert pick_albabot(fleet, (0.0, 0.0), 20.0, tried={"near"}).robot_id == "far"  # type: ignore[union-attr]
    assert pick_albabot([robot("low", battery=10.0)], (0.0, 0.0), 20.0) is None
    assert pick_albabot([robot("c", "cookbot")], (0.0, 0.0), 20.0) is None


def test_charging_thresholds_and_table_centre() -> None:
    assert needs_charge(robot("a", battery=19.0), 20.0) and not needs_charge(robot("a", battery=20.0), 20.0)
    assert not needs_charge(robot("c", "cookbot", battery=5.0), 20.0)
    assert charged(robot("a", battery=80.0), 80.0) and not charged(robot("a", battery=79.9), 80.0)
    assert table_centre({"x": 2.0, "y": 1.0, "width": 1.0, "height": 0.5}) == (2.5, 1.25)


def test_an_order_walks_every_status_between_where_it_is_and_where_a_task_leaves_it() -> None:
    assert steps_to(S.PLACED, S.READY) == [S.COOKING, S.READY]
    assert steps_to(S.COOKING, S.READY) == [S.READY]
    assert steps_to(S.READY, S.SERVED) == [S.SERVING, S.SERVED]
    assert steps_to(S.READY, S.READY) == [] and steps_to(S.SERVING, S.READY) == []
    assert steps_to(S.CANCELLED, S.READY) == []


def test_an_older_status_is_behind_a_newer_one() -> None:
    assert is_behind(S.COOKING, S.READY) and not is_behind(S.READY, S.READY)
    assert not is_behind(S.READY, S.COOKING) and not is_behind(S.CANCELLED, S.READY)


def test_a_charging_robot_is_available_again_at_battery_resume() -> None:
    assert not available(robot("a", state="charging", battery=50.0), (), (), battery_resume=80.0)
    assert available(robot("a", state="charging", battery=80.0), (), (), battery_resume=80.0)
    assert not available(robot("a", state="charging", battery=None), (), ("a",), battery_resume=80.0)
    assert not available(robot("a", state="moving", battery=90.0), (), (), battery_resume=80.0)


ITEMS = [
    {"menu_item_id": 3, "name": "Bibimbap", "quantity": 2, "note": "no egg", "price": 9.5},
    {"menu_item_id": 4, "name": "Tea", "quantity": 1, "note": None, "price": 2.0},
]
ORDER = {"id": 7, "table_id": 2, "status": "placed", "items": ITEMS}
TABLE = {"id": 2, "x": 2.0, "y": 1.0, "width": 1.0, "height": 0.5, "status": "occupied"}


def test_a_cook_task_carries_every_item_of_its_order() -> None:
    assert task_command("cook", 7, None, {7: ORDER}, {}) == (
        "cook",
        {
            "order_id": 7,
            "items": [
                {"menu_item_id": 3, "name": "Bibimbap", "quantity": 2, "note": "no egg"},
                {"menu_item_id": 4, "name": "Tea", "quantity": 1, "note": None},
            ],
        },
    )
    assert task_command("cook", 8, None, {7: ORDER}, {}) is None
    assert task_command("cook", None, None, {7: ORDER}, {}) is None


def test_a_serve_task_goes_to_the_centre_of_the_orders_table() -> None:
    assert task_command("serve", 7, None, {7: ORDER}, {2: TABLE}) == (
        "serve",
        {"order_id": 7, "table_id": 2, "table": {"x": 2.5, "y": 1.25}},
    )
    assert task_command("serve", 7, None, {7: ORDER}, {}) is None  # the table is gone
    assert task_command("serve", 8, None, {7: ORDER}, {2: TABLE}) is None


def test_a_clean_task_needs_its_table_known() -> None:
    assert task_command("clean", None, 2, {}, {2: TABLE}) == ("clean", {"table_id": 2})
    assert task_command("clean", None, 3, {}, {2: TABLE}) is None
    assert task_command("dance", 7, 2, {7: ORDER}, {2: TABLE}) is None


def test_an_albabots_work_starts_at_the_table_to_clean_or_the_kitchen_pass() -> None:
    assert work_start("clean", 2, {2: TABLE}, (0.0, 9.0)) == (2.5, 1.25)
    assert work_start("clean", 3, {2: TABLE}, (0.0, 9.0)) == (0.0, 9.0)
    assert work_start("serve", 2, {2: TABLE}, (0.0, 9.0)) == (0.0, 9.0)


def test_a_task_moves_its_order_when_it_starts_and_when_it_is_done() -> None:
    assert STARTED_MOVES == {"cook": S.COOKING, "serve": S.SERVING}
    assert DONE_MOVES == {"cook": S.READY, "serve": S.SERVED}


def test_a_legacy_arm_gets_each_portion_by_name_in_lower_case() -> None:
    assert dish_names(ITEMS) == ["bibimbap", "bibimbap", "tea"]
    assert dish_names([]) == []


def test_a_legacy_arm_has_started_when_it_cooks_and_is_done_when_idle_again() -> None:
    assert legacy_step("cooking", saw_cooking=False) == "started"
    assert legacy_step("cooking", saw_cooking=True) is None
    assert legacy_step("idle", saw_cooking=True) == "done"
    assert legacy_step("idle", saw_cooking=False) is None  # not begun yet
    assert legacy_step("error", saw_cooking=True) is None


def test_a_robot_back_at_rest_is_without_its_task_unless_the_link_carried_its_command() -> None:
    assert without_its_task("idle", 7, carried=())
    assert without_its_task("charging", 7, carried={3})
    assert without_its_task("idle", None, carried={3})  # a task whose command was withdrawn in a crash
    assert not without_its_task("idle", 7, carried={7})  # re-sent at the hello, or reported on since
    assert not without_its_task("cooking", 7, carried=())  # at work: keeps it
    assert not without_its_task("error", 7, carried=())  # trouble is the stuck timer's


def test_a_robot_found_without_its_task_takes_it_back_when_dispatching_would_choose_it() -> None:
    assert takes_back(robot("a"), busy=(), charging=(), battery_low=20.0, battery_resume=80.0)
    assert takes_back(robot("c", "cookbot", battery=5.0), (), (), 20.0, 80.0)
    assert not takes_back(robot("a", battery=20.0), (), (), 20.0, 80.0)
    assert not takes_back(robot("a"), busy={"a"}, charging=(), battery_low=20.0, battery_resume=80.0)
    assert not takes_back(robot("a"), busy=(), charging={"a"}, battery_low=20.0, battery_resume=80.0)
    assert not takes_back(robot("a", state="charging", battery=50.0), (), (), 20.0, 80.0)

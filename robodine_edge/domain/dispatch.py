"""Which robot gets which task: pure rules, tested without any actor.

A robot is available when it can be given work, is online, has no task, is not charging
and no emergency is on, and reports `idle` — or `charging` with at least
`battery_resume`: a robot that stays on the dock once it is full enough is taken back
like an idle one. A legacy robot takes no commands (it only reports): a legacy albabot
is never given work (not even sent to dock), a legacy cookbot only cook tasks, as dish
names to its `legacy_cook_addr` — without one, none. Cookbots take
cook tasks in order; albabots are chosen by distance to where the work starts (the
kitchen pass for serving, the table for cleaning), among those with battery above
`battery_low`. Robots that have not tried the task yet come first.

What a task sends is built here too (`task_command`), as is how a task's start and end
move its order and how a legacy arm's reported state reads as progress.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from robodine_edge.domain.lifecycle import OrderStatus
from robodine_edge.errors import Conflict

IDLE = "idle"
CHARGING = "charging"
AT_REST = frozenset({IDLE, CHARGING})
"""States in which a robot is doing no task."""
ORDER_PATH = (OrderStatus.PLACED, OrderStatus.COOKING, OrderStatus.READY, OrderStatus.SERVING, OrderStatus.SERVED)
"""The order's way through the robots, one legal step after another."""
STARTED_MOVES = {"cook": OrderStatus.COOKING, "serve": OrderStatus.SERVING}
"""Where a task's `started` leaves its order."""
DONE_MOVES = {"cook": OrderStatus.READY, "serve": OrderStatus.SERVED}
"""Where a task's `done` leaves its order."""

TaskCommand = tuple[str, dict[str, Any]]
"""A command's name and args, as sent to a robot."""


@dataclass(frozen=True, slots=True)
class RobotView:
    robot_id: str
    kind: str
    online: bool
    state: str
    battery: float | None
    position: tuple[float, float] | None
    legacy: bool = False
    legacy_cook_addr: str | None = None


def takes_work(robot: RobotView) -> bool:
    """Whether the edge has a way to give this robot work: a command over its link, or
    (a legacy cookbot) dish names at its address."""
    return not robot.legacy or (robot.kind == "cookbot" and bool(robot.legacy_cook_addr))


def no_commands(robot_id: str, kind: str) -> Conflict:
    """Why a command for a legacy robot is refused rather than kept for a link it will never
    open (it would pile up, pending, for ever)."""
    how = "its dishes go to its legacy_cook_addr" if kind == "cookbot" else "it only reports its state"
    return Conflict(f"robot {robot_id} is a legacy robot and takes no commands: {how}")


def available(
    robot: RobotView, busy: Collection[str], charging: Collection[str], battery_resume: float = 100.0
) -> bool:
    """`charging` holds the robots sent to dock that have not yet reported `battery_resume`."""
    return (
        takes_work(robot)
        and robot.online
        and ready_for_work(robot, battery_resume)
        and robot.robot_id not in busy
        and robot.robot_id not in charging
    )


def ready_for_work(robot: RobotView, battery_resume: float) -> bool:
    """Idle, or charging with enough battery to be taken off the dock."""
    return robot.state == IDLE or (robot.state == CHARGING and charged(robot, battery_resume))


def without_its_task(first_status: str, command_id: int | None, carried: Collection[int]) -> bool:
    """Whether a robot's first `status` after a hello shows it is not doing the task the
    edge has it on: it is at rest, and the link has not carried the task's command since
    the hello — neither sent it (re-sent as still owed, or new: the robot may have written
    its status before reading it) nor heard the robot ack, nack or report on it."""
    return first_status in AT_REST and (command_id is None or command_id not in carried)


def takes_back(
    robot: RobotView, busy: Collection[str], charging: Collection[str], battery_low: float, battery_resume: float
) -> bool:
    """Whether a robot found without its task can be given it again: dispatching would
    choose it (available, and an albabot above `battery_low`). `busy` leaves out the
    task the robot is on."""
    return available(robot, busy, charging, battery_resume) and not (
        robot.kind == "albabot" and robot.battery is not None and robot.battery <= battery_low
    )


def pick_cookbot(robots: Iterable[RobotView], tried: Collection[str] = ()) -> RobotView | None:
    candidates = sorted((r for r in robots if r.kind == "cookbot"), key=lambda r: (r.robot_id in tried, r.robot_id))
    return candidates[0] if candidates else None


def pick_albabot(
    robots: Iterable[RobotView], target: tuple[float, float], battery_low: float, tried: Collection[str] = ()
) -> RobotView | None:
    candidates = [r for r in robots if r.kind == "albabot" and (r.battery is None or r.battery > battery_low)]
    if not candidates:
        return None
    return min(candidates, key=lambda r: (r.robot_id in tried, _distance(r.position, target), r.robot_id))


def needs_charge(robot: RobotView, battery_low: float) -> bool:
    return robot.kind == "albabot" and robot.battery is not None and robot.battery < battery_low


def charged(robot: RobotView, battery_resume: float) -> bool:
    return robot.battery is None or robot.battery >= battery_resume


def _distance(position: tuple[float, float] | None, target: tuple[float, float]) -> float:
    if position is None:
        return math.inf
    return math.hypot(position[0] - target[0], position[1] - target[1])


def table_centre(table: Mapping[str, Any]) -> tuple[float, float]:
    return (table["x"] + table["width"] / 2, table["y"] + table["height"] / 2)


def work_start(
    kind: str, table_id: int | None, tables: Mapping[int, Mapping[str, Any]], kitchen_pass: tuple[float, float]
) -> tuple[float, float]:
    """Where an albabot's task starts: at its table for cleaning, at the kitchen pass for serving."""
    if kind == "clean" and table_id is not None and table_id in tables:
        return table_centre(tables[table_id])
    return kitchen_pass


def steps_to(current: OrderStatus, target: OrderStatus) -> list[OrderStatus]:
    """The statuses an order at `current` passes through to reach `target`, in order
    (a robot's `done` may come without its `started`); none once it is there or past it,
    or cancelled."""
    if current not in ORDER_PATH:
        return []
    return list(ORDER_PATH[ORDER_PATH.index(current) + 1 : ORDER_PATH.index(target) + 1])


def is_behind(status: OrderStatus, known: OrderStatus) -> bool:
    """An order change saying `status` is older news than `known` (orders only move on)."""
    return status in ORDER_PATH and known in ORDER_PATH and ORDER_PATH.index(status) < ORDER_PATH.index(known)


def task_command(
    kind: str,
    order_id: int | None,
    table_id: int | None,
    orders: Mapping[int, Mapping[str, Any]],
    tables: Mapping[int, Mapping[str, Any]],
) -> TaskCommand | None:
    """The command that carries a task: `cook` with every item of its order, `serve` to the
    centre of the order's table, `clean` of its table; None while what it needs is not
    known (the order or the table is gone)."""
    if kind == "clean":
        return ("clean", {"table_id": table_id}) if table_id in tables else None
    order = orders.get(order_id or -1)
    if order is None:
        return None
    if kind == "cook":
        return "cook", {"order_id": order["id"], "items": _cook_items(order)}
    if kind == "serve" and (table := tables.get(order["table_id"])) is not None:
        return "serve", _serve_args(order, table)
    return None


def _cook_items(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"menu_item_id": i["menu_item_id"], "name": i["name"], "quantity": i["quantity"], "note": i["note"]}
        for i in order["items"]
    ]


def _serve_args(order: Mapping[str, Any], table: Mapping[str, Any]) -> dict[str, Any]:
    x, y = table_centre(table)
    return {"order_id": order["id"], "table_id": table["id"], "table": {"x": x, "y": y}}


def dish_names(items: Iterable[Mapping[str, Any]]) -> list[str]:
    """What a legacy arm is sent for a cook task: each dish's name in lower case, once per
    portion."""
    return [item["name"].lower() for item in items for _ in range(item["quantity"])]


def legacy_step(state: str, saw_cooking: bool) -> Literal["started", "done"] | None:
    """A legacy arm has no task updates: `cooking` means started, `idle` again means done."""
    if state == "cooking" and not saw_cooking:
        return "started"
    if state == "idle" and saw_cooking:
        return "done"
    return None

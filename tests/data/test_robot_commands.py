"""Commands written with prebuilt SQL (a fleet-wide command, a robot's status change of a
command) build their JSON themselves; both must agree with what peewee reads back."""

from __future__ import annotations

from peewee import SqliteDatabase

from robodine_edge.clock import utcnow
from robodine_edge.data.models import RobotCommand
from robodine_edge.data.robots import (
    command_json,
    create_command,
    create_fleet_commands,
    register_robot,
    update_command,
    withdraw_command,
)


def robots(*specs: tuple[str, bool]) -> None:
    for robot_id, legacy in specs:
        register_robot(robot_id, "albabot", None, legacy, None, "digest")


def test_a_fleet_command_is_one_row_per_robot_that_takes_commands(db: SqliteDatabase) -> None:
    robots(("alba-1", False), ("old-1", True), ("alba-2", False))
    at = utcnow()
    made = create_fleet_commands(["alba-2", "old-1", "gone", "alba-1"], "emergency_stop", {}, None, at)
    assert [command["robot_id"] for command in made] == ["alba-1", "alba-2"]  # registration order
    for command in made:
        assert command == command_json(RobotCommand.get_by_id(command["id"]), command["robot_id"])
        assert command["status"] == "sent" and command["created_at"] == command["sent_at"]
    assert RobotCommand.select().count() == 2
    assert create_fleet_commands([], "resume", {}, None, at) == []
    assert create_fleet_commands(["old-1"], "resume", {}, None, at) == []


def test_a_status_change_returns_the_row_as_stored(db: SqliteDatabase) -> None:
    robots(("alba-1", False), ("alba-2", False))
    command = create_command("alba-1", "go_to", {"x": 1.0, "y": 2.0}, None, None, True)
    acked = update_command("alba-1", command["id"], {"status": "acked", "acked_at": utcnow()})
    assert acked is not None and acked["status"] == "acked" and acked["acked_at"] is not None
    assert acked == command_json(RobotCommand.get_by_id(command["id"]), "alba-1")
    failed = update_command("alba-1", command["id"], {"status": "failed", "reason": "blocked", "finished_at": utcnow()})
    assert failed == command_json(RobotCommand.get_by_id(command["id"]), "alba-1")
    assert failed is not None and failed["reason"] == "blocked" and failed["args"] == {"x": 1.0, "y": 2.0}


def test_a_status_change_to_a_cancelled_unknown_or_other_robots_command_changes_nothing(db: SqliteDatabase) -> None:
    robots(("alba-1", False), ("alba-2", False))
    command = create_command("alba-1", "go_to", {"x": 1.0, "y": 2.0}, None, None, True)
    assert update_command("alba-2", command["id"], {"status": "acked"}) is None
    assert update_command("alba-1", command["id"] + 1, {"status": "acked"}) is None
    assert update_command("nobody", command["id"], {"status": "acked"}) is None
    withdraw_command("alba-1", command["id"], "the task went to another robot")
    assert update_command("alba-1", command["id"], {"status": "done", "finished_at": utcnow()}) is None
    assert RobotCommand.get_by_id(command["id"]).status == "cancelled"

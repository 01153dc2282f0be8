"""`record_event` writes with prebuilt SQL and builds its JSON itself; both must agree
with what peewee reads back."""

from __future__ import annotations

from peewee import SqliteDatabase

from robodine_edge.data.events import event_json, record_event
from robodine_edge.data.models import Event
from robodine_edge.types import EventLevel


def test_the_recorded_event_is_what_the_database_holds(db: SqliteDatabase) -> None:
    recorded = record_event(
        "robot_error", "arm jammed", level=EventLevel.ERROR, entity_type="robot", entity_id=7, data={"code": "E4"}
    )
    stored = Event.get_by_id(recorded.event["id"])
    assert recorded.event == event_json(stored)
    assert stored.entity_id == "7" and stored.data == {"code": "E4"} and stored.level == "error"


def test_an_event_without_entity_or_data_stores_nulls(db: SqliteDatabase) -> None:
    recorded = record_event("note", "hello")
    stored = Event.get_by_id(recorded.event["id"])
    assert recorded.event == event_json(stored)
    assert stored.entity_type is None and stored.entity_id is None and stored.data is None

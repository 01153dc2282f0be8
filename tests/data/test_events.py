"""`record_event` writes with prebuilt SQL and builds its JSON itself; both must agree
with what peewee reads back."""

from __future__ import annotations

from peewee import ModelSelect, SqliteDatabase

from robodine_edge.data.events import event_json, events_query, list_events, raised_for, record_event
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


def plan(query: ModelSelect[Event]) -> str:
    sql, params = query.sql()
    return " / ".join(row[3] for row in Event._meta.database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))


def test_a_list_by_type_or_level_finds_each_match_whether_its_index_holds_it_or_not(db: SqliteDatabase) -> None:
    """An order's events and `info` are left out of the type and level indexes (an order
    writes five events, and each would write a page of both): they are read from the
    newest end of the log instead, the rest by index; either way every match is listed."""
    written = [
        ("order_placed", EventLevel.INFO), ("robot_online", EventLevel.INFO), ("order_status", EventLevel.INFO),
        ("robot_event", EventLevel.ERROR), ("order_status", EventLevel.INFO), ("robot_event", EventLevel.DEBUG),
        ("order_unserved", EventLevel.ERROR), ("robot_offline", EventLevel.WARNING),
    ]  # fmt: skip
    ids = [record_event(kind, "m", level=level).event["id"] for kind, level in written]
    for kind in {kind for kind, _ in written}:
        expected = [i for i, (k, _) in reversed(list(zip(ids, written, strict=True))) if k == kind]
        assert [e["id"] for e in list_events(50, None, kind, None, None)] == expected, kind
    for level in EventLevel:
        expected = [i for i, (_, v) in reversed(list(zip(ids, written, strict=True))) if v is level]
        assert [e["id"] for e in list_events(50, None, None, level.value, None)] == expected, level
    both = list_events(50, None, "robot_event", "error", None)
    assert [e["id"] for e in both] == [ids[3]]


def test_a_type_or_level_the_indexes_hold_is_found_by_them(db: SqliteDatabase) -> None:
    assert "USING INDEX event_type" in plan(events_query(50, None, "robot_offline", None, None))
    assert "USING INDEX event_level" in plan(events_query(50, None, None, "error", None))
    order_events = plan(events_query(50, None, "order_status", None, None))
    assert order_events.startswith("SCAN") and "TEMP B-TREE" not in order_events  # newest first, by id


def test_what_was_raised_about_which_rows_is_found_by_type(db: SqliteDatabase) -> None:
    record_event("party_waiting_long", "m", entity_type="customer", entity_id=3)
    record_event("party_overstayed", "m", entity_type="customer", entity_id=5)
    record_event("party_waiting_long", "m", entity_type="customer", entity_id=9)
    record_event("order_status", "m", entity_type="order", entity_id=3)
    found = raised_for(("party_waiting_long", "party_overstayed"), "customer", [3, 5, 7])
    assert found == {("party_waiting_long", 3), ("party_overstayed", 5)}

"""Encoded list views: kept until the owner handles anything but a read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
import pytest

from robodine_edge.actors.base import Ping
from robodine_edge.actors.storage.list_pages import MAX_VIEWS, ListViews, PageKey, RowOrder, UnknownCursor, ViewOwner


@dataclass(frozen=True)
class Poke:
    value: int


VALUE = PageKey("value", None, 100, None)


class Counter(ViewOwner):
    READS: ClassVar[frozenset[str]] = frozenset({"body", "peek"})

    def __init__(self, views: ListViews) -> None:
        super().__init__(views)
        self.value = 0

    def body(self) -> bytes:
        return self.views.build(VALUE, lambda: [{"id": 1, "value": self.value}])

    def peek(self) -> int:
        return self.value

    def bump(self) -> None:
        self.value += 1

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Poke):
            self.value = message.value
            return None
        return super().on_receive(message)


@pytest.fixture
def views() -> ListViews:
    return ListViews()


@pytest.fixture
def counter(views: ListViews) -> Any:
    ref = Counter.start(views)
    yield ref.proxy()
    ref.stop()


def test_a_built_body_is_served_until_a_change(counter: Any, views: ListViews) -> None:
    assert views.get(VALUE) is None
    assert orjson.loads(counter.body().get(timeout=5)) == [{"id": 1, "value": 0}]
    assert views.get(VALUE) == b'[{"id":1,"value":0}]'
    counter.peek().get(timeout=5)
    counter.actor_ref.ask(Ping(), timeout=5)
    assert views.get(VALUE) == b'[{"id":1,"value":0}]', "reads and pings must keep the view"
    counter.bump().get(timeout=5)
    assert views.get(VALUE) is None, "a proxy call that is not a read drops the view"
    assert orjson.loads(counter.body().get(timeout=5)) == [{"id": 1, "value": 1}]


def test_a_tell_drops_the_views_before_the_change_is_answered(counter: Any, views: ListViews) -> None:
    counter.body().get(timeout=5)
    counter.actor_ref.ask(Poke(7), timeout=5)
    assert views.get(VALUE) is None
    assert orjson.loads(counter.body().get(timeout=5)) == [{"id": 1, "value": 7}]


def test_a_new_owner_starts_without_the_old_views(views: ListViews) -> None:
    """A restarted actor reloads its state; bodies built by the crashed one must go."""
    views.build(VALUE, lambda: [{"id": 1, "value": 41}])
    ref = Counter.start(views)
    try:
        assert views.get(VALUE) is None
    finally:
        ref.stop()


def test_only_so_many_lists_are_kept(views: ListViews) -> None:
    pages = [PageKey("menu", category, 100, None) for category in range(MAX_VIEWS + 5)]
    for page in pages:
        assert views.build(page, lambda: [{"id": 1}]) == b'[{"id":1}]'  # still answered
    assert sum(views.get(page) is not None for page in pages) == MAX_VIEWS
    views.drop()
    assert views.get(pages[0]) is None


def robots(*names: str) -> list[dict[str, str]]:
    return [{"robot_id": name} for name in names]


def test_a_list_ordered_by_key_pages_by_that_key(views: ListViews) -> None:
    """Robots: newest registered first by row id, `before` a robot id of any kind."""
    order = RowOrder("robot_id", {"a": 1, "c": 2, "b": 3, "other-kind": 4, "d": 5})
    body = views.build(PageKey("robots", None, 2, None), lambda: robots("a", "b", "c", "d"), order)
    assert orjson.loads(body) == robots("d", "b")
    assert orjson.loads(views.get(PageKey("robots", None, 100, None)) or b"") == robots("d", "b", "c", "a")
    assert orjson.loads(views.get(PageKey("robots", None, 2, "b")) or b"") == robots("c", "a")
    assert orjson.loads(views.get(PageKey("robots", None, 9, "other-kind")) or b"") == robots("b", "c", "a")
    assert views.get(PageKey("robots", None, 9, "a")) == b"[]"


def test_an_unknown_key_is_refused_and_the_list_is_still_kept(views: ListViews) -> None:
    order = RowOrder("robot_id", {"a": 1})
    with pytest.raises(UnknownCursor) as refused:
        views.build(PageKey("robots", "albabot", 100, "gone"), lambda: robots("a"), order)
    assert refused.value.code == "validation_error" and refused.value.fields == {"before": "unknown robot_id"}
    assert views.get(PageKey("robots", "albabot", 100, None)) == orjson.dumps(robots("a"))
    with pytest.raises(UnknownCursor):
        views.get(PageKey("robots", "albabot", 100, "gone"))

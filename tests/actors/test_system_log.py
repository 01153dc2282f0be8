"""The service's warnings and errors become `system_log` events (the real store and journal)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.system_log import BURST, PER_SECOND, SystemLogHandler
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.data.models import Event
from robodine_edge.process.logs import ALREADY_RECORDED
from tests.actors.conftest import Published
from tests.waiting import eventually


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def handler(journal: Journal, clock: Clock) -> Iterator[SystemLogHandler]:
    installed = SystemLogHandler(journal, clock=clock)
    logging.getLogger().addHandler(installed)
    yield installed
    logging.getLogger().removeHandler(installed)


def recorded(store: Writer) -> list[tuple[str, str | None, str]]:
    rows = store.write(lambda: list(Event.select().where(Event.type == "system_log").order_by(Event.id))).get(timeout=5)
    return [(row.level, row.entity_id, row.message) for row in rows]


def test_warnings_and_errors_of_the_service_become_events(
    handler: SystemLogHandler, store: Writer, published: Published
) -> None:
    logging.getLogger("robodine_edge.net.robot_link").warning("cutting robot link %s: %s", "alba-1", "not reading")
    logging.getLogger("robodine_edge.actors.dispatch.dispatcher").error("dispatcher: %s", "boom")
    logging.getLogger("robodine_edge.net.robot_link").info("routine")  # below warning
    logging.getLogger("sanic.error").warning("not ours")
    logging.getLogger("robodine_edge.actors.storage.writer").error(
        "commit of 3 writes failed"
    )  # would write to log a write
    logging.getLogger("robodine_edge.actors.supervisor").error("actor x crashed", extra=ALREADY_RECORDED)  # has one
    eventually(lambda: len(recorded(store)) >= 2)
    assert recorded(store) == [
        ("warning", "robodine_edge.net.robot_link", "cutting robot link alba-1: not reading"),
        ("error", "robodine_edge.actors.dispatch.dispatcher", "dispatcher: boom"),
    ]
    assert published.wait_for(lambda t, k, d: t == "events" and d["type"] == "system_log" and d["level"] == "error")


def test_a_burst_is_cut_and_the_next_event_says_how_many_were_left_out(
    handler: SystemLogHandler, store: Writer, clock: Clock
) -> None:
    noisy = logging.getLogger("robodine_edge.http.hub")
    for n in range(BURST + 30):
        noisy.warning("client %d too slow", n)
    clock.now += 1 / PER_SECOND  # time for one more
    noisy.warning("after the burst")
    eventually(lambda: len(recorded(store)) == BURST + 1)
    kept = recorded(store)
    assert [message for _, _, message in kept[:BURST]] == [f"client {n} too slow" for n in range(BURST)]
    assert kept[-1][2] == "after the burst (30 earlier log records were not recorded: too many at once)"


def test_a_long_message_is_cut(handler: SystemLogHandler, store: Writer) -> None:
    logging.getLogger("robodine_edge.server").warning("x" * 5000)
    eventually(lambda: recorded(store))
    assert len(recorded(store)[0][2]) == 500

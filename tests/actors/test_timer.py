"""The timer tells real actors their messages when due, in due order, and stops cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

from robodine_edge.actors.timer import Timer


class Recorder(pykka.ThreadingActor):
    def __init__(self, done: threading.Event, expected: int) -> None:
        super().__init__()
        self.arrived: list[tuple[Any, float]] = []
        self._done, self._expected = done, expected

    def on_receive(self, message: Any) -> Any:
        if message == "arrived?":
            return self.arrived
        self.arrived.append((message, time.monotonic()))
        if len(self.arrived) >= self._expected:
            self._done.set()
        return None


@pytest.fixture
def timer() -> Iterator[Timer]:
    running = Timer()
    yield running
    running.stop()


def test_messages_arrive_when_due_and_in_due_order(timer: Timer) -> None:
    done = threading.Event()
    ref = Recorder.start(done, 3)
    started = time.monotonic()
    timer.after(0.30, ref, "late")
    timer.after(0.10, ref, "early")
    timer.after(-1.0, ref, "now")
    assert done.wait(5)
    arrived: list[tuple[Any, float]] = ref.ask("arrived?", block=False).get(timeout=5)
    assert [message for message, _ in arrived] == ["now", "early", "late"]
    at = {message: when - started for message, when in arrived}
    assert at["now"] < 0.05
    assert 0.10 <= at["early"] < 0.25
    assert 0.30 <= at["late"] < 0.45


def test_a_stopped_actor_is_skipped_and_later_messages_still_go(timer: Timer) -> None:
    done = threading.Event()
    gone = Recorder.start(threading.Event(), 1)
    gone.stop()
    alive = Recorder.start(done, 1)
    timer.after(0.0, gone, "lost")
    timer.after(0.05, alive, "kept")
    assert done.wait(5)
    arrived: list[tuple[Any, float]] = alive.ask("arrived?", block=False).get(timeout=5)
    assert [message for message, _ in arrived] == ["kept"]


def test_stop_drops_what_is_not_due_and_ends_the_thread() -> None:
    timer = Timer(name="timer-under-test")
    ref = Recorder.start(threading.Event(), 1)
    timer.after(30.0, ref, "never")
    timer.stop()
    assert not any(t.name == "timer-under-test" for t in threading.enumerate())
    assert ref.ask("arrived?") == []


def test_no_thread_runs_until_something_is_due_and_none_after_stop() -> None:
    before = {t.name for t in threading.enumerate()}
    timer = Timer(name="timer-lazy")
    assert "timer-lazy" not in {t.name for t in threading.enumerate()} - before
    timer.stop()  # never started: nothing to join
    ref = Recorder.start(threading.Event(), 1)
    timer.after(0.0, ref, "too late")  # after stop: dropped, no thread
    assert "timer-lazy" not in {t.name for t in threading.enumerate()}

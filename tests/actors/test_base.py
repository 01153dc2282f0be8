"""ActorFuture callbacks and what a crashing actor does with its mailbox."""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest

from robodine_edge.actors.base import ActorFuture, Ping, SupervisedActor


def test_callbacks_run_once_on_set_and_at_once_when_already_resolved() -> None:
    future: ActorFuture[int] = ActorFuture()
    seen: list[Any] = []
    future.add_done_callback(lambda f: seen.append(f.get(timeout=0)))
    future.set(7)
    future.add_done_callback(lambda f: seen.append(("late", f.get(timeout=0))))
    assert seen == [7, ("late", 7)]


def test_callbacks_see_exceptions() -> None:
    future: ActorFuture[int] = ActorFuture()
    seen: list[BaseException] = []

    def record(done: ActorFuture[int]) -> None:
        with pytest.raises(KeyError) as caught:
            done.get(timeout=0)
        seen.append(caught.value)

    future.add_done_callback(record)
    future.fail(KeyError("missing"))
    assert isinstance(seen[0], KeyError)


class Gate(SupervisedActor):
    """An actor that blocks on an event, then fails, to observe its mailbox after a crash."""

    def __init__(self, gate: threading.Event, crashed: list[str]) -> None:
        super().__init__(crash_listener=lambda urn, exc: crashed.append(repr(exc)))
        self._gate = gate

    def wait_then_fail(self) -> None:
        self._gate.wait(5)
        raise RuntimeError("boom")

    def answer(self) -> int:
        return 42


def test_asks_return_actor_futures_and_ping_answers() -> None:
    ref = Gate.start(threading.Event(), [])
    future = ref.proxy().answer()
    assert isinstance(future, ActorFuture)
    assert future.get(timeout=2) == 42
    assert ref.ask(Ping(), timeout=2) == "pong"


def test_a_crash_answers_queued_asks_with_actor_dead_and_reports_itself(caplog: pytest.LogCaptureFixture) -> None:
    gate, crashed = threading.Event(), list[Any]()
    ref = Gate.start(gate, crashed)
    proxy = ref.proxy()
    proxy.wait_then_fail.defer()
    ref.tell("queued tell")  # drained (and logged) before the ask behind it is answered
    queued_ask = proxy.answer()
    gate.set()
    with pytest.raises(pykka.ActorDeadError):
        queued_ask.get(timeout=5)
    assert crashed == ["RuntimeError('boom')"]
    assert "dead letter: str" in caplog.text
    assert not ref.is_alive()


def test_flatten_gives_the_outcome_of_the_answered_future_in_one() -> None:
    """An ask answered with the future of later work (a placement answered with its commit)
    is waited for once: the value, or the error of either step, whichever order they come in."""
    outer: ActorFuture[ActorFuture[int]] = ActorFuture()
    inner: ActorFuture[int] = ActorFuture()
    flat = outer.flatten()
    outer.set(inner)
    with pytest.raises(pykka.Timeout):
        flat.get(timeout=0.01)  # the later work is not done yet
    inner.set(7)
    assert flat.get(timeout=1) == 7

    done_first: ActorFuture[int] = ActorFuture()
    done_first.set(8)
    answered: ActorFuture[ActorFuture[int]] = ActorFuture()
    answered.set(done_first)
    assert answered.flatten().get(timeout=1) == 8

    refused: ActorFuture[ActorFuture[int]] = ActorFuture()
    refused.fail(ValueError("no such table"))
    with pytest.raises(ValueError, match="no such table"):
        refused.flatten().get(timeout=1)

    failing: ActorFuture[int] = ActorFuture()
    committing: ActorFuture[ActorFuture[int]] = ActorFuture()
    flat = committing.flatten()
    committing.set(failing)
    failing.fail(RuntimeError("commit failed"))
    with pytest.raises(RuntimeError, match="commit failed"):
        flat.get(timeout=1)

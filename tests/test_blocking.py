"""The suite's blocking-call detector (tests/blocking.py, on for every test) catches a
loop that blocks: these are the mistakes it exists for, made on purpose."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from blockbuster import BlockingError

from robodine_edge.actors.base import ActorFuture
from robodine_edge.http.hub import Hub
from robodine_edge.process.metrics import Metrics
from robodine_edge.types import Change, Principal, Topic


async def no_snapshot(topic: Topic, who: Principal) -> list[dict[str, Any]]:
    return []


def sleepy(kind: Change, data: Any) -> None:
    """A loop handler with a blocking call added: every client would wait on it."""
    time.sleep(0.01)


def test_a_blocking_call_added_to_a_loop_handler_fails() -> None:
    async def scenario() -> None:
        hub = Hub(Metrics())
        hub.attach(asyncio.get_running_loop(), no_snapshot)
        hub.tap("robots", sleepy)  # a tap is called by the hub on the loop, for every change
        with pytest.raises(BlockingError, match="sleep"):
            hub.publish("robots", "upsert", {"robot_id": "alba-1"})

    asyncio.run(scenario())


def test_waiting_for_an_actor_reply_on_the_loop_fails() -> None:
    """pykka's `get()` (what `await future` does) parks the loop: the bridge exists to avoid it."""

    async def scenario() -> None:
        reply: ActorFuture[int] = ActorFuture()
        with pytest.raises(BlockingError):
            reply.get(timeout=0.05)

    asyncio.run(scenario())


def test_the_same_call_off_the_loop_passes() -> None:
    """Actor and pool threads run no loop: blocking is their job, and nothing is flagged."""
    sleepy("upsert", {})
    reply: ActorFuture[int] = ActorFuture()
    reply.set(7)
    assert reply.get(timeout=1) == 7

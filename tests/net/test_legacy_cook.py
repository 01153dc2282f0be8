"""Dish names to legacy arms: the original arm's receiver, which listens afresh for every
connection, gets every dish, in order; a dish that cannot get there fails the send.

The sender runs on an event loop of its own thread, as in the service; the arms are
real sockets on 127.0.0.1 (`tests/legacy_robots.OriginalArm` replays the original)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from robodine_edge.net.legacy_cook import LegacyCookSender, NotDelivered
from tests.legacy_robots import OriginalArm


async def cancel_all() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, name="cook-loop")
    thread.start()
    yield running
    asyncio.run_coroutine_threadsafe(cancel_all(), running).result(5)  # sends still waiting on an arm
    running.call_soon_threadsafe(running.stop)
    thread.join(5)
    running.close()


@pytest.fixture
def arm() -> Iterator[OriginalArm]:
    original = OriginalArm()
    yield original
    original.close()


def sender(loop: asyncio.AbstractEventLoop, **timing: float) -> LegacyCookSender:
    cook = LegacyCookSender(**timing)
    cook.attach(loop)
    return cook


def read_to_end(connection: socket.socket) -> bytes:
    return b"".join(iter(lambda: connection.recv(1024), b""))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_original_arm_gets_every_portion_in_order(loop: asyncio.AbstractEventLoop, arm: OriginalArm) -> None:
    """30 portions back to back: the original arm refuses or resets some connections
    between two dishes; each is tried again until the arm has read it."""
    portions = [f"dish {n % 3}" for n in range(30)]
    cook = sender(loop)
    for start in range(0, 30, 3):  # ten cook tasks of three portions, one after the other
        cook(arm.address, portions[start : start + 3]).result(timeout=30)
    assert arm.wait_for(30) == portions


def test_an_arm_that_does_not_listen_fails_the_send_in_bounded_time(loop: asyncio.AbstractEventLoop) -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(NotDelivered) as failed:
        sender(loop, dish_deadline_s=1.0)(address, ["salad", "soup"]).result(timeout=10)
    assert time.monotonic() - started < 2.0  # the next retry would have ended past the deadline
    assert failed.value.delivered == [] and failed.value.failed == "salad"
    message = str(failed.value)
    assert message.startswith(f"{address} did not take 'salad' in ")
    assert message.endswith(" attempt(s) (connection refused); 0 dish(es) delivered before it")


def test_a_send_that_fails_half_way_says_which_dishes_arrived(loop: asyncio.AbstractEventLoop) -> None:
    """An arm that reads two dishes, then stops listening: the third fails, the fourth
    is not sent, and the failure names the two that did arrive."""
    received: list[bytes] = []
    listening = socket.create_server(("127.0.0.1", 0))

    def two_dishes() -> None:
        with listening:
            for _ in range(2):
                connection, _ = listening.accept()
                with connection:
                    received.append(read_to_end(connection))

    reader = threading.Thread(target=two_dishes)
    reader.start()
    address = f"127.0.0.1:{listening.getsockname()[1]}"
    with pytest.raises(NotDelivered) as failed:
        sender(loop, dish_deadline_s=0.5)(address, ["rice", "soup", "salad", "tea"]).result(timeout=10)
    reader.join(5)
    assert received == [b"rice", b"soup"]
    assert failed.value.delivered == ["rice", "soup"] and failed.value.failed == "salad"
    assert str(failed.value).endswith("2 dish(es) delivered before it (rice, soup)")


def test_an_arm_that_resets_instead_of_reading_is_not_a_delivery(loop: asyncio.AbstractEventLoop) -> None:
    """Accepted and written to, but closed on the unread name (a reset): tried again,
    and delivered only by the connection the arm read to its end."""
    listening = socket.create_server(("127.0.0.1", 0))
    read: list[bytes] = []

    def reset_then_read() -> None:
        with listening:
            connection, _ = listening.accept()
            connection.recv(1)  # the name is there: closing on the rest of it resets
            connection.close()
            connection, _ = listening.accept()
            with connection:
                read.append(read_to_end(connection))

    arm = threading.Thread(target=reset_then_read)
    arm.start()
    sender(loop)(f"127.0.0.1:{listening.getsockname()[1]}", ["noodles"]).result(timeout=10)
    arm.join(5)
    assert read == [b"noodles"]

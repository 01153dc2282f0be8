"""The loop→actor bridge: no blocked loop, timeouts, dead actors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Callable

import pytest

from robodine_edge.actors.base import SupervisedActor
from robodine_edge.errors import TimedOut, Unavailable
from robodine_edge.threads import bridge

WORK_S = 0.05


class Slow(SupervisedActor):
    """Takes WORK_S per call, like an actor doing real work."""

    def work(self, n: int) -> int:
        time.sleep(WORK_S)
        return n * 2

    def fail(self) -> None:
        raise KeyError("no such thing")


STALL_S = 0.1
"""A ticker gap this long is the loop held (a 10 ms tick late by 90 ms): a loaded
2-core machine delays single ticks by a few hundred ms now and then, but never adds
up to the seconds a loop blocked on actor calls loses."""


def stalled(gaps: list[float]) -> float:
    """The time the loop spent held in gaps of `STALL_S` or more."""
    return sum(gap for gap in gaps if gap >= STALL_S)


async def tick_while(work: Callable[[], Awaitable[list[int]]]) -> tuple[list[int], float, list[float]]:
    """Run `work` while a 10 ms ticker runs; returns results, elapsed time, the ticker's gaps."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    results = await work()
    elapsed = time.perf_counter() - started
    done.set()
    await ticking
    return results, elapsed, gaps


def test_100_concurrent_asks_take_the_actors_serial_time_and_never_stall_the_loop() -> None:
    proxy = Slow.start().proxy()

    async def work() -> list[int]:
        return list(await asyncio.gather(*(bridge.wait(proxy.work(n), timeout=30) for n in range(100))))

    results, elapsed, gaps = asyncio.run(tick_while(work))
    assert results == [n * 2 for n in range(100)]
    serial = 100 * WORK_S
    assert serial <= elapsed < serial * 1.5 + 1.0
    # Blocking on each ask would hold the loop for the whole serial time (5 s); a machine
    # with 7 runnable processes per core was seen to hold a thread off its core for 0.8 s.
    assert stalled(gaps) < serial * 0.3, f"the event loop was held {stalled(gaps):.3f}s of {elapsed:.1f}s"


def test_control_pykkas_own_await_does_stall_the_loop() -> None:
    """Why the bridge exists (pykka#99): this is what the ticker test would catch."""
    proxy = Slow.start().proxy()

    async def work() -> list[int]:
        async def naive(n: int) -> int:
            return await proxy.work(n)

        return list(await asyncio.gather(*(naive(n) for n in range(10))))

    _, _, gaps = asyncio.run(tick_while(work))
    assert stalled(gaps) >= 10 * WORK_S * 0.8


def test_a_slow_answer_times_out() -> None:
    proxy = Slow.start().proxy()
    with pytest.raises(TimedOut):
        asyncio.run(bridge.wait(proxy.work(1), timeout=0.01))


def test_a_dead_actor_is_unavailable() -> None:
    ref = Slow.start()
    proxy = ref.proxy()
    ref.stop()
    with pytest.raises(Unavailable):
        asyncio.run(bridge.wait(proxy.work(1), timeout=1))


def test_a_request_queued_behind_a_stop_is_answered_unavailable() -> None:
    ref = Slow.start()
    proxy = ref.proxy()

    async def behind_stop() -> None:
        proxy.work(0)  # keeps the actor busy while the stop and the next call queue up
        ref.stop(block=False)
        await bridge.wait(proxy.work(2), timeout=2)

    with pytest.raises(Unavailable):
        asyncio.run(behind_stop())


def test_actor_exceptions_reach_the_caller_unchanged() -> None:
    proxy = Slow.start().proxy()
    with pytest.raises(KeyError, match="no such thing"):
        asyncio.run(bridge.wait(proxy.fail(), timeout=1))


def test_pool_futures_are_bridged_too() -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert asyncio.run(bridge.wait(pool.submit(lambda: 5), timeout=1)) == 5
        slow = pool.submit(time.sleep, 0.5)
        with pytest.raises(TimedOut):
            asyncio.run(bridge.wait(slow, timeout=0.01))

"""The telemetry endpoint on a real UDP socket and a real actor: every datagram reaches
the robot's actor in order, in messages paced by a token bucket at the robots topic's
rate, a change of state at once."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, cast

import pykka

from robodine_edge.actors.robots.fleet import RobotDirectory
from robodine_edge.actors.robots.messages import TelemetryIn
from robodine_edge.actors.robots.robot import RobotProxy
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.net.links import LinkRegistry
from robodine_edge.net.telemetry import TELL_BURST, TelemetryEndpoint
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry, encode_telemetry
from tests.waiting import eventually


class Recorder(pykka.ThreadingActor):
    """Stands where the robot's actor stands: keeps each TelemetryIn it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[int, ...]] = []

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, TelemetryIn):
            self.batches.append(tuple(t.seq for t in message.batch))
            return None
        return list(self.batches)


class Link:
    def close_link(self, reason: str) -> None: ...

    def send_bytes(self, data: bytes) -> None: ...


def batches(ref: pykka.ActorRef[Any]) -> list[tuple[int, ...]]:
    """What the recorder was told so far (from a thread other than the loop's)."""
    told: list[tuple[int, ...]] = ref.ask("batches?", block=False).get(timeout=5)
    return told


def datagram(robot_id: str, seq: int, state: str = "idle") -> bytes:
    return encode_telemetry(Telemetry(robot_id, "s-" + robot_id, seq, Pose(seq / 10, 0.0), 90.0, state, None))


async def serve(
    robots: list[str], registry: LinkRegistry | None = None, tell_interval_s: float = 0.1
) -> tuple[asyncio.DatagramTransport, dict[str, pykka.ActorRef[Any]], list[Any]]:
    registry = registry if registry is not None else LinkRegistry()
    directory = RobotDirectory()
    published: list[Any] = []
    refs = {}
    for robot_id in robots:
        registry.attach(robot_id, "s-" + robot_id, Link())
        slot = ActorSlot[RobotProxy](robot_id)  # a recorder stands in for the robot: the endpoint only tells
        slot.install(Recorder.start())
        directory.add(robot_id, slot)
        refs[robot_id] = slot.ref
    endpoint = TelemetryEndpoint(
        registry, directory, Metrics(), lambda *message: published.append(message), tell_interval_s
    )
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: endpoint, local_addr=("127.0.0.1", 0)
    )
    return transport, refs, published


def test_a_fast_robot_is_told_in_batches_and_a_slow_one_of_each_datagram() -> None:
    """A token every 50 ms here: a robot at 1 kHz gets its datagrams in batches, at most
    one a token (plus the burst), and one at 10 Hz (under the rate) each on its own."""
    interval = 0.05

    async def scenario() -> None:
        transport, refs, published = await serve(["fast", "slow"], tell_interval_s=interval)
        address = transport.get_extra_info("sockname")
        sending_from = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for seq in range(1, 301):  # 1 kHz for 0.3 s (longer on a loaded machine)
                udp.sendto(datagram("fast", seq), address)
                if seq % 100 == 1:
                    udp.sendto(datagram("slow", seq // 100 + 1), address)  # 10 Hz
                await asyncio.sleep(0.001)
        sending_s = time.monotonic() - sending_from

        def fast_when_all() -> list[tuple[int, ...]] | None:
            fast = batches(refs["fast"])
            return fast if [seq for batch in fast for seq in batch] == list(range(1, 301)) else None

        fast = await asyncio.to_thread(eventually, fast_when_all, what="every datagram of the fast robot")
        slow = await asyncio.to_thread(batches, refs["slow"])
        tokens = sending_s / interval + TELL_BURST + 1  # the tokens the sending really spanned
        assert 3 <= len(fast) <= tokens, f"{len(fast)} tells for 300 datagrams in {sending_s:.2f} s"
        assert slow == [(n,) for n in range(1, 4)]
        assert len([m for m in published if m[0] == "telemetry"]) == 303, "the topic carries every datagram at once"
        transport.close()

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < 10
    pykka.ActorRegistry.stop_all()


def test_a_change_of_state_is_told_at_once_with_what_was_held_before_it() -> None:
    """A token every 60 s here: after the burst of two, a datagram is held; the next one,
    whose state differs, does not wait: both go in one batch, in order."""

    async def scenario() -> None:
        transport, refs, _ = await serve(["alba"], tell_interval_s=60.0)
        endpoint = cast(TelemetryEndpoint, transport.get_protocol())
        alba = refs["alba"]

        def told(count: int) -> list[tuple[int, ...]] | None:
            told = batches(alba)
            return told if len(told) == count else None

        endpoint.datagram_received(datagram("alba", 1), None)
        await asyncio.sleep(0)  # a batch goes at the end of the loop turn it arrived in
        endpoint.datagram_received(datagram("alba", 2), None)
        assert await asyncio.to_thread(eventually, lambda: told(2)) == [(1,), (2,)]
        endpoint.datagram_received(datagram("alba", 3), None)  # no token left: held
        endpoint.datagram_received(datagram("alba", 4, state="serving"), None)
        assert (await asyncio.to_thread(eventually, lambda: told(3)))[2] == (3, 4)
        endpoint.datagram_received(datagram("alba", 5, state="serving"), None)  # the same state: held
        endpoint.datagram_received(datagram("alba", 6, state="idle"), None)
        assert (await asyncio.to_thread(eventually, lambda: told(4)))[3] == (5, 6)
        transport.close()

    asyncio.run(scenario())
    pykka.ActorRegistry.stop_all()


def test_a_robot_whose_link_goes_is_deleted_from_the_topic_and_forgotten() -> None:
    """Nothing kept per robot outlives its link: its last datagram in the hub goes with a
    `delete`, and so does its bucket here; a batch still waiting is told all the same."""

    async def scenario() -> None:
        registry = LinkRegistry()
        transport, refs, published = await serve(["gone", "late", "quiet", "stays"], registry)
        endpoint = cast(TelemetryEndpoint, transport.get_protocol())
        for robot_id in ("gone", "late", "stays"):
            endpoint.datagram_received(datagram(robot_id, 1), None)
        await asyncio.to_thread(eventually, lambda: all(refs[r].ask("batches?") for r in ("gone", "late")))
        endpoint.datagram_received(datagram("late", 2), None)  # waits for the end of this turn at least
        for robot_id in ("gone", "late", "quiet"):  # quiet sent nothing: nothing to delete
            registry.detach(robot_id, "s-" + robot_id)
        registry.detach("stays", "an older session")  # not its current link
        deletes = [data for _topic, kind, data in published if kind == "delete"]
        assert deletes == [{"robot_id": "gone"}, {"robot_id": "late"}]
        told = await asyncio.to_thread(eventually, lambda: refs["late"].ask("batches?") == [(1,), (2,)])
        assert told, "the batch that came while the link was live"
        assert set(endpoint._buckets) == {"stays"}, "buckets go with their links"
        transport.close()

    asyncio.run(scenario())

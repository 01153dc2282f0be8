"""The telemetry endpoint on a real UDP socket and a real actor: every datagram reaches
the robot's actor in order, in at most one message per robot per 10 ms."""

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
from robodine_edge.net.telemetry import TELL_INTERVAL_S, TelemetryEndpoint
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


def datagram(robot_id: str, seq: int) -> bytes:
    return encode_telemetry(Telemetry(robot_id, "s-" + robot_id, seq, Pose(seq / 10, 0.0), 90.0, "idle", None))


async def serve(
    robots: list[str], registry: LinkRegistry | None = None
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
    endpoint = TelemetryEndpoint(registry, directory, Metrics(), lambda *message: published.append(message))
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: endpoint, local_addr=("127.0.0.1", 0)
    )
    return transport, refs, published


def test_a_fast_robot_is_told_in_batches_and_a_slow_one_of_each_datagram() -> None:
    async def scenario() -> None:
        transport, refs, published = await serve(["fast", "slow"])
        address = transport.get_extra_info("sockname")
        sending_from = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for seq in range(1, 201):  # 1 kHz for 0.2 s (longer on a loaded machine)
                udp.sendto(datagram("fast", seq), address)
                if seq % 40 == 1:
                    udp.sendto(datagram("slow", seq // 40 + 1), address)  # 25 Hz
                await asyncio.sleep(0.001)
        sending_s = time.monotonic() - sending_from
        await asyncio.sleep(3 * TELL_INTERVAL_S)
        fast: list[tuple[int, ...]] = await asyncio.to_thread(refs["fast"].ask("batches?", block=False).get, timeout=5)
        slow: list[tuple[int, ...]] = await asyncio.to_thread(refs["slow"].ask("batches?", block=False).get, timeout=5)
        assert [seq for batch in fast for seq in batch] == list(range(1, 201))
        elapsed_windows = sending_s / TELL_INTERVAL_S  # the windows the datagrams really spanned
        assert len(fast) <= 2 * elapsed_windows + 2, f"{len(fast)} tells for 200 datagrams"
        assert slow == [(n,) for n in range(1, 6)]
        assert len([m for m in published if m[0] == "telemetry"]) == 205, "the topic carries every datagram at once"
        transport.close()

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < 10
    pykka.ActorRegistry.stop_all()


def test_a_robot_whose_link_goes_is_deleted_from_the_topic_and_forgotten() -> None:
    """Nothing kept per robot outlives its link: its last datagram in the hub goes with a
    `delete`, and so does its tell time here; a batch still waiting is told all the same."""

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
        assert set(endpoint._told_at) == {"stays"}, "tell times go with their links"
        transport.close()

    asyncio.run(scenario())

"""The protocol fuzz, end to end: fuzzed NDJSON lines on a live robot link, fuzzed
telemetry and camera datagrams over UDP, all against the real `robodine-edge` process.

The service must stay healthy (no actor restarted, `/health` 200, the robot still linked)
and count every input once in `/metrics`, by what became of it. The expected counts
come from the pure codecs and the edge's own rules, replayed here on what was sent
(`LineSplitter` and `decode_frame` for the link, `decode_telemetry` and the session and
sequence checks for telemetry, `decode_chunk` and a `FrameAssembler` for cameras); each
example compares the metrics' deltas with them exactly. The inputs are
tests/protocol/test_fuzz.py's: `EXAMPLES` runs of up to 8 lines, 8 telemetry datagrams
and 6 camera datagrams or frames (~3,000 inputs in all, ~30 s).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from robodine_edge.net.video import FRAME_RESULTS, FrameAssembler
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.link import BadFrame, Hello, LineSplitter, TooLong, decode_frame
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import BadDatagram, Telemetry, decode_telemetry, encode_telemetry
from robodine_edge.protocol.video import BadVideoDatagram, decode_chunk, encode_chunks
from tests.net.conftest import register
from tests.protocol.test_fuzz import JPEG, link_frames, structured, telemetry, video
from tests.robot_client import RobotClient
from tests.service import ServiceProcess, service_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

EXAMPLES = 300
CAMERA = "cam-fuzz"
PING = b'{"type":"ping"}'
METRICS = ("robodine_link_frames_total", "robodine_telemetry_datagrams_total", "robodine_video_datagrams_total",
           "robodine_video_frames_total")  # fmt: skip
SAMPLE = re.compile(r'^(\w+)\{result="(\w+)"\} ([\d.e+]+)$')


class Edge:
    """The service under fuzz, one robot linked (its replies read and dropped by a thread)
    and one camera registered; what the edge should have counted so far."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.admin = service.auth(service.token())
        self.robot_id, token = register(service, self.admin)
        created = service.http.post("/api/video-streams", headers=self.admin, json={"camera_id": CAMERA})
        assert created.status_code == 201, created.text
        self.robot = RobotClient(int(service.runtime["robot_port"]))
        assert self.robot.hello(self.robot_id, token)["type"] == "welcome"
        self.session = self.robot.session or ""
        self.last_seq = 0
        self.metrics = Metrics()
        self.assembler = FrameAssembler(self.metrics)  # the edge's, replayed here
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._drain, name="fuzz-robot-reader", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.robot.sock is not None
        self.robot.sock.settimeout(None)
        while self.robot.sock.recv(65536):
            pass
        self.closed.set()

    def counts(self) -> Counter[tuple[str, str]]:
        found: Counter[tuple[str, str]] = Counter()
        for line in self.service.http.get("/metrics").text.splitlines():
            match = SAMPLE.match(line)
            if match and match.group(1) in METRICS:
                found[(match.group(1), match.group(2))] = int(float(match.group(3)))
        return found

    # -- what the edge should make of each input ------------------------------------------

    def link_lines(self, pieces: list[bytes]) -> tuple[bytes, Counter[tuple[str, str]]]:
        """The bytes to write (one line per piece, a ping after every five so no run of
        bad lines reaches the ten that close a link) and the counts they should add."""
        stream = b"".join(
            piece.replace(b"\n", b" ") + b"\n" + (PING + b"\n" if n % 5 == 4 else b"")
            for n, piece in enumerate(pieces)
        ) + PING + b"\n"  # fmt: skip
        expected: Counter[tuple[str, str]] = Counter()
        for line in LineSplitter().feed(stream):
            if isinstance(line, TooLong):
                result = "too_long"
            else:
                try:
                    result = "already_linked" if isinstance(decode_frame(line), Hello) else "ok"
                except BadFrame as exc:
                    result = exc.cause
            expected[("robodine_link_frames_total", result)] += 1
        return stream, expected

    def telemetry(self, datagram: bytes) -> str:
        try:
            sample = decode_telemetry(datagram)
        except BadDatagram as exc:
            return exc.reason
        if sample.robot_id != self.robot_id:
            return "no_session"
        if sample.session != self.session:
            return "bad_session"
        if sample.seq <= self.last_seq:
            return "out_of_order"
        self.last_seq = sample.seq
        return "accepted"

    def video(self, datagram: bytes) -> str:
        try:
            chunk = decode_chunk(datagram)
        except BadVideoDatagram as exc:
            return exc.reason
        if chunk.camera_id != CAMERA:
            self.assembler.forget(chunk.camera_id)
            return "unknown_camera"
        self.assembler.add(chunk, time.time())
        return "accepted"

    def frame_counts(self) -> Counter[tuple[str, str]]:
        """What the replayed assembler counted: frames by result, and stale datagrams."""
        counts: Counter[tuple[str, str]] = Counter()
        for result in FRAME_RESULTS:
            value = self.metrics.registry.get_sample_value("robodine_video_frames_total", {"result": result})
            counts[("robodine_video_frames_total", result)] = int(value or 0)
        stale = self.metrics.registry.get_sample_value("robodine_video_datagrams_total", {"result": "stale"})
        counts[("robodine_video_datagrams_total", "stale")] = int(stale or 0)
        return counts

    def close(self) -> None:
        self.udp.close()
        self.robot.close()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    data = tmp_path_factory.mktemp("fuzz")
    # A heartbeat of 30 s: the fuzzing robot sends nothing while an example is drawn.
    with ServiceProcess(data, service_env(data, ROBODINE_ROBOTS_HEARTBEAT_S="30")) as service:
        fuzzed = Edge(service)
        try:
            yield fuzzed
        finally:
            fuzzed.close()


ours = st.tuples(st.integers(-5, 35), st.floats(-100, 100), st.booleans())
"""Telemetry of the linked robot: a seq this far past its last (some behind it), a
pose, its own session or a stale one; made into a datagram when sent."""


camera_frames = st.builds(
    lambda number, size, keep: [d for n, d in enumerate(encode_chunks(CAMERA, 1.0, number, JPEG, size)) if n != keep],
    st.integers(0, 60), st.integers(200, 900), st.integers(-1, 3),
)  # fmt: skip


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing run is reported as it came
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_fuzzed_lines_and_datagrams_leave_the_edge_healthy_and_every_drop_counted(edge: Edge, data: Any) -> None:
    pieces = data.draw(st.lists(structured(link_frames) | st.just(b"m" * 70000), min_size=1, max_size=8), "lines")
    datagrams = data.draw(st.lists(structured(telemetry) | ours, min_size=1, max_size=8), "telemetry")
    chunks = data.draw(st.lists(video | camera_frames, min_size=1, max_size=6), "video")
    before = edge.counts()
    frames_before = edge.frame_counts()

    stream, expected = edge.link_lines(pieces)
    try:
        edge.robot.send_raw(stream)
    except OSError:
        raise AssertionError("\n".join(line for line in edge.service.lines if "robot link" in line)) from None
    telemetry_port = ("127.0.0.1", edge.service.runtime["telemetry_port"])
    for item in datagrams:
        if isinstance(item, tuple):
            step, x, own = item
            session = edge.session if own else "stale-session"
            sample = Telemetry(edge.robot_id, session, max(0, edge.last_seq + step), Pose(x, 1.0), 50.0, "idle", None)
            datagram = encode_telemetry(sample)
        else:
            datagram = item
        try:
            edge.udp.sendto(datagram, telemetry_port)
        except OSError:  # too big for one datagram: never sent, never counted
            continue
        expected[("robodine_telemetry_datagrams_total", edge.telemetry(datagram))] += 1
    video_port = ("127.0.0.1", edge.service.runtime["video_port"])
    for item in chunks:
        for datagram in item if isinstance(item, list) else [item]:
            try:
                edge.udp.sendto(datagram, video_port)
            except OSError:
                continue
            expected[("robodine_video_datagrams_total", edge.video(datagram))] += 1
            time.sleep(0.0005)  # well under the socket's buffer: UDP on loopback drops nothing then
    expected.update(edge.frame_counts() - frames_before)

    def added() -> Counter[tuple[str, str]]:
        now = edge.counts()
        return Counter({key: now[key] - before[key] for key in now if now[key] != before[key]})

    deadline = time.monotonic() + 10
    while (got := added()) != +expected and time.monotonic() < deadline:  # datagrams are read as they come
        time.sleep(0.05)
    assert got == +expected
    assert edge.service.http.get("/health").status_code == 200
    assert "robodine_actor_restarts_total{" not in edge.service.http.get("/metrics").text
    assert not edge.closed.is_set(), "the robot's link was closed"
    assert edge.service.http.get(f"/api/robots/{edge.robot_id}", headers=edge.admin).json()["online"]

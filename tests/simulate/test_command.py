"""`robodine-edge simulate` as a user runs it: wrong ports, stops in every phase, exit codes.

Real processes and sockets: the edge, the simulator, and small servers that answer as
an HTTP server would (or never answer at all)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from tests.service import ADMIN_PASSWORD, ServiceProcess, service_env
from tests.simulator import SimulateProcess

pytestmark = pytest.mark.e2e
STARTED_S = 5.0
"""Ample time for the simulator process to import and start on a busy machine."""


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir = tmp_path_factory.mktemp("edge")
    with ServiceProcess(data_dir) as running:
        yield running


@contextlib.contextmanager
def tcp_server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 calling `answer` with each connection; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    done = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            answer(conn)

    thread = threading.Thread(target=serve, name="tcp-server")
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join()
        listener.close()
        for conn in held:
            conn.close()


def http_400(conn: socket.socket) -> None:
    """What most HTTP servers say at once to a line that is not a request."""
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.close()


def silent(conn: socket.socket) -> None:
    """Accepts and never answers (an API that hangs)."""


def tokens_file(tmp_path: Path, robots: dict[str, dict[str, str]]) -> str:
    path = tmp_path / "tokens.json"
    path.write_bytes(orjson.dumps(robots))
    return str(path)


def fake_tokens(tmp_path: Path) -> str:
    return tokens_file(tmp_path, {"alba-x": {"kind": "albabot", "token": "not-a-token"}})


def registering(edge: ServiceProcess, robot_port: int, *more: str) -> tuple[str, ...]:
    return ("--edge", f"127.0.0.1:{robot_port}", "--api", edge.url, "--admin-password", ADMIN_PASSWORD,
            "--albabots", "1", "--cookbots", "1", "--camera-fps", "0", *more)  # fmt: skip


def test_the_http_port_given_as_the_robot_port_is_named_within_seconds(edge: ServiceProcess) -> None:
    """An edge's HTTP port waits for the rest of a request and says nothing: after a few
    seconds without a welcome, the simulator says what is wrong instead of hanging."""
    http_port = edge.runtime["http_port"]
    with SimulateProcess(*registering(edge, http_port)) as sim:
        code = sim.wait(STARTED_S + 10)
    assert code == 1
    assert time.monotonic() - sim.started_at < STARTED_S + 8
    [error] = [line for line in sim.lines if "level=error" in line]
    assert f"127.0.0.1:{http_port} (--edge) does not speak the robot protocol" in error
    assert "HTTP port" in error and "8001" in error
    assert "Traceback" not in sim.log and "JSONDecodeError" not in sim.log


def test_a_port_answering_http_is_named_at_once(tmp_path: Path) -> None:
    with tcp_server(http_400) as port, SimulateProcess("--edge", f"127.0.0.1:{port}", "--tokens",
                                                       fake_tokens(tmp_path)) as sim:  # fmt: skip
        code = sim.wait(STARTED_S + 4)  # well before the wait for a silent port's welcome ends
    assert code == 1
    assert f"127.0.0.1:{port} (--edge) does not speak the robot protocol (an HTTP answer: HTTP/1.1 400" in sim.log


def test_duration_ends_the_wait_for_a_welcome(edge: ServiceProcess) -> None:
    with SimulateProcess(*registering(edge, edge.runtime["http_port"], "--duration", "1")) as sim:
        sim.wait_for("simulating 2 robots")
        linking = time.monotonic()
        code = sim.wait(4)  # not the 5 s wait for a welcome, nor the HTTP server's 60 s
    assert code == 1 and time.monotonic() - linking < 4
    assert "2 of 2 robots never linked (sim-alba-1, sim-cook-1)" in sim.log


def test_sigterm_ends_the_wait_for_a_welcome(edge: ServiceProcess) -> None:
    with SimulateProcess(*registering(edge, edge.runtime["http_port"])) as sim:
        sim.wait_for("simulating 2 robots")
        assert sim.stop(signal.SIGTERM, timeout=3) == 1
    assert "never linked" in sim.log and "does not speak" not in sim.log


def test_duration_ends_a_registration_the_api_does_not_answer(tmp_path: Path) -> None:
    with (
        tcp_server(silent) as api,
        SimulateProcess(
            "--edge", "127.0.0.1:9", "--api", f"http://127.0.0.1:{api}", "--admin-password", "pw", "--duration", "1"
        ) as sim,
    ):
        code = sim.wait(STARTED_S + 3)  # not the API call's own 10 s timeout
    assert code == 1 and "stopped before the robots could link" in sim.log


def test_sigint_ends_a_registration_the_api_does_not_answer(tmp_path: Path) -> None:
    with (
        tcp_server(silent) as api,
        SimulateProcess("--edge", "127.0.0.1:9", "--api", f"http://127.0.0.1:{api}", "--admin-password", "pw") as sim,
    ):
        sim.wait_for("the edge's API")
        assert sim.stop(signal.SIGINT, timeout=3) == 1
    assert "stopped before the robots could link" in sim.log and "Traceback" not in sim.log


def test_duration_ends_the_search_for_an_edge_over_mdns(tmp_path: Path) -> None:
    nobody = (
        "--mdns-interface",
        "127.0.0.1",
        "--store",
        f"no-such-store-{os.getpid()}",
    )  # other tests' edges advertise
    with SimulateProcess("--tokens", fake_tokens(tmp_path), *nobody, "--duration", "1") as sim:
        code = sim.wait(STARTED_S + 3)  # not the 15 s search
    assert code == 1 and "stopped before the robots could link" in sim.log


def test_store_picks_among_the_edges_advertised_over_mdns(tmp_path: Path) -> None:
    """An edge of another store on the network is not taken for the one asked for."""
    store = f"only-store-{os.getpid()}"
    env = service_env(tmp_path, ROBODINE_MDNS="1", ROBODINE_STORE_ID=store)
    with ServiceProcess(tmp_path, env) as advertised:
        elsewhere = ("--mdns-interface", "127.0.0.1", "--store", f"{store}-x", "--duration", "3")
        with SimulateProcess("--tokens", fake_tokens(tmp_path), *elsewhere) as sim:
            assert sim.wait(STARTED_S + 5) == 1
        assert "stopped before the robots could link" in sim.log and "found the edge" not in sim.log
        here = ("--mdns-interface", "127.0.0.1", "--store", store, "--duration", "3")
        with SimulateProcess("--tokens", fake_tokens(tmp_path), *here) as sim:
            sim.wait(STARTED_S + 5)
        assert f"found the edge at 127.0.0.1:{advertised.runtime['robot_port']} over mDNS" in sim.log


def test_robots_that_never_link_make_a_failed_run(edge: ServiceProcess, tmp_path: Path) -> None:
    """Every hello refused (tokens the edge never issued): the robots give up and the
    simulator exits 1 at once, instead of 0 for a run in which nothing was simulated."""
    ghosts = {"ghost-1": {"kind": "albabot", "token": "x"}, "ghost-2": {"kind": "cookbot", "token": "y"}}
    tokens = tokens_file(tmp_path, ghosts)
    with SimulateProcess("--edge", f"127.0.0.1:{edge.runtime['robot_port']}", "--tokens", tokens) as sim:
        code = sim.wait(STARTED_S + 5)
    assert code == 1
    assert "2 of 2 robots never linked (ghost-1, ghost-2)" in sim.log


def test_a_run_in_which_every_robot_linked_exits_0(edge: ServiceProcess) -> None:
    with SimulateProcess(*registering(edge, edge.runtime["robot_port"])) as sim:
        sim.wait_for("sim-alba-1: linked")
        sim.wait_for("sim-cook-1: linked")
        assert sim.stop(signal.SIGTERM, timeout=5) == 0
    assert "level=error" not in sim.log


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("--albabots", "-1"), "argument --albabots: must be 0 or more, not -1"),
        (("--cookbots", "two"), "argument --cookbots: must be a whole number, not 'two'"),
        (("--speed", "0"), "argument --speed: must be a number above 0"),
        (("--duration", "-5"), "argument --duration: must be a number above 0"),
        (("--telemetry-hz", "nan"), "argument --telemetry-hz: must be a number above 0"),
        (("--camera-fps", "nan"), "argument --camera-fps: must be a number 0 or more"),
        (("--cameras", "-2"), "argument --cameras: must be 0 or more, not -2"),
        (("--edge", "localhost"), "argument --edge: must be HOST:PORT"),
        (("--edge", "localhost:70000"), "argument --edge: must be HOST:PORT"),
        (("--albabots", "0", "--cookbots", "0"), "nothing to simulate"),
        (("--behave", "sim-alba-1=dance"), "unknown behaviour 'dance'"),
    ],
)
def test_usage_errors_are_refused_with_exit_2(args: tuple[str, ...], complaint: str) -> None:
    with SimulateProcess("--edge", "127.0.0.1:9", "--api", "http://127.0.0.1:9", "--admin-password", "pw",
                         *args) as sim:  # fmt: skip
        assert sim.wait(STARTED_S + 5) == 2
    assert complaint in sim.log


def test_no_tokens_and_no_password_is_a_usage_error() -> None:
    with SimulateProcess("--edge", "127.0.0.1:9") as sim:
        assert sim.wait(STARTED_S + 5) == 2
    assert "robot tokens are needed" in sim.log

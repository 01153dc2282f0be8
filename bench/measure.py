"""The measurements of `make bench`, each with its baseline from the same run."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry, encode_telemetry
from tests.robot_client import RobotClient
from tests.service import ServiceProcess, service_env

CONNECTIONS = 32
READ_SECONDS = 5
READ_ROUNDS = 2
ORDER_SECONDS = 8
WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed if missing (needs root or sudo)."""
    found = shutil.which("wrk")
    if found:
        return found
    for command in (["apt-get", "install", "-y", "-q", "wrk"], ["sudo", "-n", "apt-get", "install", "-y", "-q", "wrk"]):
        if subprocess.run(command, capture_output=True).returncode == 0 and shutil.which("wrk"):
            return str(shutil.which("wrk"))
    raise SystemExit("make bench needs wrk: apt-get install wrk")


def wrk(
    url: str,
    *,
    token: str | None = None,
    script: Path | None = None,
    seconds: int = READ_SECONDS,
    pid: int | None = None,
) -> dict[str, float]:
    """wrk's rate and latency; with `pid`, also that process's CPU per request (user +
    system, microseconds): what a request costs the server, whatever else runs meanwhile."""
    command = [ensure_wrk(), "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", str(script)]
    cpu_before = _cpu_seconds(pid) if pid is not None else 0.0
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    cpu = _cpu_seconds(pid) - cpu_before if pid is not None else 0.0
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    requests = re.search(r"(\d+) requests in", output)
    if pid is not None and requests:
        result["cpu_us"] = round(cpu * 1e6 / max(1, int(requests.group(1))), 1)
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        result[f"p{pct}_ms"] = round(float(value) * WRK_UNITS[unit], 2)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["errors"] = float(errors.group(1)) if errors else 0.0
    result["rps"] = round(result["rps"])
    return result


def post_script(directory: Path, token: str, body: dict[str, Any]) -> Path:
    """A wrk script POSTing `body` as fast as the service answers."""
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = '{orjson.dumps(body).decode()}'",
        'wrk.headers["Content-Type"] = "application/json"',
        f'wrk.headers["Authorization"] = "Bearer {token}"',
    ]
    path = directory / "post.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


class Bench:
    """One service under test (and its baselines), measured part by part."""

    def __init__(self, workdir: Path, name: str = "service") -> None:
        self.workdir = workdir
        data = workdir / name
        data.mkdir()
        env = service_env(data, ROBODINE_ROBOTS_HEARTBEAT_S="2.0", ROBODINE_HTTP_VALIDATE_RESPONSES="0")
        self.service = ServiceProcess(data, env)
        self.service.start()
        self.token = self.service.token()
        self.admin = self.service.auth(self.token)
        self.table = self._post("/api/tables", {"name": "Bench", "seats": 4})
        stock = self._post("/api/inventory", {"name": "rice", "count": 10_000_000})
        self.dish = self._post(
            "/api/menu", {"name": "Bowl", "price": 9.5, "ingredients": [{"inventory_id": stock["id"], "quantity": 1}]}
        )
        for n in range(19):
            self._post("/api/menu", {"name": f"Dish {n}", "price": 7.0})
        self.robots: list[tuple[str, RobotClient]] = []
        self._next_seq = 1
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pinger = threading.Thread(target=self._ping_robots, name="bench-pinger")
        self._pinger.start()

    def _ping_robots(self) -> None:
        """Keep every robot link alive (its only writer, so frames never interleave)."""
        while not self._stop.wait(0.5):
            with self._lock:
                robots = list(self.robots)
            for _, client in robots:
                client.send(type="ping")

    def write_poses(self) -> None:
        """Have the service write the pose samples and robot states it holds (a pose
        history read does), so a window of bytes written starts or ends on a write."""
        self.service.http.get("/api/poses", headers=self.admin, params={"limit": 1}).raise_for_status()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.service.http.post(path, headers=self.admin, json=body)
        response.raise_for_status()
        return response.json()

    # -- HTTP -----------------------------------------------------------------------------

    def reads(self, rounds: int = READ_ROUNDS, seconds: int = READ_SECONDS) -> dict[str, Any]:
        """Each route against the bare app serving that route's own body (fetched just
        before), runs interleaved so a pair shares the machine's mood."""
        self.link_robots(20)
        routes = {"menu": "/api/menu", "robots": "/api/robots", "tables": "/api/tables"}
        bodies = self.workdir / "bodies"
        bodies.mkdir(exist_ok=True)
        for name, path in routes.items():
            response = self.service.http.get(path, headers=self.admin)
            response.raise_for_status()
            (bodies / f"{name}.json").write_bytes(response.content)
        port = free_port()
        command = [sys.executable, "-m", "bench.baseline_app", str(port), str(bodies)]
        baseline = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results: dict[str, Any] = {}
        try:
            bare_url = f"http://127.0.0.1:{port}"
            _wait_http(bare_url + "/constant")
            results["bare_sanic"] = wrk(bare_url + "/constant", seconds=seconds)
            for name, path in routes.items():
                pairs = []
                for _ in range(rounds):  # alternated, so a slow minute hits both sides
                    bare = wrk(f"{bare_url}/{name}", token=self.token, pid=baseline.pid, seconds=seconds)  # same header
                    pairs.append(
                        (bare, wrk(self.service.url + path, token=self.token, pid=self.service.pid, seconds=seconds))
                    )
                result = pairs[-1][1]
                result["rps"] = round(statistics.mean(ours["rps"] for _, ours in pairs))
                result["body_bytes"] = (bodies / f"{name}.json").stat().st_size
                result["bare_rps"] = round(statistics.mean(bare["rps"] for bare, _ in pairs))
                result["ratio"] = round(result["rps"] / result["bare_rps"], 2)
                result["cpu_us"] = round(statistics.mean(ours["cpu_us"] for _, ours in pairs), 1)
                result["bare_cpu_us"] = round(statistics.mean(bare["cpu_us"] for bare, _ in pairs), 1)
                result["cpu_ratio"] = round(result["bare_cpu_us"] / result["cpu_us"], 2)
                results[name] = result
        finally:
            baseline.terminate()
            baseline.wait(10)
        return results

    def orders(self, seconds: int = ORDER_SECONDS) -> dict[str, Any]:
        body = {"table_id": self.table["id"], "items": [{"menu_item_id": self.dish["id"], "quantity": 1}]}
        top = wrk(self.service.url + "/api/orders", script=post_script(self.workdir, self.token, body), seconds=seconds)
        body_file = self.workdir / "order.json"
        body_file.write_bytes(orjson.dumps(body))
        port = str(self.service.runtime["http_port"])
        command = [sys.executable, "-m", "bench.paced_post", port, "/api/orders", self.token, str(body_file)]
        paced = orjson.loads(
            subprocess.run([*command, str(top["rps"] / 2), str(seconds)], capture_output=True, check=True).stdout
        )
        return {"max": top, "half": paced}

    def bridge(self, seconds: int = READ_SECONDS) -> dict[str, Any]:
        no_ask = wrk(self.service.url + "/api/auth/me", token=self.token, seconds=seconds)
        one_ask = wrk(self.service.url + f"/api/tables/{self.table['id']}", token=self.token, seconds=seconds)
        return {"no_actor": no_ask, "one_actor_ask": one_ask, "ratio": round(one_ask["rps"] / no_ask["rps"], 2)}

    # -- robots: links, telemetry, fan-out ---------------------------------------------------

    def link_robots(self, count: int) -> None:
        while len(self.robots) < count:
            robot_id = f"bench-{len(self.robots) + 1}"
            created = self._post("/api/robots", {"robot_id": robot_id, "kind": "albabot"})
            client = RobotClient(int(self.service.runtime["robot_port"]))
            client.hello(robot_id, created["token"])
            with self._lock:
                self.robots.append((robot_id, client))

    def take_seqs(self, count: int) -> int:
        """The first of `count` sequence numbers every robot may use next (a robot's seq
        only grows: every run carries on from the last)."""
        first, self._next_seq = self._next_seq, self._next_seq + count
        return first

    def telemetry(self, step_s: float = 2.0) -> dict[str, Any]:
        """2,500 datagrams/s for two steps' time, then each rate for one step."""
        self.link_robots(50)
        templates = telemetry_templates(self.workdir / "telemetry.txt", self.robots)
        port = int(self.service.runtime["telemetry_port"])
        at_2500 = self._udp_step(templates, port, 2500, 2 * step_s, service_pid=self.service.pid)
        steps = {}
        for rate in (5000, 10000, 20000, 30000, 40000):
            steps[rate] = self._udp_step(templates, port, rate, step_s, service_pid=self.service.pid)
        best = max((rate for rate, step in steps.items() if step["loss"] == 0), default=0)
        sink = self._baseline_udp(templates, step_s)
        return {"at_2500": at_2500, "steps": steps, "max_lossless_rate": best, "bare_asyncio": sink}

    def _udp_step(
        self, templates: Path, port: int, rate: int, seconds: float, *, service_pid: int, written: bool = False
    ) -> dict[str, Any]:
        """`written`: the bytes written are counted from one write of the pose samples to
        another (`write_poses`), so they hold exactly the step's samples."""
        if written:
            self.write_poses()
        before = self._accepted()
        cpu_before = _cpu_seconds(service_pid)
        first = self.take_seqs(int(rate * seconds) // len(templates.read_text().splitlines()) + 2)
        command = [
            sys.executable,
            "-m",
            "bench.udp_sender",
            str(templates),
            str(port),
            str(rate),
            str(seconds),
            str(first),
        ]
        written_before = written_bytes(service_pid)
        sender = subprocess.run(command, capture_output=True, text=True, check=True)
        sent, took = sender.stdout.split()
        time.sleep(0.5)  # let the last datagrams be read
        cpu = (_cpu_seconds(service_pid) - cpu_before) / (float(took) + 0.5)
        if written:
            self.write_poses()
        accepted = self._accepted() - before
        return {
            "sent": int(sent),
            "accepted": int(accepted),
            "loss": int(sent) - int(accepted),
            "cpu_of_one_core": round(cpu, 3),
            "seconds": round(float(took) + 0.5, 3),
            "written_bytes": written_bytes(service_pid) - written_before,
        }

    def _accepted(self) -> int:
        text = httpx.get(self.service.url + "/metrics").text
        found = re.search(r'robodine_telemetry_datagrams_total\{result="accepted"\} ([\d.e+]+)', text)
        return int(float(found.group(1))) if found else 0

    def _baseline_udp(self, templates: Path, seconds: float) -> dict[int, dict[str, Any]]:
        data_port, control_port = free_port(), free_port()
        sink = subprocess.Popen([sys.executable, "-m", "bench.udp_sink", str(data_port), str(control_port)])
        try:
            time.sleep(0.5)
            results = {}
            for rate in (2500, 40000):
                before = _udp_count(control_port)
                cpu_before = _cpu_seconds(sink.pid)
                out = subprocess.run([sys.executable, "-m", "bench.udp_sender", str(templates), str(data_port), str(rate), str(seconds)],
                                     capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
                time.sleep(0.3)
                got = _udp_count(control_port) - before
                cpu = (_cpu_seconds(sink.pid) - cpu_before) / (float(out[1]) + 0.3)
                results[rate] = {
                    "sent": int(out[0]),
                    "received": got,
                    "loss": int(out[0]) - got,
                    "cpu_of_one_core": round(cpu, 3),
                }
            return results
        finally:
            sink.terminate()
            sink.wait(10)

    def rss_mb(self) -> float:
        return _rss_mb(self.service.pid)

    def close(self) -> None:
        self._stop.set()
        self._pinger.join()
        for _, client in self.robots:
            client.close()
        self.service.stop()


def footprint(workdir: Path) -> dict[str, Any]:
    """Idle RSS with the demo store and 20 simulated robots; start-up times."""
    data = workdir / "demo"
    data.mkdir()
    service = ServiceProcess(data, service_env(data), args=("--demo",)).start()
    simulator = subprocess.Popen(
        [str(Path(sys.executable).parent / "robodine-edge"), "simulate", "--edge", f"127.0.0.1:{service.runtime['robot_port']}",
         "--api", service.url, "--admin-password", "admin-password-for-tests", "--albabots", "10", "--cookbots", "5"],
        env={k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")}, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        admin = service.auth(service.token())
        deadline = time.monotonic() + 30
        while sum(r["online"] for r in service.http.get("/api/robots", headers=admin).json()) < 20:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(5)
        online = sum(r["online"] for r in service.http.get("/api/robots", headers=admin).json())
        idle = _rss_mb(service.pid)
    finally:
        simulator.terminate()
        simulator.wait(10)
        service.stop()
    return {"idle_rss_mb": idle, "robots_online": online, **startup_times(workdir)}


def startup_times(workdir: Path, runs: int = 3) -> dict[str, Any]:
    def ready_s(mdns: bool) -> float:
        times = []
        for n in range(runs):
            data = workdir / f"start-{mdns}-{n}"
            data.mkdir()
            env = service_env(data, ROBODINE_MDNS="1" if mdns else "0", ROBODINE_STORE_ID=f"bench-{os.getpid()}-{n}")
            started = time.monotonic()
            service = ServiceProcess(data, env).start()
            times.append(time.monotonic() - started)
            service.stop()
        return round(statistics.median(times), 3)

    bare: list[float] = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.monotonic() - started)
    return {
        "ready_s": ready_s(False),
        "ready_with_mdns_s": ready_s(True),
        "bare_python_s": round(statistics.median(bare), 3),
    }


def telemetry_templates(path: Path, robots: list[tuple[str, RobotClient]]) -> Path:
    """`bench/udp_sender.py`'s input: one datagram per robot, `{seq}` to fill in."""
    path.write_text("\n".join(_template(robot_id, client.session or "") for robot_id, client in robots) + "\n")
    return path


def start_with_open_orders(workdir: Path, count: int = 10_000, runs: int = 3) -> dict[str, Any]:
    """Start-up to `ready` with `count` orders waiting for robots (none linked), median of
    `runs`, next to the same store's start with none (its orders not yet placed): the
    order queue and the dispatcher read every open order and task at start."""
    data = workdir / "open-orders"
    data.mkdir()
    env = service_env(data, ROBODINE_HTTP_VALIDATE_RESPONSES="0")

    def ready_s() -> float:
        times = []
        for _ in range(runs):
            started = time.monotonic()
            service = ServiceProcess(data, env).start(timeout=120)
            times.append(time.monotonic() - started)
            service.stop()
        return round(statistics.median(times), 3)

    service = ServiceProcess(data, env).start()
    admin = service.auth(service.token())
    tables = [service.http.post("/api/tables", headers=admin, json={"name": f"T{n}", "seats": 4}).json()["id"]
              for n in range(20)]  # fmt: skip
    stock = service.http.post("/api/inventory", headers=admin, json={"name": "rice", "count": 10 * count}).json()
    dishes = [
        service.http.post("/api/menu", headers=admin, json={"name": "Bowl", "price": 9.5,
                          "ingredients": [{"inventory_id": stock["id"], "quantity": 1}]}).json()["id"],
        service.http.post("/api/menu", headers=admin, json={"name": "Soup", "price": 5.5}).json()["id"],
    ]  # fmt: skip
    service.stop()
    empty = ready_s()
    service = ServiceProcess(data, env).start()
    url = service.url

    def place(first: int, step: int = 8) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for n in range(first, count, step):
                body = {"table_id": tables[n % len(tables)],
                        "items": [{"menu_item_id": dishes[0], "quantity": 1}, {"menu_item_id": dishes[1], "quantity": 2}]}  # fmt: skip
                client.post("/api/orders", headers=admin, json=body).raise_for_status()

    threads = [threading.Thread(target=place, args=(first,)) for first in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    service.stop()
    return {"open_orders": count, "ready_s": ready_s(), "empty_ready_s": empty}


def _template(robot_id: str, session: str) -> str:
    text = encode_telemetry(Telemetry(robot_id, session, 123456789, Pose(1.5, 2.5), 80.0, "idle", None)).decode()
    return text.replace("123456789", "{seq}")


def _wait_http(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _udp_count(port: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"?", ("127.0.0.1", port))
        return int(sock.recv(64))


def written_bytes(pid: int) -> int:
    """What the process has caused to be sent to storage so far (`write_bytes` of
    /proc/PID/io; on tmpfs it would stay 0)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def temporary() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="robodine-bench-")

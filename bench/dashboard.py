"""The dashboard's figures: `python -m bench.dashboard [--robots N] [--soak S] [--screenshot PATH]`.

Against `run --demo` (the real process, its own temporary data directory) and Debian's
Chromium at 1280x800:

* first load of `/dashboard` with an empty cache, three times: bytes transferred
  (compressed, as sent, from Resource Timing) and the time from navigation to usable
  (every table and robot on the map and today's figures shown);
* frame times with N extra robots (default 200) linked and moving, each sending
  telemetry at 5 Hz: `requestAnimationFrame` deltas over 10 s in the page;
* with `--soak S`: the DOM node count and JS heap (after a garbage collection) once a
  minute for S seconds of the demo running with the page open;
* with `--screenshot PATH`: the dashboard of the demo store at 1280x800, saved there.

Prints one JSON object. Measured, never asserted (docs/BENCH.md, "The dashboard").
"""

from __future__ import annotations

import argparse
import math
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from playwright.sync_api import Browser, Page, sync_playwright

from bench.measure import temporary
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry, encode_telemetry
from tests.robot_client import RobotClient
from tests.service import ADMIN_PASSWORD, ServiceProcess, service_env
from tests.web.conftest import CHROMIUM_ARGS, TABLET, chromium_executable

TELEMETRY_HZ = 5.0
FRAME_SECONDS = 10.0
SOAK_SAMPLE_S = 60.0
USABLE = """([tables, robots]) => {
  const floor = document.querySelector("svg[data-floor]");
  const ready = floor && floor.querySelectorAll("[data-table-id]").length === tables
    && floor.querySelectorAll("[data-robot-id]").length >= robots
    && document.querySelector("[data-stats] [data-figure=orders]");
  return ready ? (window.__usable ??= performance.now()) : false;
}"""
TRANSFER = """() => {
  const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  return { bytes: entries.reduce((sum, e) => sum + e.transferSize, 0),
           decoded: entries.reduce((sum, e) => sum + e.decodedBodySize, 0), files: entries.length };
}"""
FRAMES = """(seconds) => new Promise((done) => {
  const deltas = []; let last = performance.now(); const end = last + seconds * 1000;
  const step = (now) => { deltas.push(now - last); last = now; if (now < end) requestAnimationFrame(step); else done(deltas); };
  requestAnimationFrame(step);
})"""


class Store:
    """The demo store and an admin's HTTP client."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.login = httpx.post(
            service.url + "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        ).json()
        self.http = httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {self.login['access_token']}"}
        )

    def get(self, path: str) -> Any:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()

    def session_script(self) -> str:
        """Puts the admin's session in the page's storage before it loads, as sign in would."""
        now = int(time.time() * 1000)
        session = {
            "token": self.login["access_token"],
            "user": self.login["user"],
            "issuedAt": now,
            "expiresAt": now + self.login["expires_in"] * 1000,
        }
        return f"localStorage.setItem('robodine.session', {orjson.dumps(orjson.dumps(session).decode()).decode()});"


def open_dashboard(browser: Browser, store: Store) -> Page:
    context = browser.new_context(viewport=TABLET, locale="en-US")
    context.add_init_script(store.session_script())
    page = context.new_page()
    page.goto(store.service.url + "/dashboard")
    return page


def first_load(browser: Browser, store: Store) -> dict[str, Any]:
    tables = len(store.get("/api/tables"))
    robots = sum(1 for robot in store.get("/api/robots?limit=1000") if robot["pose"])
    page = open_dashboard(browser, store)
    usable_ms = page.wait_for_function(USABLE, arg=[tables, robots], polling="raf", timeout=30_000).json_value()
    transfer = page.evaluate(TRANSFER)
    page.context.close()
    return {
        "usable_ms": round(usable_ms),
        "transfer_bytes": transfer["bytes"],
        "decoded_bytes": transfer["decoded"],
        "files": transfer["files"],
    }


@contextmanager
def moving_fleet(store: Store, count: int) -> Iterator[list[str]]:
    """`count` robots linked, pinging, and sending telemetry at TELEMETRY_HZ, each
    driving a circle of its own over the floor (state `moving`: no task is given them)."""
    port = int(store.service.runtime["robot_port"])
    clients: list[tuple[str, RobotClient]] = []
    for n in range(count):
        robot_id = f"fleet-{n + 1}"
        created = store.http.post("/api/robots", json={"robot_id": robot_id, "kind": "albabot"})
        created.raise_for_status()
        client = RobotClient(port)
        client.hello(robot_id, created.json()["token"])
        client.send(type="status", state="moving", battery=90, pose={"x": 1.0, "y": 1.0})
        clients.append((robot_id, client))
    stop = threading.Event()
    threads = [
        threading.Thread(target=_pings, args=(clients, stop), daemon=True),
        threading.Thread(
            target=_telemetry, args=(clients, int(store.service.runtime["telemetry_port"]), stop), daemon=True
        ),
    ]
    for thread in threads:
        thread.start()
    try:
        yield [robot_id for robot_id, _ in clients]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for _, client in clients:
            client.close()


def _pings(clients: list[tuple[str, RobotClient]], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        for _, client in clients:
            client.send(type="ping")


def _telemetry(clients: list[tuple[str, RobotClient]], port: int, stop: threading.Event) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seq = 0
    started = time.monotonic()
    while not stop.wait(1 / TELEMETRY_HZ):
        seq += 1
        t = time.monotonic() - started
        for n, (robot_id, client) in enumerate(clients):
            cx, cy = 1.5 + (n % 20) * 0.65, 0.5 + (n // 20) * 0.8
            angle = t * 0.6 + n
            pose = Pose(cx + 0.4 * math.cos(angle), cy + 0.4 * math.sin(angle), 0.0, 0.0, 0.0, angle + math.pi / 2)
            sample = Telemetry(robot_id, client.session or "", seq, pose, 90.0, "moving", None)
            udp.sendto(encode_telemetry(sample), ("127.0.0.1", port))


def frame_times(browser: Browser, store: Store, robots: int) -> dict[str, Any]:
    page = open_dashboard(browser, store)
    page.wait_for_function(USABLE, arg=[len(store.get("/api/tables")), robots], polling="raf", timeout=60_000)
    deltas = sorted(page.evaluate(FRAMES, FRAME_SECONDS)[1:])
    nodes = page.evaluate("document.getElementsByTagName('*').length")
    page.context.close()
    return {
        "robots_on_map": robots,
        "frames": len(deltas),
        "mean_ms": round(statistics.fmean(deltas), 2),
        "p50_ms": round(deltas[len(deltas) // 2], 2),
        "p95_ms": round(deltas[int(len(deltas) * 0.95)], 2),
        "max_ms": round(deltas[-1], 2),
        "over_50ms": sum(1 for d in deltas if d > 50),
        "dom_elements": nodes,
    }


def memory(page: Page) -> dict[str, int]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {"dom_nodes": int(metrics["Nodes"]), "js_heap_bytes": int(metrics["JSHeapUsedSize"])}


def soak(browser: Browser, store: Store, seconds: float) -> dict[str, Any]:
    """DOM nodes and JS heap once a minute (after a collection) while the demo runs: lists
    fill up to what they keep (40 events, 30 notifications shown) and then stay flat."""
    page = open_dashboard(browser, store)
    page.wait_for_selector("[data-stats] [data-figure=orders]")
    samples = [{"at_s": 0, **memory(page)}]
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        page.wait_for_timeout(min(SOAK_SAMPLE_S, seconds - elapsed) * 1000)
        samples.append({"at_s": round(time.monotonic() - started), **memory(page)})
    page.context.close()
    return {"seconds": seconds, "samples": samples}


def screenshot(browser: Browser, store: Store, path: Path) -> None:
    """The demo store once it is busy: an order on the board, robots out on the floor."""
    page = open_dashboard(browser, store)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-table-id][data-status=occupied]').length >= 3"
        " && document.querySelector('[data-robot-id][data-state=serving]')",
        polling=500,
        timeout=120_000,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--robots", type=int, default=200, help="extra robots moving on the map (default 200)")
    parser.add_argument("--soak", type=float, default=0, help="seconds to watch DOM and heap (default: skip)")
    parser.add_argument("--screenshot", type=Path, help="save the dashboard at 1280x800 here")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with temporary() as workdir, sync_playwright() as driver:
        data_dir = Path(workdir)
        browser = driver.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        with ServiceProcess(data_dir, env=service_env(data_dir), args=("--demo",)) as service:
            store = Store(service)
            if args.screenshot:
                screenshot(browser, store, args.screenshot)
            report["first_load"] = [first_load(browser, store) for _ in range(3)]
            if args.soak:
                report["soak"] = soak(browser, store, args.soak)
            if args.robots:
                with moving_fleet(store, args.robots):
                    on_map = sum(1 for robot in store.get("/api/robots?limit=1000") if robot["pose"])
                    report["frames"] = frame_times(browser, store, on_map)
        browser.close()
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()

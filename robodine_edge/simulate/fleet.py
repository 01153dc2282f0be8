"""A fleet of simulated robots: find the edge, get tokens, run every robot until stopped."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import urllib.error
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ifaddr
import orjson
from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from robodine_edge.protocol.fields import ID
from robodine_edge.simulate.api import SimulationError, http_json, in_thread
from robodine_edge.simulate.camera import DEFAULT_FPS, CameraPlan, SimCamera
from robodine_edge.simulate.diners import Guests, run_guests, staff_login
from robodine_edge.simulate.robot import Behaviour, NotRobotProtocol, SimRobot
from robodine_edge.simulate.stopping import Stopped, unless_stopped

log = logging.getLogger(__name__)
ROBODINE_TYPE = "_robodine._tcp.local."
DISCOVERY_TIMEOUT_S = 15.0
ADVERTISED_API_TIMEOUT_S = 3.0
"""How long `--edge` without `--api` looks for that edge's advertised `http` port."""
DEFAULT_ROBOT_PORT = 8001
EXIT_FAILED = 1


@dataclass
class FleetPlan:
    edge: tuple[str, int] | None
    api: str | None
    """`--api`; else the `http` port the edge advertises, else `fallback_api`."""
    albabots: int
    cookbots: int
    tokens_file: Path | None
    admin_password: str | None
    speed: float = 1.0
    telemetry_hz: float = 10.0
    prefix: str = "sim-"
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    mdns_interface: str | None = None
    store: str | None = None
    """Over mDNS, only the edge advertising this store id (TXT `store`)."""
    duration_s: float | None = None
    guests_every_s: float | None = None
    """A party of guests arrives this often (simulated seconds), or none come."""
    credentials_file: Path | None = None
    """`username password` lines; the guests log in as `staff` (else as admin)."""
    fallback_api: str | None = None
    """The configured `http.port` on the `--edge` host (the last resort, docs/OPERATIONS.md)."""
    camera_fps: float = DEFAULT_FPS
    """Frames per second of every simulated camera; 0 runs none."""
    cameras: int = 0
    """Fixed cameras, `<prefix>cam-<n>`, beside the one on each albabot."""


@dataclass(frozen=True)
class Found:
    host: str
    robot_port: int
    http_port: int | None


async def discover(
    interface: str | None,
    timeout: float = DISCOVERY_TIMEOUT_S,
    edge: tuple[str, int] | None = None,
    store: str | None = None,
) -> Found:
    """The first robodine edge advertised over mDNS (with `edge`, the one advertising
    that robot port on one of that host's addresses; with `store`, the one of that store
    id — a network may hold several edges)."""
    interfaces: Any = [interface] if interface else InterfaceChoice.All
    wanted = await _addresses(edge[0]) if edge is not None else set()
    zc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    found: asyncio.Future[Found] = asyncio.get_running_loop().create_future()

    async def resolve(name: str) -> None:
        info = AsyncServiceInfo(ROBODINE_TYPE, name)
        if not await info.async_request(zc.zeroconf, 3000) or not info.parsed_addresses() or found.done():
            return
        if edge is not None and (info.port != edge[1] or not wanted & set(info.parsed_addresses())):
            return
        if store is not None and info.properties.get(b"store") != store.encode():
            return
        http = info.properties.get(b"http")
        found.set_result(Found(info.parsed_addresses()[0], int(info.port or 0), int(http) if http else None))

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Added:
            asyncio.get_running_loop().create_task(resolve(name))

    browser = AsyncServiceBrowser(zc.zeroconf, [ROBODINE_TYPE], handlers=[on_change])
    try:
        return await asyncio.wait_for(found, timeout)
    except TimeoutError:
        which = f"of store {store!r} " if store is not None else ""
        raise SimulationError(f"no robodine edge {which}found over mDNS within {timeout:g} s; use --edge") from None
    finally:
        await browser.async_cancel()
        await zc.async_close()


async def _addresses(host: str) -> set[str]:
    """The addresses an edge at `host` may advertise. A loopback `host` is this machine,
    which an edge bound to every interface advertises by its other addresses."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError:
        return {host}
    found = {str(info[4][0]) for info in infos} | {host}
    if any(_is_ip(address) and ipaddress.ip_address(address).is_loopback for address in found):
        found |= _local_addresses()
    return found


def _local_addresses() -> set[str]:
    """Every address of this machine's interfaces (ifaddr gives IPv6 ones as tuples)."""
    return {ip.ip if isinstance(ip.ip, str) else ip.ip[0] for adapter in ifaddr.get_adapters() for ip in adapter.ips}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


async def advertised_api(edge: tuple[str, int], interface: str | None) -> str | None:
    """The API of the edge at `edge`, from the `http` port it advertises over mDNS; None
    if it advertises none within `ADVERTISED_API_TIMEOUT_S` (mDNS off, another network)."""
    try:
        found = await discover(interface, ADVERTISED_API_TIMEOUT_S, edge)
    except SimulationError:
        return None
    return f"http://{edge[0]}:{found.http_port}" if found.http_port else None


def load_tokens(path: Path) -> dict[str, dict[str, str]]:
    try:
        tokens = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SimulationError(f"cannot read tokens from {path}: {exc}") from None
    if not isinstance(tokens, dict) or not all(
        isinstance(v, dict) and {"kind", "token"} <= set(v) for v in tokens.values()
    ):
        raise SimulationError(f'{path} must map robot ids to {{"kind", "token"}}')
    return tokens


def register_fleet(api: str, password: str, plan: FleetPlan) -> dict[str, dict[str, str]]:
    """Register (or re-key) the planned robots, and their cameras, through the HTTP API.
    Blocking: run in a thread."""
    try:
        login = http_json(api, "POST", "/api/auth/login", {"username": "admin", "password": password}, None)
    except urllib.error.HTTPError as exc:
        raise SimulationError(f"the edge's API at {api} refused the admin login: {exc.code}") from None
    token = login["access_token"]
    wanted = [(f"{plan.prefix}alba-{n}", "albabot") for n in range(1, plan.albabots + 1)]
    wanted += [(f"{plan.prefix}cook-{n}", "cookbot") for n in range(1, plan.cookbots + 1)]
    tokens = {}
    for robot_id, kind in wanted:
        try:
            body = {"robot_id": robot_id, "kind": kind, "name": robot_id}
            created = http_json(api, "POST", "/api/robots", body, token)
        except urllib.error.HTTPError as exc:
            if exc.code != 409:
                raise SimulationError(f"the edge at {api} refused to register {robot_id}: {exc.code}") from None
            created = http_json(api, "POST", f"/api/robots/{robot_id}/token", None, token)
        tokens[robot_id] = {"kind": kind, "token": created["token"]}
    for camera in camera_plans(wanted, plan):
        try:
            http_json(api, "POST", "/api/video-streams", camera.json(), token)
        except urllib.error.HTTPError as exc:  # 409: registered by an earlier run, its frames are welcome
            if exc.code != 409:  # the robots can still work: a camera is not worth failing the run for
                log.warning("the edge refused to register camera %s (%d): its frames are dropped", camera.camera_id,
                            exc.code)  # fmt: skip
    return tokens


def camera_plans(robots: Iterable[tuple[str, str]], plan: FleetPlan) -> list[CameraPlan]:
    """A camera on each albabot (`<robot_id>-cam`) and the fixed ones (`<prefix>cam-<n>`);
    none with `camera_fps` 0. A robot id too long to make a camera id has no camera."""
    if plan.camera_fps <= 0:
        return []
    found = [
        CameraPlan(f"{robot_id}-cam", f"{robot_id} camera", "robot", robot_id)
        for robot_id, kind in robots
        if kind == "albabot"
    ]
    found += [CameraPlan(f"{plan.prefix}cam-{n}", f"Fixed camera {n}", "fixed") for n in range(1, plan.cameras + 1)]
    valid = [camera for camera in found if ID.fullmatch(camera.camera_id)]
    for camera in set(found) - set(valid):
        log.warning("no camera %r: not a valid camera id", camera.camera_id)
    return valid


def build_robots(tokens: dict[str, dict[str, str]], plan: FleetPlan) -> list[SimRobot]:
    cameras = {
        camera.robot_id: SimCamera(camera.camera_id, plan.camera_fps)
        for camera in camera_plans(((robot_id, entry["kind"]) for robot_id, entry in tokens.items()), plan)
        if camera.robot_id is not None
    }
    robots = []
    for index, (robot_id, entry) in enumerate(sorted(tokens.items())):
        home = (1.0 + 1.5 * index, 0.5) if entry["kind"] == "albabot" else (0.5 + index, -1.0)
        robots.append(
            SimRobot(
                robot_id,
                entry["kind"],
                entry["token"],
                home,
                plan.speed,
                plan.telemetry_hz,
                plan.behaviours.get(robot_id, Behaviour()),
                cameras.get(robot_id),
            )
        )
    return robots


async def run_fleet(plan: FleetPlan) -> int:
    """Run until SIGTERM/SIGINT (or `duration_s`), which are honoured in every phase.

    Returns the exit code: 0 once every robot linked (at least once) and the run was
    stopped; `EXIT_FAILED` if a robot never linked (refused, or stopped first). The
    reasons the simulation cannot run at all raise `SimulationError`."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    timer = loop.call_later(plan.duration_s, stop.set) if plan.duration_s is not None else None
    try:
        return await _run(plan, stop)
    except Stopped:
        log.error("stopped before the robots could link: nothing was simulated")
        return EXIT_FAILED
    finally:
        if timer is not None:
            timer.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _run(plan: FleetPlan, stop: asyncio.Event) -> int:
    edge, api, from_mdns = await unless_stopped(_find_edge(plan), stop)
    tokens = await unless_stopped(_tokens(plan, api), stop)
    robots = build_robots(tokens, plan)
    if not robots:
        raise SimulationError("no robots to simulate")
    guests = _guests(plan, api) if plan.guests_every_s is not None else None
    log.info("simulating %d robots against %s:%d", len(robots), *edge)
    loop = asyncio.get_running_loop()
    linked = [loop.create_task(robot.run(edge[0], edge[1], stop)) for robot in robots]
    beside = [loop.create_task(run_guests(guests, stop))] if guests is not None else []
    beside += [loop.create_task(camera.run(edge[0], lambda: _video_port(robots))) for camera in _fixed(tokens, plan)]
    try:
        await _watch(linked, edge, from_mdns)
        if any(robot.linked for robot in robots):
            await stop.wait()  # the guests and fixed cameras go on while some robots dropped off
    finally:
        stop.set()
        for task in (*linked, *beside):
            task.cancel()
        await asyncio.gather(*linked, *beside, return_exceptions=True)
    never = sorted(robot.robot_id for robot in robots if not robot.linked)
    if never:
        log.error("%d of %d robots never linked (%s)", len(never), len(robots), ", ".join(never))
        return EXIT_FAILED
    return 0


async def _watch(robots: list[asyncio.Task[None]], edge: tuple[str, int], from_mdns: bool) -> None:
    """Until every robot's run ends (stopped, dropped off or refused); a port that does not
    speak the robot link ends them all with one clear error."""
    done, _ = await asyncio.wait(robots, return_when=asyncio.FIRST_EXCEPTION)
    for task in done:
        error = task.exception()
        if isinstance(error, NotRobotProtocol):
            where = "the edge advertised over mDNS" if from_mdns else "--edge"
            raise SimulationError(
                f"{edge[0]}:{edge[1]} ({where}) does not speak the robot protocol ({error}); is it the HTTP port? "
                f"The robot port is the one the edge advertises over mDNS, {DEFAULT_ROBOT_PORT} by default"
            )
        if error is not None:
            raise error


def _video_port(robots: list[SimRobot]) -> int | None:
    """Where fixed cameras send: the video port of a robot linked now."""
    return next((robot.video_port for robot in robots if robot.video_port is not None), None)


def _fixed(tokens: dict[str, dict[str, str]], plan: FleetPlan) -> list[SimCamera]:
    robots = ((robot_id, entry["kind"]) for robot_id, entry in tokens.items())
    fixed = [camera for camera in camera_plans(robots, plan) if camera.robot_id is None]
    return [SimCamera(camera.camera_id, plan.camera_fps) for camera in fixed]


async def _find_edge(plan: FleetPlan) -> tuple[tuple[str, int], str | None, bool]:
    """The robot port, the API (if any) and whether mDNS told them."""
    edge, api = plan.edge, plan.api
    if edge is None:
        found = await discover(plan.mdns_interface, store=plan.store)
        edge = (found.host, found.robot_port)
        if api is None and found.http_port:
            api = f"http://{found.host}:{found.http_port}"
        log.info("found the edge at %s:%d over mDNS", *edge)
    elif api is None and (plan.tokens_file is None or plan.guests_every_s is not None):
        api = await advertised_api(edge, plan.mdns_interface) or plan.fallback_api
    if api is not None:
        log.info("the edge's API: %s", api)
    return edge, api, plan.edge is None


async def _tokens(plan: FleetPlan, api: str | None) -> dict[str, dict[str, str]]:
    if plan.tokens_file is not None:
        return load_tokens(plan.tokens_file)
    if not plan.admin_password:
        raise SimulationError("robot tokens are needed: --tokens FILE, or --admin-password to register robots")
    if api is None:
        raise SimulationError("no API address to register robots: use --api")
    try:
        return await in_thread(register_fleet, api, plan.admin_password, plan)
    except urllib.error.HTTPError as exc:
        raise SimulationError(f"the edge's API at {api} refused the robots' registration: {exc.code}") from None
    except urllib.error.URLError as exc:
        raise SimulationError(f"cannot reach the edge's API at {api}: {exc.reason}") from None
    except (OSError, ValueError) as exc:  # a timeout, or an answer that is not the API's JSON
        raise SimulationError(f"the edge's API at {api} did not answer as one: {exc}") from None


def _guests(plan: FleetPlan, api: str | None) -> Guests:
    assert plan.guests_every_s is not None
    if api is None:
        raise SimulationError("guests need the API: use --api")
    if plan.credentials_file is not None:
        username, password = staff_login(plan.credentials_file)
    elif plan.admin_password:
        username, password = "admin", plan.admin_password
    else:
        raise SimulationError("guests log in: --credentials FILE or --admin-password")
    return Guests(api, username, password, plan.guests_every_s, plan.speed)

"""The `robodine-edge` command: run, hq, simulate, check-config, backup, restore.

Exit codes: 0 success, 1 the operation failed (data directory busy, bad backup file,
port in use; for `simulate`, a robot that never linked), 2 invalid configuration or usage.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robodine_edge import __version__
from robodine_edge.data.datadir import PRIVATE_UMASK
from robodine_edge.errors import ConfigError, RobodineError
from robodine_edge.process.logs import setup_logging

if TYPE_CHECKING:
    from robodine_edge.config import Config

log = logging.getLogger("robodine_edge")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robodine-edge", description="In-store edge service of a robot restaurant.")
    parser.add_argument("--version", action="version", version=f"robodine-edge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the service in the foreground")
    run.add_argument(
        "--demo", action="store_true",
        help="seed a demo store into an empty database and simulate its robots and guests; on 127.0.0.1 with"
        " store id 'demo' unless the config file or ROBODINE_HOST / ROBODINE_STORE_ID say otherwise",
    )  # fmt: skip
    _config_option(run)

    simulate = commands.add_parser(
        "simulate", help="a fleet of simulated robots speaking the real protocols",
        epilog="exit status: 0 once every robot linked and the run was stopped (--duration, SIGTERM, SIGINT); "
        "1 if a robot never linked or the simulation could not run (no edge, a port that does not speak "
        "the robot protocol, registration refused); 2 for a usage error",
    )  # fmt: skip
    simulate.add_argument(
        "--edge", type=_host_port, metavar="HOST:ROBOT_PORT", help="the edge's robot link (default: find it over mDNS)"
    )
    simulate.add_argument("--api", metavar="URL", help="the edge's HTTP API, to register robots")
    simulate.add_argument("--albabots", type=_count, default=3, metavar="N", help="serving robots (default 3)")
    simulate.add_argument("--cookbots", type=_count, default=2, metavar="N", help="cooking robots (default 2)")
    who = simulate.add_mutually_exclusive_group()
    who.add_argument("--tokens", type=Path, metavar="FILE", help='JSON {robot_id: {"kind", "token"}}')
    who.add_argument("--admin-password", metavar="PW", help="register robots as admin (or ROBODINE_ADMIN_PASSWORD)")
    simulate.add_argument("--speed", type=_positive, default=1.0, help="simulated time runs this many times faster")
    simulate.add_argument(
        "--telemetry-hz", type=_positive, default=10.0, help="telemetry datagrams per robot per second"
    )
    simulate.add_argument("--prefix", default="sim-", help="id prefix of registered robots and fixed cameras (sim-)")
    simulate.add_argument(
        "--behave", action="append", default=[], metavar="ROBOT=WHAT",
        help="make one robot misbehave: fail, stuck, nack, drop-after:S, battery:P (comma-separated)",
    )  # fmt: skip
    simulate.add_argument("--mdns-interface", metavar="ADDR", help="look for the edge on this interface only")
    simulate.add_argument("--store", metavar="ID", help="over mDNS, only the edge of this store id")
    simulate.add_argument("--duration", type=_positive, metavar="S", help="stop after S seconds")
    simulate.add_argument(
        "--guests-every", type=_positive, metavar="S",
        help="a party of guests arrives every S (simulated) seconds: seated, orders, eats, leaves",
    )  # fmt: skip
    simulate.add_argument(
        "--credentials", type=Path, metavar="FILE", help="'username password' lines; guests act as `staff`"
    )
    simulate.add_argument(
        "--cameras", type=_count, default=0, metavar="N",
        help="fixed cameras <prefix>cam-1..N, beside the one on each albabot (<robot_id>-cam) (default 0)",
    )  # fmt: skip
    simulate.add_argument(
        "--camera-fps", type=_non_negative, default=5.0, metavar="FPS",
        help="frames per second of every simulated camera; 0: no cameras (default 5)",
    )  # fmt: skip
    _config_option(simulate)

    check = commands.add_parser("check-config", help="validate and print the effective configuration")
    check.add_argument("--demo", action="store_true", help="the configuration `run --demo` would use")
    _config_option(check)

    backup = commands.add_parser("backup", help="consistent online copy of the database")
    backup.add_argument(
        "--out", required=True, metavar="FILE|DIR",
        help="where to write the copy: a new file, or a folder (existing, or ending in /) to write"
        " robodine-<UTC time>.sqlite3 in",
    )  # fmt: skip
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    _config_option(backup)

    hq = commands.add_parser(
        "hq", help="run headquarters: store every store's events, publish acks and cfg, serve the chain API",
        description="Headquarters of a chain of stores, on the broker and chain of the [federation] section"
        " (docs/FEDERATION.md).",
    )  # fmt: skip
    _config_option(hq)

    restore = commands.add_parser("restore", help="replace the database with a backup (service stopped)")
    restore.add_argument("--from", dest="source", required=True, type=Path, metavar="FILE", help="backup file")
    _config_option(restore)
    return parser


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="PATH", help="config file (default: see docs/CONFIG.md)")


_stop_asked: list[int] = []
"""The signal that asked for a stop before the command started, if one did (main thread)."""


def _stop_before_start(signum: int, frame: Any) -> None:
    """SIGTERM/SIGINT before the command has started anything: nothing to undo, so the
    stop is a clean exit 0 (docs/OPERATIONS.md), not death by signal while the heavy modules
    (pydantic, Sanic: ~0.5 s) still import. `Service.run` installs its own next. The
    `SystemExit` may surface wrapped in another error (pydantic-core turns one raised while it
    builds a validator into a `SchemaError`), so `main` also reads `_stop_asked`."""
    _stop_asked.append(signum)
    raise SystemExit(EXIT_OK)


def main(argv: Sequence[str] | None = None) -> int:
    """Main thread. The configuration and everything behind it are imported here, after
    the stop handlers, which is why this module imports only light things at the top."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop_before_start)
    args = build_parser().parse_args(argv)
    os.umask(PRIVATE_UMASK)  # what the command creates (database, backups, videos) is its user's only
    if args.command not in ("run", "hq"):  # the other commands stop the usual way (Ctrl-C is KeyboardInterrupt)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        config = _load(args.config, demo=getattr(args, "demo", False))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"robodine-edge: config error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(config.log.level, config.log.format)
    log.debug("starting %s", args.command)
    try:
        return COMMANDS[args.command](config, args)
    except Exception as exc:
        if _stop_asked:  # the stop's SystemExit, wrapped by the code it interrupted
            log.info("robodine-edge %s stopped while starting (%s)", args.command, type(exc).__name__)
            return EXIT_OK
        if isinstance(exc, RobodineError):
            log.error("%s", exc.message)
        elif isinstance(exc, OSError):
            log.error("%s", exc)
        else:  # a bug: one log line (the traceback escaped into it), exit 1
            log.exception("robodine-edge %s failed", args.command)
        return EXIT_FAILED


def _load(path: Path | None, *, demo: bool) -> Config:
    from robodine_edge.config import config_file, load_config

    chosen, named_by = config_file(path)
    return load_config(chosen, named_by=named_by, demo=demo)


def _run(config: Config, args: argparse.Namespace) -> int:
    from robodine_edge.server import Service  # heavy imports only for the service itself

    return Service(config, demo=args.demo).run()


def _hq(config: Config, args: argparse.Namespace) -> int:
    from robodine_edge.hq.service import HqService  # heavy imports only for headquarters

    problems = config.federation.problems()  # a store with federation off needs none of it; hq does
    for problem in problems:
        print(f"robodine-edge: config error: {problem} (robodine-edge hq needs the chain's broker)", file=sys.stderr)
    return EXIT_CONFIG if problems else HqService(config).run()


def _simulate(config: Config, args: argparse.Namespace) -> int:
    import asyncio

    from robodine_edge.simulate.api import SimulationError
    from robodine_edge.simulate.fleet import FleetPlan, run_fleet
    from robodine_edge.simulate.robot import Behaviour

    password = args.admin_password or os.environ.get("ROBODINE_ADMIN_PASSWORD")
    try:
        if args.tokens is None and not password:
            raise ValueError("robot tokens are needed: --tokens FILE, or --admin-password to register robots")
        if args.tokens is None and args.albabots + args.cookbots == 0:
            raise ValueError("nothing to simulate: --albabots and --cookbots are both 0")
        if args.guests_every is not None and args.credentials is None and not password:
            raise ValueError("guests log in: --credentials FILE or --admin-password")
        plan = FleetPlan(
            edge=args.edge,
            api=args.api,
            fallback_api=f"http://{args.edge[0]}:{config.http.port}" if args.edge else None,
            albabots=args.albabots,
            cookbots=args.cookbots,
            tokens_file=args.tokens,
            admin_password=password,
            speed=args.speed,
            telemetry_hz=args.telemetry_hz,
            prefix=args.prefix,
            behaviours={robot: Behaviour.parse(what) for robot, _, what in (b.partition("=") for b in args.behave)},
            mdns_interface=args.mdns_interface,
            store=args.store,
            duration_s=args.duration,
            guests_every_s=args.guests_every,
            credentials_file=args.credentials,
            camera_fps=args.camera_fps,
            cameras=args.cameras,
        )
    except ValueError as exc:
        print(f"robodine-edge simulate: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return asyncio.run(run_fleet(plan))
    except SimulationError as exc:
        log.error("%s", exc)
        return EXIT_FAILED


def _host_port(text: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets: `[::1]:8001`)."""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"must be HOST:PORT with a port 1-65535, not {text!r}")
    return host, int(port)


def _count(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {number}")
    return number


def _non_negative(text: str) -> float:
    return _number(text, positive=False)


def _positive(text: str) -> float:
    return _number(text, positive=True)


def _number(text: str, *, positive: bool) -> float:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise argparse.ArgumentTypeError(f"must be a number {'above 0' if positive else '0 or more'}, not {text!r}")
    return number


def _check_config(config: Config, args: argparse.Namespace) -> int:
    from robodine_edge.config import render_config

    sys.stdout.write(render_config(config))
    return EXIT_OK


def _backup(config: Config, args: argparse.Namespace) -> int:
    from robodine_edge.care.snapshot import backup, backup_target

    data_dir = Path(config.data.dir)
    target = backup_target(data_dir, args.out, force=args.force)
    size = backup(data_dir, target)
    log.info("backup written", extra={"fields": {"file": str(target), "bytes": size}})
    print(target)  # for scripts: where it went, when --out named a folder
    return EXIT_OK


def _restore(config: Config, args: argparse.Namespace) -> int:
    from robodine_edge.care.snapshot import restore

    kept = restore(Path(config.data.dir), args.source)
    log.info("database restored", extra={"fields": {"from": str(args.source), "previous": str(kept)}})
    return EXIT_OK


COMMANDS = {
    "run": _run,
    "hq": _hq,
    "simulate": _simulate,
    "check-config": _check_config,
    "backup": _backup,
    "restore": _restore,
}

if __name__ == "__main__":
    sys.exit(main())

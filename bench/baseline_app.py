"""The ceiling for reads: a bare single-process Sanic app answering constant bodies.

Run as `python -m bench.baseline_app PORT [BODIES_DIR]`. It serves `/constant` (a
20-dish JSON list) and, for every `NAME.json` in BODIES_DIR, `/NAME` with that file's
bytes: the service's own answer to the route being measured, so each ratio compares
the same payload through the same Sanic, orjson and machine, with nothing else done.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import orjson
from sanic import HTTPResponse, Request, Sanic

BODY = orjson.dumps([{"id": n, "name": f"Dish {n}", "price": 9.5, "available": True} for n in range(20)])


def constant_route(app: Sanic, path: str, body: bytes) -> None:
    async def constant(request: Request) -> HTTPResponse:
        return HTTPResponse(body, content_type="application/json")

    app.add_route(constant, path, methods=["GET"], name=path.strip("/") or "root")


def main() -> None:
    app = Sanic("bench_baseline", dumps=orjson.dumps)
    app.config.ACCESS_LOG = False
    constant_route(app, "/constant", BODY)
    if len(sys.argv) > 2:
        for path in sorted(Path(sys.argv[2]).glob("*.json")):
            constant_route(app, f"/{path.stem}", path.read_bytes())
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(sys.argv[1])))
    sock.listen(512)
    app.run(sock=sock, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()

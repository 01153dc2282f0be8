"""A test service's way to crash its actors: `POST /api/_test/actors/{name}/crash`.

Supervision is only believed once it is seen to work on the real process: an actor dies
mid-operation, the supervisor restarts it, and what it held comes back from SQLite.
Nothing in a real restaurant makes an actor raise on purpose, so a test service opens
this route: `create_app` registers it only when the service runs with
`ROBODINE_TEST_CRASH_HOOK=1` (tests/test_actor_crashes.py); a production service has no
such route, and it is not in `/openapi.json`.

Admin only. It tells the named supervised actor (`store`, `floor`, `orders`, `fleet`,
`cameras`, `dispatcher`, `table-<id>`, `robot-<id>`, `camera-<id>`) `Crash`, through its
real mailbox: the actor dies handling it, between the messages queued around it, and
the answer (202) does not wait for that. Event loop.
"""

from __future__ import annotations

from sanic import HTTPResponse

from robodine_edge.actors.base import Crash
from robodine_edge.errors import NotFound
from robodine_edge.http.context import ApiRequest, App
from robodine_edge.http.routing import ERROR_FORMAT, json_response
from robodine_edge.threads import bridge
from robodine_edge.types import Role

ENV = "ROBODINE_TEST_CRASH_HOOK"
PATH = "/api/_test/actors/<name:str>/crash"


def install_crash_hook(app: App) -> None:
    app.add_route(crash_actor, PATH, methods=["POST"], name="test_crash_actor", error_format=ERROR_FORMAT)


async def crash_actor(request: ApiRequest, name: str) -> HTTPResponse:
    api = request.app.ctx.api
    api.gate.require(request, (Role.ADMIN,))
    children = await bridge.wait(api.supervisor.proxy.children(), api.ask_timeout_s)
    slot = children.get(name)
    if slot is None:
        raise NotFound(f"no supervised actor {name[:64]!r}")
    slot.tell(Crash())
    return json_response({"actor": name}, 202)

"""The two WebSocket doors onto the live hub (docs/API.md, "WebSocket").

`/ws/{topic}?token=...` — one topic per socket. `/ws` — many subscriptions on one
socket, Home Assistant style: authenticate first, then `subscribe` / `unsubscribe` /
`ping` with increasing integer ids. Both run on the event loop; what a socket is sent
goes through its hub `Connection`, which writes frames in order. Both start by arranging
for Sanic's reading tasks to end with the connection (`orphans.reap_when_lost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any

import orjson
from sanic import Websocket

from robodine_edge.errors import Unauthorized
from robodine_edge.http.context import ApiContext, ApiRequest, App
from robodine_edge.http.hub import Connection, Hub
from robodine_edge.http.orphans import reap_when_lost
from robodine_edge.http.routing import ERROR_FORMAT
from robodine_edge.http.topics import KIOSK_TOPICS, is_topic
from robodine_edge.types import Principal, Role, Topic

log = logging.getLogger(__name__)
AUTH_TIMEOUT_S = 10.0
MAX_MESSAGE_BYTES = 64 * 1024
SEND_BUFFER_BYTES = 256 * 1024
"""Kernel send buffer of a WebSocket: without a cap, TCP autotuning lets ~4 MB pile up
per stalled client (800 MB for 200 on a Pi); capped, a slow client backs up into its
bounded queue instead, where the 5-second rule can see it."""


def install_websockets(app: App) -> None:
    app.config.WEBSOCKET_MAX_SIZE = MAX_MESSAGE_BYTES
    app.add_websocket_route(topic_socket, "/ws/<topic:str>", name="ws_topic", error_format=ERROR_FORMAT)
    app.add_websocket_route(multiplexed_socket, "/ws", name="ws", error_format=ERROR_FORMAT)


def may_see(principal: Principal, topic: Topic) -> bool:
    return principal.role is not Role.KIOSK or topic in KIOSK_TOPICS


async def topic_socket(request: ApiRequest, ws: Websocket, topic: str) -> None:
    reap_when_lost(ws)
    api = request.app.ctx.api
    hub = api.hub
    try:
        principal = api.gate.authenticate(request, allow_query_token=True)
    except Unauthorized as exc:
        return await ws.close(4401, exc.message)
    if not is_topic(topic):
        return await ws.close(4404, f"unknown topic {topic[:64]!r}")
    if not may_see(principal, topic):
        return await ws.close(4403, f"a {principal.role.value} may not follow {topic}")
    since = _int(request.args.get("since"))
    async with _connected(hub, ws, principal, api) as connection:
        await hub.subscribe(connection, topic, None, since)
        while await ws.recv() is not None:
            pass  # this door only talks one way


async def multiplexed_socket(request: ApiRequest, ws: Websocket) -> None:
    reap_when_lost(ws)
    api = request.app.ctx.api
    hub = api.hub
    principal = await _authenticate(ws, api)
    if principal is None:
        return
    async with _connected(hub, ws, principal, api) as connection:
        connection.send_now('{"type":"auth_ok"}')
        session = _Commands(hub, connection)
        while (raw := await ws.recv()) is not None:
            await session.handle(raw)


async def _authenticate(ws: Websocket, api: ApiContext) -> Principal | None:
    try:
        first = await ws.recv(timeout=AUTH_TIMEOUT_S)
        message = orjson.loads(first) if first is not None else None
        if not isinstance(message, dict) or message.get("type") != "auth" or not isinstance(message.get("token"), str):
            raise Unauthorized("the first message must be {type: auth, token}")
        return api.gate.verify(message["token"])
    except (TimeoutError, Unauthorized, orjson.JSONDecodeError) as exc:
        reason = exc.message if isinstance(exc, Unauthorized) else "no valid auth message"
        with contextlib.suppress(Exception):
            await ws.send(orjson.dumps({"type": "auth_invalid", "message": reason}).decode())
            await ws.close(4401, reason)
        return None


class _connected:
    """Register a connection with the hub and clean up however it ends."""

    def __init__(self, hub: Hub, ws: Websocket, principal: Principal, api: ApiContext) -> None:
        self.hub, self.ws, self.principal, self.api = hub, ws, principal, api

    async def __aenter__(self) -> Connection:
        _cap_send_buffer(self.ws)
        self.connection = Connection(self.ws, self.principal, self.api.metrics)
        self.hub.connect(self.connection)
        loop = asyncio.get_running_loop()
        self.expiry = loop.call_later(max(0.0, self.principal.expires_at - time.time()), self._expired)
        return self.connection

    def _expired(self) -> None:
        self.hub.close_tokens({self.principal.token_id}, 4401)

    async def __aexit__(self, *exc: object) -> None:
        self.expiry.cancel()
        self.hub.disconnect(self.connection)


class _Commands:
    """The multiplexed protocol after authentication. Event loop only."""

    def __init__(self, hub: Hub, connection: Connection) -> None:
        self.hub = hub
        self.connection = connection
        self.last_id = 0

    def reply(self, message: dict[str, Any]) -> None:
        self.connection.send_now(orjson.dumps(message).decode())

    def fail(self, message_id: Any, code: str, text: str) -> None:
        reply: dict[str, Any] = {"type": "result", "success": False, "error": {"code": code, "message": text}}
        if isinstance(message_id, int):
            reply = {"id": message_id, **reply}
        self.reply(reply)

    async def handle(self, raw: str | bytes) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self.fail(None, "bad_request", "messages are JSON objects")
        if not isinstance(message, dict):
            return self.fail(None, "bad_request", "messages are JSON objects")
        message_id, kind = message.get("id"), message.get("type")
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id < 1:
            return self.fail(None, "bad_request", "every command needs a positive integer id")
        if message_id <= self.last_id:
            return self.fail(message_id, "id_reuse", f"ids must increase (last was {self.last_id})")
        self.last_id = message_id
        if kind == "ping":
            return self.reply({"id": message_id, "type": "pong"})
        if kind == "subscribe":
            return await self.subscribe(message_id, message.get("topic"), message.get("since"))
        if kind == "unsubscribe":
            return self.unsubscribe(message_id, message.get("subscription"))
        return self.fail(message_id, "unknown_command", f"unknown type {str(kind)[:32]!r}")

    async def subscribe(self, message_id: int, topic: Any, since: Any) -> None:
        if not isinstance(topic, str) or not is_topic(topic):
            return self.fail(message_id, "unknown_topic", f"unknown topic {str(topic)[:64]!r}")
        if not may_see(self.connection.principal, topic):
            return self.fail(message_id, "forbidden", f"a kiosk may not follow {topic}")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            return self.fail(message_id, "bad_request", "since must be an integer seq")
        self.reply({"id": message_id, "type": "result", "success": True})
        try:
            await self.hub.subscribe(self.connection, topic, message_id, since)
        except Exception as exc:
            log.warning("snapshot of %s failed: %s", topic, exc)
            self.reply(
                {"id": message_id, "type": "snapshot_failed", "error": {"code": "unavailable", "message": str(exc)}}
            )
        return None

    def unsubscribe(self, message_id: int, subscription_id: Any) -> None:
        subscription = self.connection.subscriptions.get(subscription_id) if isinstance(subscription_id, int) else None
        if subscription is None:
            return self.fail(message_id, "not_found", f"no subscription {subscription_id!r}")
        self.hub.unsubscribe(subscription)
        return self.reply({"id": message_id, "type": "result", "success": True})


def _cap_send_buffer(ws: Websocket) -> None:
    transport = getattr(getattr(ws, "io_proto", None), "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None

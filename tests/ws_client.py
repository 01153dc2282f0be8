"""WebSocket clients for tests: the real `websockets` library against the real process."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import websockets


def ws_url(http_url: str, path: str) -> str:
    return http_url.replace("http://", "ws://", 1) + path


async def recv(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws: Any, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The first message matching `predicate` (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            message = orjson.loads(await ws.recv())
            if predicate(message):
                return message


async def close_code(ws: Any, timeout: float = 5.0) -> int | None:
    """Read until the server closes; its close code."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def multiplexed(http_url: str, token: str) -> Any:
    ws = await websockets.connect(ws_url(http_url, "/ws"), max_size=None)
    await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
    assert await recv(ws) == {"type": "auth_ok"}
    return ws


class StateMirror:
    """A client's picture of one topic, built from its snapshot and updates."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.items: dict[Any, dict[str, Any]] = {}
        self.seqs: list[int] = []

    def apply(self, message: dict[str, Any]) -> None:
        self.seqs.append(message["seq"])
        if message["type"] == "snapshot":
            self.items = {item[self.key]: item for item in message["data"]}
        elif message["type"] == "upsert":
            self.items[message["data"][self.key]] = message["data"]
        elif message["type"] == "delete":
            self.items.pop(message["data"][self.key], None)

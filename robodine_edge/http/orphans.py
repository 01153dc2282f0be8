"""Sanic's per-message WebSocket tasks, ended when their socket's connection is gone.

Sanic reads a WebSocket's frames in a task per `data_received` call
(`WebsocketImplProtocol.async_data_received`, and `async_eof_received` for EOF), holds
no reference to it, and has it hand each message to the socket's frame assembler, where
it waits until the handler fetches the message. A message the handler never fetches —
the handler was busy (a snapshot) or done (a refused `auth`) when the client sent more,
then dropped the connection — leaves its task waiting forever: kept alive by the
protocol until Sanic's last timeout check lets go of it (up to 30 s), then garbage, and
destroyed by some later collection with asyncio's error "Task was destroyed but it is
pending!" (sanic-org/sanic#3175, open).

So every WebSocket handler calls `reap_when_lost(ws)` first: once the TCP connection is
gone (Sanic resolves `connection_lost_waiter`; no frame can arrive after it), the
socket's reading tasks still pending are cancelled. Event loop only.
"""

from __future__ import annotations

import asyncio

from sanic import Websocket

IO_TASKS = frozenset({"WebsocketImplProtocol.async_data_received", "WebsocketImplProtocol.async_eof_received"})
"""The coroutines Sanic starts per read and never tracks (sanic/server/websockets/impl.py)."""


def reap_when_lost(ws: Websocket) -> None:
    """Cancel the socket's leftover reading tasks when its connection is lost."""
    waiter: asyncio.Future[None] | None = getattr(ws, "connection_lost_waiter", None)
    if waiter is not None:
        waiter.add_done_callback(lambda _: cancel_io_tasks(ws))


def cancel_io_tasks(ws: Websocket) -> int:
    """Cancel the pending reading tasks of `ws`; returns how many. Runs on the loop when
    the connection is gone: what they would deliver has no reader and no socket left."""
    cancelled = 0
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        if frame is not None and getattr(coro, "__qualname__", "") in IO_TASKS and frame.f_locals.get("self") is ws:
            cancelled += task.cancel()
    return cancelled

"""Headquarters' HTTP API (docs/FEDERATION.md, "The HQ API"). Handlers run on the event loop;
database reads go to the reader thread, with a timeout.

Every route under `/api/` needs `Authorization: Bearer <hq.api_token>` (401 otherwise);
`GET /health` is public. Errors have the store API's shape `{"error": {"code", "message",
"fields"?}}`; bad input is a 4xx that changes nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

import orjson
from sanic import HTTPResponse, Request, Sanic
from sanic import exceptions as sanic_exceptions
from sanic.config import Config as SanicConfig
from sanic.response import json as json_response

from robodine_edge import __version__
from robodine_edge.errors import BadRequest, TimedOut, Unauthorized, Unavailable, ValidationFailed
from robodine_edge.hq import queries
from robodine_edge.hq.cfg import cfg_kind, check_cfg
from robodine_edge.hq.consumer import Consumer
from robodine_edge.hq.messages import ID, TYPE
from robodine_edge.hq.storage import Worker
from robodine_edge.http.errors import ApiErrorHandler, error_body
from robodine_edge.protocol.mqtt import ALL_STORES, cfg_topic

T = TypeVar("T")
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
READ_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class HqContext:
    """What the handlers use; built by the composition root (`hq.service`)."""

    chain: str
    api_token: str
    reader: Worker
    consumer: Consumer
    started: float


@dataclass
class HqAppContext:
    """`app.ctx` of headquarters' app, typed (`Sanic[Config, HqAppContext]`)."""

    hq: HqContext


HqApp = Sanic[SanicConfig, HqAppContext]
HqRequest = Request[HqApp, SimpleNamespace]


class HqErrorHandler(ApiErrorHandler):
    """The store API's error handler; a path no route serves names the HQ routes instead of /docs."""

    def _answer(self, request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, sanic_exceptions.NotFound):
            message = f"no route for {request.path[:200]}; HQ serves /health and /api/chain/..."
            return HTTPResponse(error_body("not_found", message), status=404, content_type="application/json")
        return super()._answer(request, exception)


def create_hq_app(ctx: HqContext, name: str = "robodine_hq") -> HqApp:
    """The app; starts nothing (the composition root adds the listeners)."""
    app: HqApp = Sanic(name, ctx=HqAppContext(ctx), dumps=orjson.dumps, loads=orjson.loads, configure_logging=False)
    app.config.update(
        REQUEST_MAX_SIZE=MAX_BODY_BYTES,
        GRACEFUL_SHUTDOWN_TIMEOUT=4.0,
        FALLBACK_ERROR_FORMAT="json",
        NOISY_EXCEPTIONS=False,
        ACCESS_LOG=False,
        MOTD=False,
    )
    app.error_handler = HqErrorHandler()
    app.register_middleware(_authenticate, "request")
    # Given, so Sanic does not read and parse each handler's source to guess it at start-up.
    app.add_route(health, "/health", methods=["GET"], error_format="json")
    app.add_route(stores, "/api/chain/stores", methods=["GET"], error_format="json")
    app.add_route(events, "/api/chain/events", methods=["GET"], error_format="json")
    app.add_route(robots, "/api/chain/robots", methods=["GET"], error_format="json")
    app.add_route(put_cfg, "/api/chain/cfg/<kind>", methods=["PUT"], error_format="json")
    return app


async def _authenticate(request: HqRequest) -> None:
    if not request.path.startswith("/api/"):
        return
    ctx: HqContext = request.app.ctx.hq
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), ctx.api_token.encode()):
        raise Unauthorized("a valid bearer token is needed: Authorization: Bearer <hq.api_token>")


async def _read(request: HqRequest, fn: Callable[..., T], *args: Any) -> T:
    ctx: HqContext = request.app.ctx.hq
    try:
        return await asyncio.wait_for(asyncio.wrap_future(ctx.reader.submit(fn, *args)), READ_TIMEOUT_S)
    except TimeoutError:
        raise TimedOut("the chain database did not answer in time") from None
    except Exception as exc:
        raise Unavailable(f"the chain database is not answering: {type(exc).__name__}") from None


async def health(request: HqRequest) -> HTTPResponse:
    ctx: HqContext = request.app.ctx.hq
    try:
        db = "ok" if await _read(request, queries.database_ok) else "error"
    except (TimedOut, Unavailable):
        db = "error"
    broker = "connected" if ctx.consumer.connected else "disconnected"
    return json_response(
        {
            "status": "ok" if db == "ok" and broker == "connected" else "degraded",
            "version": __version__,
            "uptime_s": round(time.monotonic() - ctx.started, 1),
            "db": db,
            "broker": broker,
            "chain": ctx.chain,
        }
    )


async def stores(request: HqRequest) -> HTTPResponse:
    return json_response(await _read(request, queries.chain_stores, queries.local_midnight()))


async def events(request: HqRequest) -> HTTPResponse:
    args = request.args
    problems: dict[str, str] = {}
    store = _store_arg(args.get("store"), problems)
    type_ = args.get("type") or None
    if type_ is not None and not TYPE.fullmatch(type_):
        problems["type"] = "not an event type"
    after_seq = _int_arg(args.get("after_seq"), "after_seq", 0, 0, 2**63 - 1, problems)
    limit = _int_arg(args.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT, problems)
    if problems:
        raise ValidationFailed("invalid query", fields=problems)
    return json_response(await _read(request, queries.chain_events, store, type_, after_seq, limit))


async def robots(request: HqRequest) -> HTTPResponse:
    problems: dict[str, str] = {}
    store = _store_arg(request.args.get("store"), problems)
    if problems:
        raise ValidationFailed("invalid query", fields=problems)
    return json_response(await _read(request, queries.chain_robots, store))


async def put_cfg(request: HqRequest, kind: str) -> HTTPResponse:
    """Publish the desired `cfg` retained: to one store with `?store=`, else to every store."""
    ctx: HqContext = request.app.ctx.hq
    chosen = cfg_kind(kind)
    problems: dict[str, str] = {}
    store = _store_arg(request.args.get("store"), problems)
    if problems:
        raise ValidationFailed("invalid query", fields=problems)
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        raise BadRequest("the body must be JSON: the cfg object, with its version") from None
    cfg = check_cfg(chosen, body)
    topic = cfg_topic(ctx.chain, store or ALL_STORES, chosen.value)
    await ctx.consumer.publish_retained(topic, cfg)
    return json_response({"topic": topic, "store": store, "kind": chosen.value, "retained": True, "cfg": cfg})


def _store_arg(value: str | None, problems: dict[str, str]) -> str | None:
    if value is None or value == "":
        return None
    if not ID.fullmatch(value) or value in (".", ".."):
        problems["store"] = "a store id: 1 to 64 of letters, digits, '.', '_' and '-'"
    elif value == ALL_STORES:
        problems["store"] = "'all' is the chain-wide topic, not a store: leave store out to reach every store"
    return value


def _int_arg(value: str | None, name: str, default: int, low: int, high: int, problems: dict[str, str]) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        problems[name] = "must be an integer"
        return default
    if not low <= number <= high:
        problems[name] = f"must be {low} to {high}"
    return number

"""The `Idempotency-Key` protocol of creating requests (docs/API.md), on the event loop.

A creating POST that carries the header runs at most once per (caller, route, key) and
is replayed otherwise. `routing.install` hands each such request here with `run`, which
calls the route's handler and renders its answer; the key's record is rows of
`data/idempotency.py`, decided in the writer's units.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

import orjson
from pydantic import BaseModel
from sanic import HTTPResponse

from robodine_edge.data import idempotency
from robodine_edge.data.idempotency import IdempotencyClaim
from robodine_edge.errors import BadRequest, IdempotencyConflict, RobodineError
from robodine_edge.http.context import ApiContext
from robodine_edge.http.errors import error_response, status_of
from robodine_edge.threads import bridge

Run = Callable[[IdempotencyClaim], Awaitable[HTTPResponse]]
"""The request's own work: its handler called (given the claim) and its answer rendered."""


async def once(
    api: ApiContext, scope: str, key: str, body: BaseModel | None, run: Run, *, handler_remembers: bool
) -> HTTPResponse:
    """Event loop: run a creating request at most once per (`scope`, `key`); replay it otherwise.

    `scope` names the caller and the route. The first outcome is the answer for the key: a
    success, or a refusal the service decided (out of stock, a conflict, a missing table:
    a 4xx but 401, 408 and 429). A retry after a refusal gets that refusal again, so a
    tablet that showed "out of stock" never finds the order placed behind its back after
    a restock. What decided nothing (a 5xx: the service busy, restarting or slow) is not
    remembered: the retry runs. The key is decided in the writer's units: a request that
    timed out but commits later wins over its retry, which then gets that answer — an
    order's key commits with the order (`handler_remembers`: the handler stores the record
    in its own creating unit), and is checked again in the retry's own unit."""
    if not 0 < len(key) <= 255 or not key.isprintable():
        raise BadRequest("Idempotency-Key must be 1 to 255 printable characters")
    claim = IdempotencyClaim(scope, key, body_hash(body))
    tag = (claim.scope, claim.key)
    while tag in api.inflight:  # the same key in flight: its outcome is ours
        await asyncio.shield(api.inflight[tag])
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    api.inflight[tag] = done  # no await between the check above and this claim
    try:
        replay = await bridge.wait(api.reads.submit(idempotency.find, claim.scope, claim.key), api.ask_timeout_s)
        if replay is not None:
            return replayed(replay, claim)
        try:
            response = await run(claim)
            if handler_remembers:
                return response
        except idempotency.KeyDecided as decided:  # an earlier request with this key committed meanwhile
            return replayed(decided.replay, claim)
        except RobodineError as exc:
            if not decided_status(status_of(exc)):
                raise
            response = error_response(exc)
        if 200 <= response.status < 300 or decided_status(response.status):
            answer = bytes(response.body or b"")
            write = api.writer.write(idempotency.remember, claim, response.status, answer)
            stored = await bridge.wait(write, api.ask_timeout_s)
            if (stored.body_hash, stored.status, stored.response) != (claim.body_hash, response.status, answer):
                return replayed(stored, claim)  # the key had an answer already: that one stands
        return response
    finally:
        del api.inflight[tag]
        done.set_result(None)


def replayed(replay: idempotency.Replay, claim: IdempotencyClaim) -> HTTPResponse:
    """The key's stored answer, for a request with the same body (409 for another)."""
    if replay.body_hash != claim.body_hash:
        raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
    headers = {"Idempotent-Replayed": "true"}
    return HTTPResponse(replay.response, status=replay.status, content_type="application/json", headers=headers)


def decided_status(status: int) -> bool:
    """A refusal that is the request's outcome, not a moment's trouble."""
    return 400 <= status < 500 and status not in (401, 408, 429)


def body_hash(body: BaseModel | None) -> str:
    """The request body's fingerprint: the same body, whatever its key order, hashes alike."""
    canonical = orjson.dumps(body.model_dump(mode="json") if body is not None else None, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()

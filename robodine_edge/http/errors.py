"""The one place errors become HTTP: status codes and the error body (docs/API.md).

`{"error": {"code": "<snake_case>", "message": "<human text>", "fields": {...}?}}` for
every failure, Sanic's own (404, 405, 413, ...) included; unexpected exceptions are
logged with their traceback and answered 500 without one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import orjson
import pykka
from sanic import HTTPResponse, Request
from sanic import exceptions as sanic_exceptions
from sanic.handlers import ErrorHandler

from robodine_edge import errors

if TYPE_CHECKING:
    from robodine_edge.http.context import ApiRequest

log = logging.getLogger(__name__)

STATUS: dict[type[errors.RobodineError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.ValidationFailed: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
    errors.TimedOut: 504,
}

SANIC_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
    416: "range_not_satisfiable",
    503: "unavailable",
}


CLIENT_GONE = 499


def status_of(error: errors.RobodineError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> bytes:
    error: dict[str, object] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return orjson.dumps({"error": error})


def error_response(error: errors.RobodineError) -> HTTPResponse:
    return _response(error, error_body(error.code, error.message, error.fields))


def oauth2_error_response(error: errors.RobodineError) -> HTTPResponse:
    """An error of the OAuth2 password form login (the token endpoint Swagger UI's
    "Authorize" posts to): the API's error body, plus OAuth2's `error_description`
    (RFC 6749 section 5.2) with the message. Swagger UI shows a failed authorization as
    its status text plus `, error: <error>` and `, description: <error_description>`:
    with the API's body alone it showed only "[object Object]"; the description puts
    the reason in words beside it, while every client still finds `error.code`."""
    body = orjson.loads(error_body(error.code, error.message, error.fields))
    description = error.message
    if error.fields:
        description += " (" + "; ".join(f"{field}: {why}" for field, why in error.fields.items()) + ")"
    body["error_description"] = description
    return _response(error, orjson.dumps(body))


def _response(error: errors.RobodineError, body: bytes) -> HTTPResponse:
    response = HTTPResponse(body, status=status_of(error), content_type="application/json")
    if isinstance(error, errors.RateLimited):
        response.headers["Retry-After"] = str(error.retry_after_s)
    if isinstance(error, errors.Unauthorized):
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def not_found(request: Request) -> str:
    """The message of a 404 for a path no route serves: the path (Sanic's own message
    loses `/`, "Requested URL  not found") and where the routes are listed."""
    path = request.path if len(request.path) <= MAX_PATH_SHOWN else request.path[:MAX_PATH_SHOWN] + "..."
    return f"no route for {path}; the API is described at /docs"


MAX_PATH_SHOWN = 200
ROUTABLE_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """The methods the request's path is served with, for a 405's `Allow` (RFC 9110
    15.5.6 requires it). Asked of Sanic's router, method by method, so it is exactly
    what the path answers (OPTIONS included: every API path answers CORS preflight).
    Sanic fills `Allow` itself only for paths without parameters; this runs only on
    a 405, and the router caches its answers."""
    host = request.headers.getone("host", None)
    allowed = []
    for method in ROUTABLE_METHODS:
        try:
            request.app.router.get(request.path, method, host)
        except (sanic_exceptions.NotFound, sanic_exceptions.MethodNotAllowed):
            continue
        allowed.append(method)
    return allowed


class ApiErrorHandler(ErrorHandler):
    """Sanic's error handler, answering in the one error shape. Runs on the loop.

    `finish` (CORS, gzip, metrics) is applied here because routes' wrappers apply it
    only to the responses they return: a browser must be able to read a 401 too.
    """

    def __init__(self, finish: Callable[[ApiRequest, HTTPResponse], HTTPResponse] | None = None) -> None:
        super().__init__()
        self._finish = finish

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        response = self._answer(request, exception)
        if self._finish is not None and request is not None:
            self._finish(cast("ApiRequest", request), response)  # Sanic's signature; the app makes only these
        return response

    def _answer(self, request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, errors.RobodineError):
            return error_response(exception)
        if isinstance(exception, pykka.ActorDeadError):
            # An actor asked outside `bridge.wait` (building its proxy, or a call on it)
            # that is not running: restarting, or given up by its supervisor. As the
            # bridge answers a dead actor: the service cannot do this now.
            return error_response(errors.Unavailable(f"a part of the service is not running: {exception}"))
        if isinstance(exception, sanic_exceptions.RequestCancelled):
            # The client went away mid-request: nobody reads this answer, nothing broke.
            # Counted as nginx's 499 ("client closed request"), not as a server error.
            log.debug("client gone during %s %s", request.method, request.path)
            return HTTPResponse(status=CLIENT_GONE)
        if isinstance(exception, sanic_exceptions.NotFound):
            return HTTPResponse(
                error_body("not_found", not_found(request)), status=404, content_type="application/json"
            )
        if isinstance(exception, sanic_exceptions.SanicException):
            status = exception.status_code or 500
            if status < 500:
                code = SANIC_CODES.get(status, "bad_request")
                message = str(exception) or code.replace("_", " ")
                headers = dict(exception.headers)
                if status == 405:
                    headers["Allow"] = ", ".join(allowed_methods(request))
                return HTTPResponse(
                    error_body(code, message), status=status, content_type="application/json", headers=headers
                )
        log.error(
            "unhandled error in %s %s",
            request.method,
            request.path,
            exc_info=(type(exception), exception, exception.__traceback__),
        )
        return HTTPResponse(
            error_body("internal_error", "internal error; see the service log"),
            status=500,
            content_type="application/json",
        )

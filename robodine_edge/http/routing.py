"""The route table: every API route declared once, with who may call it and its shapes.

`ApiRouter.route` records a `RouteSpec`; `install` turns each spec into a Sanic route
whose wrapper authenticates (401/403), validates the query and body (400/422), calls
the handler and renders its result as JSON. The same specs feed /openapi.json and the
tests' authorization matrix, so documentation and enforcement cannot drift apart.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import re
from collections.abc import Awaitable, Callable, Collection, Coroutine, Hashable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, TypeVar, get_args, get_origin

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from sanic import HTTPResponse

from robodine_edge.actors.base import ActorFuture
from robodine_edge.actors.storage.list_pages import ListViews, PageKey
from robodine_edge.data.idempotency import IdempotencyClaim
from robodine_edge.errors import BadRequest, NotFound, RobodineError, ValidationFailed
from robodine_edge.http.context import ApiRequest, App
from robodine_edge.http.errors import oauth2_error_response
from robodine_edge.http.idempotency import once
from robodine_edge.http.schemas import MAX_ID
from robodine_edge.threads import bridge
from robodine_edge.types import Principal, Role

Handler = Callable[..., Awaitable[Any]]
"""A route's own function: its result is the JSON body (or a response it made)."""
Endpoint = Callable[..., Coroutine[Any, Any, HTTPResponse | None]]
"""What Sanic runs for a route: the handler wrapped by `install`."""
T = TypeVar("T")
PATH_PARAM = re.compile(r"<(\w+)(?::(\w+))?>")
JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class RouteSpec:
    """One API route. `roles=None` means public (no token needed)."""

    method: str
    path: str
    handler: Handler
    tag: str
    summary: str
    roles: frozenset[Role] | None
    body: type[BaseModel] | None = None
    form: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    query_token: bool = False
    content_type: str = "application/json"
    in_schema: bool = True

    @property
    def name(self) -> str:
        """Unique per method and path: Sanic's route name and the OpenAPI operationId."""
        slug = re.sub(r"[^A-Za-z0-9]+", "_", PATH_PARAM.sub(r"\1", self.path)).strip("_")
        return f"{self.method.lower()}_{slug or 'root'}"

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return [(name, kind or "str") for name, kind in PATH_PARAM.findall(self.path)]

    @cached_property
    def response_adapter(self) -> TypeAdapter[Any] | None:
        return TypeAdapter(self.response) if self.response is not None else None

    @property
    def creates(self) -> bool:
        """A creating POST: it honours `Idempotency-Key` (docs/API.md)."""
        return self.method == "POST" and self.status in (201, 202) and self.roles is not None

    @cached_property
    def takes_claim(self) -> bool:
        """The handler stores the idempotency record itself, in its creating transaction."""
        return "idempotency" in inspect.signature(self.handler).parameters


@dataclass
class ApiRouter:
    """Collects the routes of one module (one router per resource, docs/API.md)."""

    tag: str
    prefix: str = ""
    specs: list[RouteSpec] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        roles: Collection[Role] | None,
        summary: str,
        **options: Any,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.specs.append(
                RouteSpec(
                    method=method,
                    path=self.prefix + path,
                    handler=handler,
                    tag=self.tag,
                    summary=summary,
                    roles=frozenset(roles) if roles is not None else None,
                    **options,
                )
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


ERROR_FORMAT = "json"
"""Given to every route Sanic registers: without it, Sanic reads each handler's source
and parses it to guess the format of its own error pages (`_determine_error_format`),
a quarter of the service's start-up CPU (0.25 s of ~1 s here) for an answer that is
always the app's fallback, JSON: every error body is the app's own (`http.errors`)."""


def install(app: App, specs: list[RouteSpec]) -> None:
    """Register every spec with Sanic. Runs once, at app creation. Path parameters are
    percent-decoded (`/api/robots/arm%2D1` names `arm-1`), as any HTTP client expects."""
    for spec in specs:
        app.add_route(
            _endpoint(spec), spec.path, methods=[spec.method], name=spec.name, unquote=True, error_format=ERROR_FORMAT
        )


def _endpoint(spec: RouteSpec) -> Endpoint:
    serve = _serve(spec)
    if spec.form is None:
        return serve

    async def oauth2_endpoint(request: ApiRequest, **params: Any) -> HTTPResponse | None:
        """A route that also takes the OAuth2 password form (the login) answers that form's
        errors in OAuth2's shape (`http.errors.oauth2_error_response`); JSON as any route."""
        if _media_type(request) != FORM_TYPE:
            return await serve(request, **params)
        try:
            return await serve(request, **params)
        except RobodineError as exc:
            return request.app.ctx.finish(request, oauth2_error_response(exc))

    oauth2_endpoint.__name__ = serve.__name__
    oauth2_endpoint.__doc__ = serve.__doc__
    return oauth2_endpoint


def _serve(spec: RouteSpec) -> Endpoint:
    ids = [name for name, kind in spec.path_params if kind == "int"]

    async def endpoint(request: ApiRequest, **params: Any) -> HTTPResponse | None:
        """Runs on the event loop for every request to this route."""
        for name in ids:  # Sanic's <x:int> is any integer; a row id is 1..2**63-1 (SQLite)
            if not 0 < params[name] <= MAX_ID:
                raise NotFound(f"no {name.removesuffix('_id')} {params[name]}")
        api = request.app.ctx.api
        if spec.roles is not None:
            params["user"] = api.gate.require(request, spec.roles, allow_query_token=spec.query_token)
        if spec.query is not None:
            params["query"] = parse_query(request, spec.query)
        if spec.body is not None:
            params["body"] = parse_body(request, spec.body, spec.form)
        elif request.body:  # the usual request has none: no parse on the hot path
            refuse_malformed(request.body)
        key = request.headers.get("idempotency-key") if spec.creates else None
        if key is not None:
            user: Principal = params["user"]

            async def run(claim: IdempotencyClaim) -> HTTPResponse:
                given = {"idempotency": claim} if spec.takes_claim else {}
                return _render(request, spec, await spec.handler(request, **params, **given))

            scope = f"{user.user_id}:{spec.method} {request.path}"
            response = await once(api, scope, key, params.get("body"), run, handler_remembers=spec.takes_claim)
        else:
            result = await spec.handler(request, **params)
            if request.responded:  # the handler streamed its answer itself (a live feed, a file)
                if request.stream is not None:
                    request.app.ctx.finish.count(request, request.stream.response)
                return None
            response = _render(request, spec, result)
        return request.app.ctx.finish(request, response)

    endpoint.__name__ = spec.handler.__name__
    endpoint.__doc__ = spec.handler.__doc__
    return endpoint


def _render(request: ApiRequest, spec: RouteSpec, result: Any) -> HTTPResponse:
    validate = request.app.ctx.api.validate_responses and spec.response_adapter is not None
    if isinstance(result, HTTPResponse):
        if validate and result.status == 200 and result.content_type == "application/json":
            spec.response_adapter.validate_json(bytes(result.body or b""))  # type: ignore[union-attr]
        return result
    if spec.status == 204:
        return HTTPResponse(status=204)
    if validate:
        spec.response_adapter.validate_python(result)  # type: ignore[union-attr]
    return HTTPResponse(orjson.dumps(result), status=spec.status, content_type="application/json")


def json_response(data: Any, status: int = 200) -> HTTPResponse:
    return HTTPResponse(orjson.dumps(data), status=status, content_type="application/json")


def parse_query(request: ApiRequest, model: type[BaseModel]) -> Any:
    if not request.query_string:  # the usual case: one frozen instance of the defaults
        defaults = _defaults(model)
        if defaults is not None:
            return defaults
    raw: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        values = request.args.getlist(info.alias or name)
        if values:
            raw[name] = values if _is_list(info.annotation) else values[0]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed("invalid query parameters", fields=error_fields(exc)) from None


@cache
def _defaults(model: type[BaseModel]) -> Any:
    """`model` with no parameters given (query models are frozen, so one is shared),
    or None if it has required parameters."""
    try:
        return model.model_validate({})
    except ValidationError:
        return None


def parse_body(request: ApiRequest, model: type[BaseModel], form: type[BaseModel] | None = None) -> Any:
    """Event loop: the body as `model` (or the OAuth2 `form`). No body and no JSON
    content type counts as `{}`; malformed JSON, an empty body declared JSON and any
    other content type are 400; JSON that is not an object, or wrong fields, 422."""
    media_type = _media_type(request)
    if form is not None and media_type == FORM_TYPE:
        data: Any = {key: values[0] for key, values in (request.get_form(keep_blank_values=True) or {}).items()}
        return _validate(form, data)
    json_type = media_type in JSON_TYPES or media_type.endswith("+json")
    if not request.body:
        if json_type:  # declared JSON, sent nothing: an empty body is not JSON (`{}` is)
            raise BadRequest("malformed JSON: the body is empty (send {} for no fields)")
        data = {}
    elif json_type:
        try:
            data = orjson.loads(request.body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"malformed JSON: {exc}") from None
    else:
        accepted = "application/json" + (f" or {FORM_TYPE}" if form else "")
        raise BadRequest(f"expected Content-Type: {accepted}")
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", fields={"body": "expected a JSON object"})
    return _validate(model, whole_numbers(data))


def whole_numbers(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (just parsed, changed in place) with each JSON number that has no fraction
    (`4.0`, `5e1`) as the integer it is, where orjson read a float. JSON has one number
    type and JSON Schema's `integer` is any number without a fraction, so /openapi.json
    cannot say "written without `.0`": a client that sends `"seats": 4.0` (Python's json
    for a float that holds 4) means 4. Strict models still refuse `"4"`, `true` and
    `4.5`; float fields take the int as it was. Past SQLite's integer range a number
    stays a float (an integer field refuses it). A loop, not recursion: orjson reads
    nesting 1024 deep."""
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(value, float):
                if value.is_integer() and -MAX_ID - 1 <= value <= MAX_ID:
                    node[key] = int(value)
            elif isinstance(value, dict | list):
                stack.append(value)
    return data


def _media_type(request: ApiRequest) -> str:
    return (request.content_type or "").split(";", 1)[0].strip().lower()


def refuse_malformed(body: bytes) -> None:
    """Event loop: a route without a body model ignores a body that is JSON (of any
    content type, so a client that always sends `{}` keeps working) and refuses one
    that is not with 400, before the handler runs: a client that sent `{bad` meant
    something, and acting as if it had sent nothing would hide its mistake."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc} (this route takes no body)") from None


def _validate(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("invalid request body", fields=error_fields(exc)) from None


def error_fields(exc: ValidationError) -> dict[str, str]:
    """pydantic errors as {"field.path": "what is wrong"} for the error body."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"]) or "body"
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        fields.setdefault(key, message)
    return fields


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_is_list(arg) for arg in get_args(annotation) if arg is not type(None))


async def answer(request: ApiRequest, future: ActorFuture[T] | concurrent.futures.Future[T]) -> T:
    """Await an actor reply or pool future with the service's ask timeout (504 past it)."""
    return await bridge.wait(future, request.app.ctx.api.ask_timeout_s)


async def listed(
    request: ApiRequest, views: ListViews, key: PageKey[Hashable], build: Callable[[], ActorFuture[bytes]]
) -> HTTPResponse:
    """A list read answered from its owner's encoded view (`actors.storage.list_pages`); only when
    the view is missing (first read after a change) is the owner asked to `build` it."""
    body = views.get(key)
    if body is None:
        body = await answer(request, build())
    return HTTPResponse(body, content_type="application/json")

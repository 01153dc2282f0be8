"""`/api/robots` (registration, tokens, commands) and the live views `/api/albabot`,
`/api/cookbot` and `/api/poses`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    GetJsonSchemaHandler,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError
from sanic import HTTPResponse

from robodine_edge.actors.robots.fleet import FleetProxy
from robodine_edge.actors.storage.list_pages import PageKey
from robodine_edge.clock import parse_iso
from robodine_edge.data import robots as data
from robodine_edge.errors import ValidationFailed
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer, error_fields, listed
from robodine_edge.http.schemas import (
    Identifier,
    IsoTime,
    PageQuery,
    PatchModel,
    RequestModel,
    ResponseModel,
    RowId,
    ShortName,
)
from robodine_edge.types import ADMIN_ONLY, STAFF_ROLES, Principal

router = ApiRouter(tag="robots", prefix="/api/robots")
albabot = ApiRouter(tag="albabot", prefix="/api/albabot")
cookbot = ApiRouter(tag="cookbot", prefix="/api/cookbot")
poses = ApiRouter(tag="poses", prefix="/api/poses")

RobotId = Identifier
Kind = Literal["albabot", "cookbot"]
PORT = (
    r"(0{0,4}[1-9]|0{0,3}[1-9]\d|0{0,2}[1-9]\d{2}|0?[1-9]\d{3}"  # 1-9999, zeros in front up to five digits
    r"|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])"  # 10000-65535
)
"""1 to 65535 in at most five digits, as a regex: what `_port` accepts, for /openapi.json."""

HOST_PORT = rf"^[A-Za-z0-9.-]{{1,253}}:{PORT}$"


def _port(value: str) -> str:
    if not 0 < int(value.rsplit(":", 1)[1]) < 65536:
        raise PydanticCustomError("port", "port must be 1-65535")
    return value


HostPort = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9.-]{1,253}:\d{1,5}$", json_schema_extra={"pattern": HOST_PORT}),
    AfterValidator(_port),
]
"""`host:port` (a registration and a change alike): the message names the port when only it is wrong."""
Metres = Annotated[float, Field(ge=-10_000, le=10_000)]
CommandName = Literal["cook", "serve", "clean", "go_to", "dock", "stop", "resume", "emergency_stop"]


class RobotCreate(RequestModel):
    robot_id: RobotId
    kind: Kind
    name: ShortName | None = None
    legacy: bool = False
    legacy_cook_addr: HostPort | None = None


class RobotPatch(PatchModel):
    NULLABLE = frozenset({"name", "legacy_cook_addr"})

    name: ShortName | None = None
    legacy: bool | None = None
    legacy_cook_addr: HostPort | None = None


class FloorPoint(RequestModel):
    x: Metres
    y: Metres


class CookArgs(RequestModel):
    order_id: RowId
    items: Annotated[list[dict[str, Any]], Field(max_length=50)]


class ServeArgs(RequestModel):
    order_id: RowId
    table_id: RowId
    table: FloorPoint


class CleanArgs(RequestModel):
    table_id: RowId


class NoArgs(RequestModel):
    pass


ARGS: dict[str, type[BaseModel]] = {
    "cook": CookArgs,
    "serve": ServeArgs,
    "clean": CleanArgs,
    "go_to": FloorPoint,
    "dock": NoArgs,
    "stop": NoArgs,
    "resume": NoArgs,
    "emergency_stop": NoArgs,
}


def _command(name: str, args: type[BaseModel]) -> type[BaseModel]:
    """One command as /openapi.json states it: its name and the `args` it takes."""
    fields: dict[str, Any] = {
        "name": (Literal[name], ...),
        "args": (args, NoArgs() if args is NoArgs else ...),
        "force": (bool, False),
    }
    title = "".join(part.title() for part in name.split("_"))
    return create_model(f"{title}Command", __base__=RequestModel, **fields)


COMMANDS: TypeAdapter[Any] = TypeAdapter(
    Annotated[Union[tuple(_command(name, args) for name, args in ARGS.items())], Field(discriminator="name")]  # type: ignore[arg-type]  # noqa: UP007  (a union built at run time)
)
"""The command bodies, one per name, for the document only: `send_command` checks `args`
against `ARGS` itself, so an error names `args.<field>`."""


class CommandBody(RequestModel):
    """A command and its arguments; the document shows each command's own `args`."""

    name: CommandName
    args: dict[str, Any] = {}
    force: bool = False
    """Take the robot off its current task (the task goes back to the queue)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(COMMANDS.core_schema)


class PoseOut(ResponseModel):
    x: float
    y: float
    z: float
    roll: float
    pitch: float
    yaw: float


class RobotOut(ResponseModel):
    robot_id: str
    kind: Kind
    name: str | None
    online: bool
    state: str
    battery: float | None
    pose: PoseOut | None
    current_task: int | None
    last_seen: IsoTime | None
    legacy: bool
    legacy_cook_addr: str | None


class RobotWithToken(RobotOut):
    token: str


class CommandOut(ResponseModel):
    id: int
    robot_id: str
    name: str
    args: dict[str, Any]
    status: str
    reason: str | None
    task_id: int | None
    created_at: IsoTime
    sent_at: IsoTime | None
    acked_at: IsoTime | None
    finished_at: IsoTime | None


class RobotPage(PageQuery):
    """Robot lists are newest registered first; `before` is the robot id that ended
    the previous page (an unknown one is 422)."""

    before: RobotId | None = None  # type: ignore[assignment]


class KindQuery(RobotPage):
    kind: Kind | None = None


class HistoryQuery(PageQuery):
    since: datetime | None = None

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: Any) -> Any:
        return parse_iso(value) if isinstance(value, str) else value


class PoseQuery(HistoryQuery):
    robot_id: RobotId | None = None
    frame: Annotated[str, Field(min_length=1, max_length=32)] | None = None


class PoseSample(PoseOut):
    id: int
    robot_id: str | None
    ingredient_id: int | None
    frame: str
    recorded_at: IsoTime


class Joints(ResponseModel):
    robot_id: str
    joints: list[float] | None
    pose: PoseOut | None
    state: str
    last_seen: IsoTime | None


def _fleet(request: ApiRequest) -> FleetProxy:
    return request.app.ctx.api.fleet.proxy


async def _samples_written(request: ApiRequest) -> None:
    """Event loop: the recorder writes the pose samples it holds (every robot's, up to
    `telemetry.write_every_s` of them) before a history is read, so the history has every
    sample taken until now. Nothing pending, nothing written."""
    await answer(request, request.app.ctx.api.recorder.proxy.flush())


# -- /api/robots --------------------------------------------------------------------------


@router.get(
    "", roles=STAFF_ROLES, summary="List robots with their live state", query=KindQuery, response=list[RobotOut]
)
async def list_robots(request: ApiRequest, user: Principal, query: KindQuery) -> HTTPResponse:
    """Newest registered first, `limit` and `before=<robot_id>`."""
    return await _robot_list(request, query.kind, query)


async def _robot_list(request: ApiRequest, kind: str | None, query: RobotPage) -> HTTPResponse:
    """Event loop: served from the fleet's encoded view (any page of a list kept
    whole); the fleet is asked only for the first read after a change."""
    page = PageKey("robots", kind, query.limit, query.before)
    views = request.app.ctx.api.views.robots
    return await listed(request, views, page, lambda: _fleet(request).robots_body(page))


@router.post(
    "",
    roles=ADMIN_ONLY,
    summary="Register a robot",
    body=RobotCreate,
    response=RobotWithToken,
    status=201,
    errors=(409,),
)
async def register(request: ApiRequest, user: Principal, body: RobotCreate) -> dict[str, Any]:
    """The token is shown once, here; it stays valid for every reconnect until rotated."""
    robot, token = await answer(
        request, _fleet(request).register(body.robot_id, body.kind, body.name, body.legacy, body.legacy_cook_addr)
    )
    return {**robot, "token": token}


@router.get("/<robot_id:str>", roles=STAFF_ROLES, summary="Get a robot", response=RobotOut)
async def get_robot(request: ApiRequest, user: Principal, robot_id: str) -> dict[str, Any]:
    return await answer(request, _fleet(request).get(robot_id))


@router.patch("/<robot_id:str>", roles=ADMIN_ONLY, summary="Change a robot", body=RobotPatch, response=RobotOut)
async def update_robot(request: ApiRequest, user: Principal, robot_id: str, body: RobotPatch) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return await answer(request, _fleet(request).update(robot_id, changes))


@router.delete("/<robot_id:str>", roles=ADMIN_ONLY, summary="Remove a robot", status=204)
async def delete_robot(request: ApiRequest, user: Principal, robot_id: str) -> None:
    """Its link is closed and its commands are forgotten."""
    await answer(request, _fleet(request).delete(robot_id))


@router.post("/<robot_id:str>/token", roles=ADMIN_ONLY, summary="Rotate a robot's token", response=RobotWithToken)
async def rotate_token(request: ApiRequest, user: Principal, robot_id: str) -> dict[str, Any]:
    """The old token stops working at once and the robot's link is closed."""
    robot, token = await answer(request, _fleet(request).rotate_token(robot_id))
    return {**robot, "token": token}


@router.post(
    "/<robot_id:str>/commands",
    roles=STAFF_ROLES,
    summary="Send a command",
    body=CommandBody,
    response=CommandOut,
    status=202,
    errors=(409,),
)
async def send_command(request: ApiRequest, user: Principal, robot_id: str, body: CommandBody) -> dict[str, Any]:
    """Recorded at once and sent when the robot is connected (again until it acks). A robot
    on a task refuses cook/serve/clean/go_to/dock with 409 unless `force` is true (its task
    goes back to the queue); stop, resume and emergency_stop always go through."""
    try:
        args = ARGS[body.name].model_validate(body.args).model_dump(mode="json")
    except ValidationError as exc:
        raise ValidationFailed(
            "invalid command arguments", fields={f"args.{k}": v for k, v in error_fields(exc).items()}
        ) from None
    dispatcher = request.app.ctx.api.dispatcher.proxy
    return await answer(request, dispatcher.direct_command(robot_id, body.name, args, user.user_id, body.force))


@router.post(
    "/dock",
    roles=STAFF_ROLES,
    summary="Send every free serving robot to dock",
    response=list[CommandOut],
    status=202,
)
async def dock_all(request: ApiRequest, user: Principal) -> list[dict[str, Any]]:
    """One `dock` command per albabot online and free of work (one on a task keeps it),
    written to every link at once; the answer lists them (empty when none was free)."""
    return await answer(request, request.app.ctx.api.dispatcher.proxy.dock_all(user.user_id))


@router.get(
    "/<robot_id:str>/commands",
    roles=STAFF_ROLES,
    summary="A robot's commands",
    query=PageQuery,
    response=list[CommandOut],
)
async def list_commands(request: ApiRequest, user: Principal, robot_id: str, query: PageQuery) -> list[dict[str, Any]]:
    reads = request.app.ctx.api.reads
    return await answer(request, reads.submit(data.list_commands, robot_id, query.limit, query.before))


# -- kind-specific live views ------------------------------------------------------------------


@albabot.get("", roles=STAFF_ROLES, summary="Serving robots", query=RobotPage, response=list[RobotOut])
async def list_albabots(request: ApiRequest, user: Principal, query: RobotPage) -> HTTPResponse:
    """Newest registered first, `limit` and `before=<robot_id>`."""
    return await _robot_list(request, "albabot", query)


@albabot.get("/<robot_id:str>", roles=STAFF_ROLES, summary="A serving robot", response=RobotOut)
async def get_albabot(request: ApiRequest, user: Principal, robot_id: str) -> dict[str, Any]:
    return await answer(request, _fleet(request).get(robot_id, "albabot"))


@albabot.get(
    "/<robot_id:str>/trail", roles=STAFF_ROLES, summary="Recent poses", query=HistoryQuery, response=list[PoseSample]
)
async def trail(request: ApiRequest, user: Principal, robot_id: str, query: HistoryQuery) -> list[dict[str, Any]]:
    """Floor-plan poses (`world` frame), newest first, sampled once a second."""
    await answer(request, _fleet(request).get(robot_id, "albabot"))
    await _samples_written(request)
    reads = request.app.ctx.api.reads
    return await answer(
        request, reads.submit(data.list_poses, robot_id, "world", query.since, query.limit, query.before)
    )


@cookbot.get("", roles=STAFF_ROLES, summary="Cooking robots", query=RobotPage, response=list[RobotOut])
async def list_cookbots(request: ApiRequest, user: Principal, query: RobotPage) -> HTTPResponse:
    """Newest registered first, `limit` and `before=<robot_id>`."""
    return await _robot_list(request, "cookbot", query)


@cookbot.get("/<robot_id:str>", roles=STAFF_ROLES, summary="A cooking robot", response=RobotOut)
async def get_cookbot(request: ApiRequest, user: Principal, robot_id: str) -> dict[str, Any]:
    return await answer(request, _fleet(request).get(robot_id, "cookbot"))


@cookbot.get("/<robot_id:str>/joints", roles=STAFF_ROLES, summary="Joint angles now", response=Joints)
async def joints(request: ApiRequest, user: Principal, robot_id: str) -> dict[str, Any]:
    """The arm's joint angles (radians) and end-effector pose, as last reported."""
    robot = await answer(request, _fleet(request).get(robot_id, "cookbot"))
    snapshot = await answer(request, request.app.ctx.api.robots.get(robot_id).proxy.snapshot())
    return {
        "robot_id": robot_id,
        "joints": list(snapshot.joints) if snapshot.joints is not None else None,
        "pose": robot["pose"],
        "state": robot["state"],
        "last_seen": robot["last_seen"],
    }


@poses.get("", roles=STAFF_ROLES, summary="Pose history", query=PoseQuery, response=list[PoseSample])
async def list_poses(request: ApiRequest, user: Principal, query: PoseQuery) -> list[dict[str, Any]]:
    await _samples_written(request)
    reads = request.app.ctx.api.reads
    return await answer(
        request, reads.submit(data.list_poses, query.robot_id, query.frame, query.since, query.limit, query.before)
    )

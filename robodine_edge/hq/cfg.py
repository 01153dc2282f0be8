"""The desired state HQ pushes to stores (`PUT /api/chain/cfg/<kind>`), checked before it
is published: a retained `cfg` a store cannot apply would sit on the broker for every
store that connects. Pure; any thread.

`menu`: `{"version", "items": [{"name", "price"?, "available"?}]}`, items matched by name
on each store; `settings`: `{"version", ...}` with any of the settings a store's
`PATCH /api/settings` takes, checked by that same model.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from robodine_edge.errors import NotFound, ValidationFailed
from robodine_edge.http.routes.settings import SettingsPatch
from robodine_edge.http.schemas import ShortName

MAX_VERSION = 2**63 - 1
Version = Annotated[int, Field(ge=0, le=MAX_VERSION)]


class CfgKind(StrEnum):
    MENU = "menu"
    SETTINGS = "settings"


class MenuItemCfg(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    name: ShortName
    price: Annotated[float, Field(ge=0, le=100_000, strict=False)] | None = None
    available: bool | None = None

    @field_validator("price")
    @classmethod
    def _cents(cls, value: float | None) -> float | None:
        """As a store's menu takes it: money in cents, so at most two decimals."""
        if value is not None and abs(round(value * 100) - value * 100) > 1e-6:
            raise ValueError("a price has at most two decimals")
        return value


class MenuCfg(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    version: Version
    items: Annotated[list[MenuItemCfg], Field(max_length=10_000)]


def cfg_kind(text: str) -> CfgKind:
    try:
        return CfgKind(text)
    except ValueError:
        raise NotFound(f"no cfg kind {text!r}: the kinds are menu and settings") from None


def check_cfg(kind: CfgKind, body: Any) -> dict[str, Any]:
    """The body to publish, as given, once it is valid; else `ValidationFailed` naming
    each field that is wrong."""
    if not isinstance(body, dict):
        raise ValidationFailed("the cfg must be a JSON object", fields={"body": "expected an object"})
    version = body.get("version")
    if "version" not in body:
        raise ValidationFailed("the cfg needs a version", fields={"version": "required: an integer"})
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= MAX_VERSION:
        raise ValidationFailed("invalid cfg version", fields={"version": "must be an integer from 0"})
    try:
        if kind is CfgKind.MENU:
            MenuCfg.model_validate(body)
        else:
            SettingsPatch.model_validate({key: value for key, value in body.items() if key != "version"})
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in exc.errors(include_url=False)}
        raise ValidationFailed(f"invalid {kind.value} cfg", fields=fields) from None
    return body

"""`/api/settings`: store name, opening hours, alert levels, robot thresholds, the kitchen's age colours."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from robodine_edge.data.settings import (
    OPENING_HOURS_SCHEMA,
    AgeSeconds,
    CleaningSeconds,
    DiningSeconds,
    Percent,
    ReportSeconds,
    StoreSettings,
    StuckSeconds,
    TaskAttempts,
    load_settings,
    update_settings,
)
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import Metres, Name, PatchModel, RequestModel
from robodine_edge.types import ADMIN_ONLY, STAFF_ROLES, EventLevel, Principal

router = ApiRouter(tag="settings", prefix="/api/settings")


class KitchenPass(RequestModel):
    """Where the albabots pick dishes up, in floor metres. Strict like every body (the
    stored `Point` is lax because it also reads settings back from the database)."""

    x: Metres
    y: Metres


class SettingsPatch(PatchModel):
    """Any subset of the settings; the result must be valid as a whole: `battery_resume`
    above `battery_low` and `kitchen_late_s` above `kitchen_warning_s`, counting the
    values already set. Each field has the ranges of `StoreSettings`, so /openapi.json
    states them; the opening hours are checked by `StoreSettings` (one message per day)."""

    store_name: Name | None = None
    opening_hours: Annotated[dict[str, list[str]], WithJsonSchema(OPENING_HOURS_SCHEMA)] | None = None
    alert_levels: list[Annotated[EventLevel, Field(strict=False)]] | None = None
    battery_low: Percent | None = None
    battery_resume: Percent | None = None
    average_dining_s: DiningSeconds | None = None
    cleaning_s: CleaningSeconds | None = None
    kitchen_pass: KitchenPass | None = None
    stuck_timeout_s: StuckSeconds | None = None
    max_task_attempts: TaskAttempts | None = None
    party_waiting_long_s: ReportSeconds | None = None
    party_overstay_s: ReportSeconds | None = None
    kitchen_warning_s: AgeSeconds | None = None
    kitchen_late_s: AgeSeconds | None = None


@router.get("", roles=STAFF_ROLES, summary="Store settings", response=StoreSettings)
async def get_settings(request: ApiRequest, user: Principal) -> dict[str, Any]:
    settings = await answer(request, request.app.ctx.api.reads.submit(load_settings))
    return settings.model_dump(mode="json")


@router.patch("", roles=ADMIN_ONLY, summary="Change store settings", body=SettingsPatch, response=StoreSettings)
async def patch_settings(request: ApiRequest, user: Principal, body: SettingsPatch) -> dict[str, Any]:
    api = request.app.ctx.api
    changes = body.model_dump(mode="json", exclude_unset=True)
    updated = await answer(request, api.writer.write(update_settings, changes))
    settings = StoreSettings.model_validate(updated)
    api.floor.proxy.settings_changed.defer(settings)
    api.dispatcher.proxy.settings_changed.defer(settings)
    return updated

"""Store settings (`/api/settings`): defaults here, changes stored as rows of `setting`."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from robodine_edge.clock import utcnow
from robodine_edge.data.models import Setting
from robodine_edge.errors import ValidationFailed
from robodine_edge.types import EventLevel

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
Percent = Annotated[float, Field(ge=0, le=100)]
AgeSeconds = Annotated[int, Field(ge=1, le=24 * 3600)]
DiningSeconds = Annotated[int, Field(ge=60, le=6 * 3600)]
CleaningSeconds = Annotated[int, Field(ge=0, le=3600)]
StuckSeconds = Annotated[int, Field(ge=10, le=3600)]
TaskAttempts = Annotated[int, Field(ge=1, le=20)]
ReportSeconds = Annotated[int, Field(ge=0, le=7 * 86400)]
OPENING_HOURS_SCHEMA = {
    "type": "object",
    "properties": {day: {"type": "array", "items": {"type": "string", "pattern": HOURS.pattern}} for day in WEEKDAYS},
    "additionalProperties": False,
    "description": "days → 'HH:MM-HH:MM' ranges, each ending after it starts",
}
"""`opening_hours` as /openapi.json states it (but that a range ends after it starts)."""


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    x: float
    y: float


class StoreSettings(BaseModel):
    """Everything staff may tune while the store runs. Validated as a whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store_name: Annotated[str, Field(min_length=1, max_length=128)] = "Robodine"
    opening_hours: dict[str, list[str]] = Field(default_factory=lambda: {day: ["11:00-22:00"] for day in WEEKDAYS})
    alert_levels: list[EventLevel] = Field(default_factory=lambda: [EventLevel.WARNING, EventLevel.ERROR])
    battery_low: Percent = 20.0
    battery_resume: Percent = 80.0
    average_dining_s: DiningSeconds = 2700
    cleaning_s: CleaningSeconds = 300
    kitchen_pass: Point = Point(x=0.0, y=0.0)
    stuck_timeout_s: StuckSeconds = 120
    max_task_attempts: TaskAttempts = 3
    party_waiting_long_s: ReportSeconds = 3600
    """A party still waiting this long after it arrived is reported to staff once; 0: never."""
    party_overstay_s: ReportSeconds = 10800
    """A party still seated this long after it sat down is reported to staff once; 0: never."""
    kitchen_warning_s: AgeSeconds = 300
    """An order's age (seconds since placed) from which the orders board shows it as warning."""
    kitchen_late_s: AgeSeconds = 480
    """... and as late; above `kitchen_warning_s`."""

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, ranges in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown day {day!r}; use {', '.join(WEEKDAYS)}")
            for span in ranges:
                if not HOURS.match(span) or span[:5] >= span[6:]:
                    raise ValueError(f"{day}: {span!r} is not an HH:MM-HH:MM range")
        return value

    @field_validator("kitchen_late_s")
    @classmethod
    def _late_after_warning(cls, value: int, info: ValidationInfo) -> int:
        """Named on this field (not the whole body), so a screen can say which one to fix."""
        warning = info.data.get("kitchen_warning_s")
        if warning is not None and value <= warning:
            raise ValueError(f"must be above kitchen_warning_s ({warning})")
        return value

    @model_validator(mode="after")
    def _battery(self) -> StoreSettings:
        if self.battery_resume <= self.battery_low:
            raise ValueError("battery_resume must be above battery_low")
        return self


def load_settings() -> StoreSettings:
    """Defaults overlaid with the stored values (any thread with a connection)."""
    stored = {row.key: row.value for row in Setting.select() if row.key in StoreSettings.model_fields}
    try:
        return StoreSettings.model_validate(stored)
    except ValidationError:
        return StoreSettings()


def update_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `changes` if the result is valid as a whole; writer thread."""
    current = load_settings().model_dump(mode="json")
    try:
        merged = StoreSettings.model_validate({**current, **changes})
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in exc.errors(include_url=False)}
        raise ValidationFailed("invalid settings", fields=fields) from None
    now = utcnow()
    for key, value in merged.model_dump(mode="json").items():
        if key in changes:
            Setting.insert(key=key, value=value, updated_at=now).on_conflict_replace().execute()
    return merged.model_dump(mode="json")

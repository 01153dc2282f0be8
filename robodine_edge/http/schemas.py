"""Request and response shapes shared by many routes (pydantic models).

Request bodies are strict (a string is not an int, unknown fields are refused);
enumerations are still accepted as their string values. Response models document the
API (they feed /openapi.json); handlers return plain dicts, checked against these
models when `http.validate_responses` is on (the test suite turns it on).

Ids are `RowId`, so an id past SQLite's integer range is a 422, not a driver overflow.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"}, examples=["2026-11-26T09:00:00.123Z"])]
Name = Annotated[str, Field(min_length=1, max_length=128)]

MAX_ID = 2**63 - 1  # SQLite's INTEGER: a larger id names no row (and would overflow the driver)
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Metres = Annotated[float, Field(ge=-10_000, le=10_000)]


class RequestModel(BaseModel):
    """Base of JSON request bodies."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class QueryModel(BaseModel):
    """Base of query strings: values arrive as text, so they are converted (lax)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageQuery(QueryModel):
    """Newest first; `before=<id>` continues after the last row of the previous page."""

    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    before: RowId | None = None


class ErrorDetail(ResponseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorBody(ResponseModel):
    error: ErrorDetail


def not_strict(annotation: Any) -> Any:
    """Accept the JSON string form of an enum in a strict model."""
    return Annotated[annotation, Field(strict=False)]

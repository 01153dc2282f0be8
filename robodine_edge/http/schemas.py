"""Request and response shapes shared by many routes (pydantic models).

Request bodies are strict (a string is not an int, unknown fields are refused);
enumerations are still accepted as their string values. Response models document the
API (they feed /openapi.json); handlers return plain dicts, checked against these
models when `http.validate_responses` is on (the test suite turns it on).

Every name a client sends is `OneLine` and every free text `FreeText` (see `Name`,
`ShortName`, `Note`), so no route stores a NUL or a terminal escape that a kitchen
screen, a log line or an export would trip over; ids are `RowId`, so an id past
SQLite's integer range is a 422, not a driver overflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from robodine_edge.protocol.fields import ID_PATTERN

IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"}, examples=["2026-11-26T09:00:00.123Z"])]

MAX_ID = 2**63 - 1  # SQLite's INTEGER: a larger id names no row (and would overflow the driver)
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _addressable(value: str) -> str:
    if value in (".", ".."):
        raise PydanticCustomError("dot_segment", "may not be . or .. (no URL can name it: clients drop dot segments)")
    return value


Identifier = Annotated[
    str, Field(pattern=ID_PATTERN, json_schema_extra={"not": {"enum": [".", ".."]}}), AfterValidator(_addressable)
]
"""A robot or camera id: 1 to 64 of `[A-Za-z0-9._-]`, but not `.` or `..`, which
that pattern allows and no HTTP client can put in a path (RFC 3986 removes them); the
document says both."""
Metres = Annotated[float, Field(ge=-10_000, le=10_000)]

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc: C0, DEL, C1
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # Cc but tab, newline, CR
BLANK = "".join(f"\\u{code:04x}" for code in range(0xA0, 0x3001) if chr(code).isspace())
"""What `str.strip()` removes beyond ASCII space and the control characters, as regex escapes."""
ONE_LINE_PATTERN = rf"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f{BLANK}][^\x00-\x1f\x7f-\x9f]*$"
"""`_one_line` as a JSON Schema pattern (ECMA-262, as Python reads it too): no control
character, and one character that is not a space."""
FREE_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def _one_line(value: str) -> str:
    if CONTROL.search(value):
        raise PydanticCustomError("control_character", "must not contain control characters")
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


def _free_text(value: str) -> str:
    if TEXT_CONTROL.search(value):
        raise PydanticCustomError("control_character", "must not contain control characters but tab and newline")
    return value


@dataclass(frozen=True)
class TextRule:
    """A check on text that /openapi.json states too: the validator runs after the
    length `Field`, and the document gets its `pattern`, so a client generated from the
    document refuses what the service would (a NUL in a name) before sending it."""

    check: Callable[[str], str]
    pattern: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        if "pattern" in json_schema:  # a second rule on the same text: both hold
            return {"allOf": [json_schema, {"pattern": self.pattern}]}
        return {**json_schema, "pattern": self.pattern}


OneLine = TextRule(_one_line, ONE_LINE_PATTERN)
"""A name or label: no control characters, not only spaces. Put it after the length
`Field` in the `Annotated`, so a length error keeps pydantic's usual wording."""
FreeText = TextRule(_free_text, FREE_TEXT_PATTERN)
"""Free text (a note, a message): tabs and line breaks, no other control characters."""
Name = Annotated[str, Field(min_length=1, max_length=128), OneLine]
"""A name of up to 128 characters (a camera, a store)."""
ShortName = Annotated[str, Field(min_length=1, max_length=64), OneLine]
"""The name of a table, party, kiosk, dish or inventory item."""
Note = Annotated[str, Field(max_length=200), FreeText]
"""A note on an order line, a message to staff, the reason for an emergency."""


class RequestModel(BaseModel):
    """Base of JSON request bodies."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _patch_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """/openapi.json: a field that refuses `null` does not offer it (the fields are typed
    `X | None` only so that they may be left out)."""
    nullable: frozenset[str] = getattr(model, "NULLABLE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf")
        if name in nullable or not options:
            continue
        kept = [option for option in options if option != {"type": "null"}]
        del prop["anyOf"]
        if len(kept) == 1:
            prop.update(kept[0])
        else:
            prop["anyOf"] = kept
        if prop.get("default", 0) is None:
            del prop["default"]


def only_when(field: str, value: str, other: str) -> dict[str, Any]:
    """JSON Schema: `other` is required (not null) where `field` is `value`, and absent or
    null elsewhere (a kiosk user's table, a robot camera's robot). For a model's
    `json_schema_extra`; the service checks the same where it stores the row."""
    return {
        "if": {"properties": {field: {"const": value}}, "required": [field]},
        "then": {"required": [other], "properties": {other: {"not": {"type": "null"}}}},
        "else": {"properties": {other: {"type": "null"}}},
    }


class PatchModel(RequestModel):
    """Base of PATCH bodies: a field left out keeps its value; `null` clears a field only
    where clearing means something (`NULLABLE`), and is a 422 for any other, rather than
    being taken as "no change" or reaching the database as a NULL it refuses."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, json_schema_extra=_patch_schema)
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise PydanticCustomError("not_nullable", "may not be null (leave the field out to keep its value)")
        return value


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


class OAuth2ErrorBody(ErrorBody):
    """A failed login: the error body, and when the login was the OAuth2 password form,
    RFC 6749's `error_description` (the message in words), which Swagger UI's Authorize
    shows. One schema for both, as an operation's answers cannot depend on the request's
    content type: `error_description` is optional (never null)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)
    error_description: str | None = None


def not_strict(annotation: Any) -> Any:
    """Accept the JSON string form of an enum in a strict model."""
    return Annotated[annotation, Field(strict=False)]

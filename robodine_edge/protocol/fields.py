"""Checked field access for decoded JSON objects, shared by the codecs.

Each helper returns the value or raises `FieldError` naming the field; codecs turn it
into their own error. Hand-written rather than a schema library because telemetry
decodes tens of thousands of datagrams a second.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
"""Robot, camera and store ids: the one definition (pydantic fields use it too)."""
ID = re.compile(ID_PATTERN)
"""Use `fullmatch`: with `match`, `$` would let a trailing newline through."""


class FieldError(ValueError):
    """A field is missing or has the wrong type or value."""


def text(obj: Mapping[str, Any], key: str, *, max_len: int = 256, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise FieldError(f"{key} must be a string of 1 to {max_len} characters")
    return value


def word(obj: Mapping[str, Any], key: str, *, max_len: int = 32, required: bool = True) -> str | None:
    """A lower-case ASCII word (`_` allowed), such as a robot's state: it is shown and
    compared as is, so free text ("DANCE PARTY") is refused wherever it arrives."""
    value = text(obj, key, max_len=max_len, required=required)
    if value is None:
        return None
    if not (value.isascii() and value.replace("_", "").isalpha() and value.islower()):
        raise FieldError(f"{key} must be a lower-case word")
    return value


def identifier(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise FieldError(f"{key} must be 1-64 characters of [A-Za-z0-9._-]")
    return value


def integer(obj: Mapping[str, Any], key: str, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise FieldError(f"{key} must be an integer from {minimum} to {maximum}")
    return value


def number(
    obj: Mapping[str, Any], key: str, *, default: float | None = None, lo: float = -1e9, hi: float = 1e9
) -> float:
    value = obj.get(key, default)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{key} must be a number")
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise FieldError(f"{key} must be a finite number from {lo:g} to {hi:g}")
    return value


def optional_number(obj: Mapping[str, Any], key: str, *, lo: float = -1e9, hi: float = 1e9) -> float | None:
    return None if obj.get(key) is None else number(obj, key, lo=lo, hi=hi)


def choice(obj: Mapping[str, Any], key: str, allowed: frozenset[str]) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or value not in allowed:
        raise FieldError(f"{key} must be one of {', '.join(sorted(allowed))}")
    return value


def mapping(obj: Mapping[str, Any], key: str, *, required: bool = True) -> Mapping[str, Any] | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise FieldError(f"{key} must be an object")
    return value

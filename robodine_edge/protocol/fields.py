"""Checked field access for decoded JSON objects, shared by the codecs.

Each helper returns the value or raises `FieldError` naming the field; codecs turn it
into their own error. Hand-written rather than a schema library because telemetry
decodes tens of thousands of datagrams a second.
"""

from __future__ import annotations

import math
import re
import unicodedata
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


def free_text(obj: Mapping[str, Any], key: str, *, keep: int, required: bool = True) -> str | None:
    """Text people read (an event's message, a nack's reason, a robot's name): it must be a
    non-empty string, but a longer one than the service keeps is shortened, not refused
    (SPEC section 4) -- a robot's chatty log line must not cost it the frame."""
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise FieldError(f"{key} must be a non-empty string")
    return shorten(value, keep)


def shorten(value: str, keep: int) -> str:
    """`value` cut to at most `keep` characters (code points) on a character boundary.

    A decoded JSON string holds whole code points (orjson refuses lone surrogates), so a
    cut never splits a UTF-8 sequence or a surrogate pair. It also moves back past
    combining marks, variation selectors, skin tones and zero-width joiners, so an accented
    letter or a joined emoji is dropped whole rather than kept without its marks."""
    if len(value) <= keep:
        return value
    end = keep
    while end > 0 and (_clings(value[end]) or value[end - 1] == ZWJ):
        end -= 1
    return value[:end] if end > 0 else value[:keep]


ZWJ = "\u200d"
SKIN_TONES = ("\U0001f3fb", "\U0001f3ff")


def _clings(char: str) -> bool:
    """Whether `char` is part of the character before it rather than one of its own."""
    return (
        char == ZWJ
        or unicodedata.category(char) in ("Mn", "Mc", "Me")  # marks; variation selectors are Mn
        or SKIN_TONES[0] <= char <= SKIN_TONES[1]
    )


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

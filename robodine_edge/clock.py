"""Time as the API speaks it: naive UTC datetimes inside, ISO-8601 with `Z` outside."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    """The current UTC time as a naive datetime (how the database stores times)."""
    return datetime.now(UTC).replace(tzinfo=None)


@overload
def to_iso(moment: datetime) -> str: ...
@overload
def to_iso(moment: None) -> None: ...
@overload
def to_iso(moment: datetime | None) -> str | None: ...
def to_iso(moment: datetime | None) -> str | None:
    """Format a naive-UTC or aware datetime as `2026-11-26T09:00:00.123Z` (ms precision)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 time (with `Z`, an offset, or none = UTC) to naive UTC.

    Raises ValueError for anything else.
    """
    moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def to_unix(moment: datetime) -> float:
    """Seconds since the epoch of a naive-UTC datetime (naive `.timestamp()` would assume local time)."""
    return moment.replace(tzinfo=UTC).timestamp()

"""Small shared vocabulary: ids, enumerations and the caller identity.

Values that cross threads are frozen dataclasses; states and roles are `StrEnum`s
whose values are the lower-case strings of the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, NewType

UserId = NewType("UserId", int)
TableId = NewType("TableId", int)

SERVICE_STOPPING = "service stopping"
"""Why links and sockets close at shutdown: robots dropping for it are not trouble."""


class Role(StrEnum):
    """What a user may do: `admin` everything, `staff` the floor, `kiosk` one table."""

    ADMIN = "admin"
    STAFF = "staff"
    KIOSK = "kiosk"


class EventLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


ALL_ROLES: frozenset[Role] = frozenset(Role)
STAFF_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.STAFF})
ADMIN_ONLY: frozenset[Role] = frozenset({Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request, decoded from its bearer token.

    `table_id` is set for kiosk users: the one table their tablet serves.
    """

    user_id: UserId
    username: str
    role: Role
    token_id: str
    expires_at: float
    table_id: TableId | None = None


Topic = Literal[
    "robots",
    "tables",
    "customers",
    "orders",
    "inventory",
    "menu",
    "events",
    "notifications",
    "commands",
    "video_streams",
    "telemetry",
    "emergencies",
]
"""The live hub's topics (docs/API.md, "WebSocket"; what each carries: `http/topics.py`).
Another name is a type error, and `Hub.publish` refuses it at run time (`UnknownTopic`)."""
Change = Literal["upsert", "delete"]
"""What a published message says of its entity: changed (or new), or gone."""

Publish = Callable[[Topic, Change, Any], None]
"""Hand a committed change to the live hub: (topic, change, the entity as JSON).

Thread-safe and never blocks; actors call it after the change is in SQLite."""

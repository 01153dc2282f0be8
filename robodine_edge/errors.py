"""Error types of robodine-edge.

Every expected failure is a subclass of `RobodineError` carrying a stable snake_case
`code` (the one the HTTP API puts in its error body). The mapping to HTTP status codes
lives in exactly one place, `robodine_edge.http.errors`; nothing else in the package
knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping


class RobodineError(Exception):
    """Base of all expected errors: a code for machines and a message for people."""

    code: str = "error"

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] | None = dict(fields) if fields else None


class BadRequest(RobodineError):
    """The request could not be read at all (malformed JSON, wrong content type)."""

    code = "bad_request"


class Unauthorized(RobodineError):
    """No valid credentials: missing, malformed, expired or revoked token, wrong password."""

    code = "unauthorized"


class Forbidden(RobodineError):
    """Valid credentials, but the caller's role or binding does not allow this."""

    code = "forbidden"


class NotFound(RobodineError):
    """The addressed resource does not exist."""

    code = "not_found"


class MethodNotAllowed(RobodineError):
    """The path exists but not with this HTTP method."""

    code = "method_not_allowed"


class Conflict(RobodineError):
    """The request contradicts the current state (duplicate name, resource in use)."""

    code = "conflict"


class OutOfStock(Conflict):
    """Not enough inventory to reserve for an order."""

    code = "out_of_stock"


class InvalidTransition(Conflict):
    """A state change that the lifecycle does not allow from the current state."""

    code = "invalid_transition"


class IdempotencyConflict(Conflict):
    """An Idempotency-Key reused with a different request body."""

    code = "idempotency_conflict"


class TooLarge(RobodineError):
    """A request body or frame over its size limit."""

    code = "too_large"


class ValidationFailed(RobodineError):
    """Well-formed input with wrong values; `fields` names each offending field."""

    code = "validation_error"


class RateLimited(RobodineError):
    """Too many attempts from one client; `retry_after_s` says when to try again."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(RobodineError):
    """A part of the service needed for this request is not running (a dead actor)."""

    code = "unavailable"


class TimedOut(RobodineError):
    """A part of the service did not answer in time."""

    code = "timeout"


class AuthFailed(RobodineError):
    """A robot's hello was refused (unknown robot, wrong kind or token)."""

    code = "auth_failed"


class ConfigError(RobodineError):
    """The configuration is invalid; `problems` holds one line per problem."""

    code = "config_error"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class DataDirBusy(RobodineError):
    """Another robodine-edge process holds the data directory."""

    code = "data_dir_busy"


class CannotListen(RobodineError):
    """A listener could not bind its address (the port in use, an address not here)."""

    code = "cannot_listen"


class NoMdnsName(RobodineError):
    """Every mDNS instance name this edge may take (`robodine-edge <id>` to `-99`) is held
    by another responder on the link."""

    code = "mdns_name_unavailable"


class BackupError(RobodineError):
    """A backup or restore could not be made (bad file, wrong schema, I/O error)."""

    code = "backup_error"

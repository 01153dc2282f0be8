"""Logging set-up: one line per event on stderr (journald), `key=value` or JSON.

Messages use %-style arguments; structured extras passed as `extra={"fields": {...}}`
become extra keys. Tracebacks are folded into one line so journald keeps an event
together.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from robodine_edge.clock import to_iso

ALREADY_RECORDED = {"recorded": True}
"""`extra=` for a warning or error whose event the code writes itself (an actor restart,
a camera error): `system_log` leaves it out, so the event log does not say it twice."""
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
QUIET_LOGGERS = ("sanic.access", "sanic.server", "sanic.root", "pykka", "zeroconf", "peewee")


def _event(record: logging.LogRecord) -> dict[str, Any]:
    event: dict[str, Any] = {
        "ts": to_iso(datetime.fromtimestamp(record.created, UTC)),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    fields = getattr(record, "fields", None)
    if isinstance(fields, dict):
        event.update(fields)
    if record.exc_info:
        event["exc"] = logging.Formatter().formatException(record.exc_info)
    return event


class KeyValueFormatter(logging.Formatter):
    """`ts=... level=info logger=robodine_edge.server msg="ready" http_port=8000`."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_kv_value(value)}" for key, value in _event(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, same keys as the key=value format."""

    def format(self, record: logging.LogRecord) -> str:
        return orjson.dumps(_event(record), default=str).decode()


def _kv_value(value: Any) -> str:
    text = str(value)
    if text and not any(ch in text for ch in ' "=\n\t\\'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def setup_logging(level: str = "info", fmt: str = "kv") -> None:
    """Route every logger (ours, Sanic's, pykka's) to one stderr handler.

    Runs once, on the main thread, before anything else starts.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(LEVELS[level], logging.WARNING))
        logging.getLogger(name).propagate = True

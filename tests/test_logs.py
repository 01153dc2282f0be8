"""Log lines: one per event, key=value or JSON, tracebacks folded in."""

from __future__ import annotations

import logging

import orjson

from robodine_edge.process.logs import JsonFormatter, KeyValueFormatter


def record(
    message: str, *args: object, exc: BaseException | None = None, fields: dict | None = None
) -> logging.LogRecord:
    rec = logging.LogRecord(
        "robodine_edge.x",
        logging.WARNING,
        __file__,
        1,
        message,
        args,
        (type(exc), exc, exc.__traceback__) if exc else None,
    )
    if fields:
        rec.fields = fields
    return rec


def raised() -> ValueError:
    try:
        raise ValueError("bad\nthing")
    except ValueError as exc:
        return exc


def test_key_value_line_quotes_and_escapes() -> None:
    line = KeyValueFormatter().format(record('said "%s"', "hi there", fields={"port": 8000}))
    assert "\n" not in line
    assert 'level=warning logger=robodine_edge.x msg="said \\"hi there\\""' in line
    assert line.endswith("port=8000")


def test_traceback_stays_on_one_line() -> None:
    line = KeyValueFormatter().format(record("failed", exc=raised()))
    assert "\n" not in line and "exc=" in line and "ValueError" in line


def test_json_line_has_the_same_keys() -> None:
    event = orjson.loads(JsonFormatter().format(record("ready", fields={"http_port": 1}, exc=raised())))
    assert event["msg"] == "ready" and event["level"] == "warning" and event["http_port"] == 1
    assert event["ts"].endswith("Z") and "ValueError" in event["exc"]

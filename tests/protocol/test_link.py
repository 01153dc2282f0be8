"""The NDJSON robot link codec: framing, every message type, and hostile input."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robodine_edge.protocol.fields import shorten
from robodine_edge.protocol.link import (
    MAX_LINE,
    MESSAGE_KEPT,
    NAME_KEPT,
    REASON_KEPT,
    TOO_LONG,
    Ack,
    BadFrame,
    Hello,
    LineSplitter,
    Nack,
    Ping,
    RobotEvent,
    Status,
    TaskUpdate,
    command_frame,
    decode_frame,
    error_frame,
    welcome_frame,
)
from robodine_edge.protocol.pose import Pose


def frame(**fields: object) -> bytes:
    return orjson.dumps(fields)


def test_every_robot_frame_type() -> None:
    assert decode_frame(
        frame(type="hello", robot_id="alba-1", kind="albabot", token="t", proto=1, mac="aa:bb", caps=["serve"])
    ) == Hello("alba-1", "albabot", "t", 1, "aa:bb", None, ("serve",))
    assert decode_frame(frame(type="status", state="serving", battery=71.5, pose={"x": 1, "y": 2.5})) == Status(
        "serving", 71.5, Pose(1.0, 2.5)
    )
    assert decode_frame(frame(type="status", state="idle")) == Status("idle")
    assert decode_frame(frame(type="event", code="bump", level="warning", message="hit a chair")) == RobotEvent(
        "bump", "warning", "hit a chair"
    )
    assert decode_frame(frame(type="ack", id=7)) == Ack(7)
    assert decode_frame(frame(type="nack", id=7, reason="busy")) == Nack(7, "busy")
    assert decode_frame(frame(type="task_update", task_id=7, state="done", detail="took 5 ms")) == TaskUpdate(
        7, "done", "took 5 ms"
    )
    assert decode_frame(frame(type="task_update", task_id=7, state="done", detail={"ms": 5})) == TaskUpdate(
        7, "done", '{"ms":5}'
    )
    assert decode_frame(b'{"type":"ping"}') == Ping()


def test_long_free_text_is_shortened_not_refused() -> None:
    """SPEC section 4: within 64 KiB, a long message, reason, detail or name costs no frame."""
    long = "é" * 30_000  # 60 KB of UTF-8, within the line limit
    event = decode_frame(frame(type="event", code="log", level="info", message=long))
    assert event == RobotEvent("log", "info", long[:MESSAGE_KEPT])
    assert decode_frame(frame(type="nack", id=3, reason=long)) == Nack(3, long[:REASON_KEPT])
    failed = decode_frame(frame(type="task_update", task_id=3, state="failed", detail=long))
    assert failed == TaskUpdate(3, "failed", long[:REASON_KEPT])
    as_json = decode_frame(frame(type="task_update", task_id=3, state="failed", detail={"log": long}))
    assert isinstance(as_json, TaskUpdate) and as_json.detail == ('{"log":"' + long)[:REASON_KEPT]
    hello = decode_frame(frame(type="hello", robot_id="a", kind="albabot", token="t", proto=1, name=long))
    assert isinstance(hello, Hello) and hello.name == long[:NAME_KEPT]


@pytest.mark.parametrize(
    "line",
    [
        frame(type="event", code="c" * 65, level="info", message="m"),  # a code is no free text
        frame(type="event", code="c", level="info", message=""),
        frame(type="event", code="c", level="info", message=7),
        frame(type="nack", id=3, reason=["busy"]),
        frame(type="hello", robot_id="a", kind="albabot", token="t" * 513, proto=1),
        frame(type="hello", robot_id="a", kind="albabot", token="t", proto=1, mac="m" * 65),
        frame(type="hello", robot_id="a", kind="albabot", token="t", proto=1, name=5),
    ],
)
def test_ids_codes_and_types_stay_strict(line: bytes) -> None:
    with pytest.raises(BadFrame):
        decode_frame(line)


@pytest.mark.parametrize(
    ("text", "keep", "kept"),
    [
        ("hello", 5, "hello"),
        ("hello!", 5, "hello"),
        ("ab\U0001f600cd", 3, "ab\U0001f600"),  # 4 bytes of UTF-8, one character
        ("abce\u0301", 4, "abc"),  # e + combining acute: the letter goes with its accent
        ("ab\U0001f469\u200d\U0001f4bb", 3, "ab"),  # a ZWJ sequence is not split after the joiner
        ("ab\U0001f469\u200d\U0001f4bb", 4, "ab"),
        ("ab\u2764\ufe0f", 3, "ab"),  # heart + variation selector
        ("ab\U0001f44b\U0001f3fd", 3, "ab"),  # waving hand + skin tone
        ("\u0301" * 9, 4, "\u0301" * 4),  # marks with nothing to cling to: cut at the limit
    ],
)
def test_text_is_shortened_on_a_character_boundary(text: str, keep: int, kept: str) -> None:
    assert shorten(text, keep) == kept
    assert shorten(text, keep).encode() == kept.encode()  # valid UTF-8: no lone surrogate


@settings(max_examples=300)
@given(st.text(max_size=60), st.integers(1, 40))
def test_a_shortened_text_is_a_prefix_within_the_limit(text: str, keep: int) -> None:
    kept = shorten(text, keep)
    assert text.startswith(kept) and len(kept) <= keep and (kept or not text)
    kept.encode()  # whole code points: encodes as UTF-8


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "invalid JSON"),
        (b"[1, 2]", "a frame must be a JSON object"),
        (b'"hello"', "a frame must be a JSON object"),
        (b'{"type": "dance"}', "unknown frame type 'dance'"),
        (b'{"no": "type"}', "unknown frame type None"),
        (b'{"type": "hello", "robot_id": "a b", "kind": "albabot", "token": "t", "proto": 1}', "hello: robot_id"),
        (b'{"type": "hello", "robot_id": "a\\n", "kind": "albabot", "token": "t", "proto": 1}', "hello: robot_id"),
        (b'{"type": "hello", "robot_id": "a", "kind": "toaster", "token": "t", "proto": 1}', "hello: kind"),
        (b'{"type": "hello", "robot_id": "a", "kind": "albabot", "token": "", "proto": 1}', "hello: token"),
        (b'{"type": "hello", "robot_id": "a", "kind": "albabot", "token": "t", "proto": "1"}', "hello: proto"),
        (b'{"type": "status", "state": "Idle"}', "status: state"),
        (b'{"type": "status", "state": "DANCE PARTY"}', "status: state"),
        ('{"type": "status", "state": "\u00eddle"}'.encode(), "status: state"),
        (b'{"type": "status", "state": "idle", "battery": 101}', "status: battery"),
        (b'{"type": "status", "state": "idle", "pose": {"x": 1}}', "status: y"),
        (b'{"type": "status", "state": "idle", "pose": {"x": true, "y": 1}}', "status: x"),
        (b'{"type": "ack", "id": 0}', "ack: id"),
        (b'{"type": "ack", "id": 1.5}', "ack: id"),
        (b'{"type": "task_update", "task_id": 3, "state": "half"}', "task_update: state"),
        (b'{"type": "event", "code": "x", "level": "loud", "message": "m"}', "event: level"),
    ],
)
def test_bad_frames_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(BadFrame) as caught:
        decode_frame(line)
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("line", "cause"),
    [
        (b"not json", "bad_frame"),
        (b"[1]", "bad_frame"),
        (b'{"type": "ack", "id": 0}', "bad_frame"),
        (b'{"type": "dance"}', "unknown_type"),
        (b'{"type": 7}', "unknown_type"),
        (b'{"type": "ping", "pad": "' + b"x" * MAX_LINE + b'"}', "too_long"),
    ],
)
def test_bad_frames_name_their_cause_for_the_metrics(line: bytes, cause: str) -> None:
    with pytest.raises(BadFrame) as caught:
        decode_frame(line)
    assert caught.value.cause == cause


def test_the_splitter_cuts_lines_across_chunks() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b'{"type":"pi') == []
    assert splitter.feed(b'ng"}\n{"type":"ack","id":1}\r\n\n') == [b'{"type":"ping"}', b'{"type":"ack","id":1}']
    assert splitter.pending == b""


def test_an_overlong_line_is_reported_once_and_the_stream_recovers() -> None:
    splitter = LineSplitter()
    out = splitter.feed(b"x" * (MAX_LINE + 10))
    out += splitter.feed(b"y" * MAX_LINE)
    out += splitter.feed(b'still the same line\n{"type":"ping"}\n')
    assert out == [TOO_LONG, b'{"type":"ping"}']
    whole = LineSplitter().feed(b"z" * (MAX_LINE + 1) + b'\n{"type":"ping"}\n')
    assert whole == [TOO_LONG, b'{"type":"ping"}']
    assert LineSplitter().feed(b"a" * MAX_LINE + b"\n") == [b"a" * MAX_LINE]


def test_edge_frames_are_single_lines() -> None:
    for encoded in (
        welcome_frame("s1", 2.0, 8002, 5000),
        error_frame("bad_frame", "invalid JSON"),
        command_frame(3, "go_to", {"x": 1}),
    ):
        assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1
    assert orjson.loads(welcome_frame("s1", 2.0, 8002, 5000)) == {
        "type": "welcome", "session": "s1", "heartbeat_s": 2.0, "udp_port": 8002, "video_port": 5000,
    }  # fmt: skip
    assert orjson.loads(error_frame("auth_failed")) == {"type": "error", "code": "auth_failed"}
    assert orjson.loads(command_frame(3, "dock", {})) == {"type": "command", "id": 3, "name": "dock", "args": {}}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=20,
)
frame_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "status", "event", "ack", "nack", "task_update", "ping", "other"])},
    optional={
        key: json_values
        for key in (
            "robot_id",
            "kind",
            "token",
            "proto",
            "state",
            "battery",
            "pose",
            "id",
            "task_id",
            "reason",
            "code",
            "level",
            "message",
            "caps",
        )
    },
)


def _dumps(value: object) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # integers over 64 bits, NaN: not JSON anyway
        return b"{}"


@settings(max_examples=600)
@given(st.one_of(st.binary(max_size=300), frame_like.map(_dumps)))
def test_any_input_decodes_or_raises_bad_frame(line: bytes) -> None:
    try:
        decode_frame(line)
    except BadFrame as exc:
        assert exc.reason and exc.cause in {"bad_frame", "unknown_type", "too_long"}


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=200), max_size=30), st.integers(1, 300))
def test_the_splitter_never_returns_a_line_over_the_limit(chunks: list[bytes], limit: int) -> None:
    splitter = LineSplitter(max_line=limit)
    for chunk in chunks:
        for line in splitter.feed(chunk):
            assert line is TOO_LONG or (isinstance(line, bytes) and 0 < len(line) <= limit and b"\n" not in line)

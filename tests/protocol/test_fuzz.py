"""Fuzzing every frame and datagram parser: whatever arrives, each returns what it decoded
or raises its declared error — never anything else — and what it returns holds to its
limits.

Inputs are structure-aware (hypothesis): valid frames of each kind, their fields drawn
from hostile values (NaN, infinities, numbers past 64 bits, lone surrogates, invalid
UTF-8, deep nesting, lines around the 64 KiB limit), then mutated at the byte level
(bytes flipped, inserted, cut, raw JSON tokens spliced in), beside plain random bytes.
Frame assembly is fuzzed with runs of chunks (cameras, frame numbers, counts and indices
drawn close together so they collide), checking that every frame begun is accounted
for: completed, dropped and counted by reason, or still waiting.

`EXAMPLES` (1,000) inputs per parser, half that for the splitter's and the assembler's
runs of many, `derandomize`d so `make test` runs the same cases every time (about 40 s
of one core in all); `ROBODINE_FUZZ_EXAMPLES=100000` runs a longer search.
"""

from __future__ import annotations

import math
import os
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robodine_edge.net.video import FRAME_RESULTS, MAX_FRAME_BYTES, MAX_PARTIAL_FRAMES, FrameAssembler
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol import fields
from robodine_edge.protocol.legacy import (
    BadLegacyFrame,
    LegacyAlbabot,
    LegacyCookbot,
    LegacyFace,
    LegacyIngredient,
    decode_stream,
    split_objects,
    starts_legacy,
    stream_said_all,
)
from robodine_edge.protocol.link import (
    MAX_LINE,
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
    TooLong,
    decode_frame,
)
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import BadDatagram, Telemetry, decode_telemetry
from robodine_edge.protocol.video import (
    MAGIC,
    BadVideoDatagram,
    VideoChunk,
    decode_chunk,
    decode_legacy,
    encode_chunks,
)

EXAMPLES = int(os.environ.get("ROBODINE_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- hostile pieces ---------------------------------------------------------------------------

RAW_TOKENS = [
    b"NaN", b"-NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1e-400", b"-0", b"0.0e0",
    b"18446744073709551616", b"-9223372036854775809", b"9223372036854775807", b"1.7976931348623157e308",
    b'"\\ud800"', b'"\\udfff\\ud800"', b'"\xff\xfe"', b'"\xed\xa0\x80"', b'"\\u0000"', b'"\x00"',
    b"[" * 2000 + b"]" * 2000, b"{" * 1100, b'"' + b"x" * 70000 + b'"', b"null", b"true", b"[]", b"{}",
    b'"\\"', b"\\", b"\r", b"\n", b"}{", b"][",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(min_codepoint=0x80), max_size=20),  # non-ASCII: combining marks, emoji, CJK
    st.sampled_from(["", " ", "idle", "alba-1", "x" * 64, "x" * 65, "a b", "\u0301", "\U0001f916" * 40]),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2**63 - 1, 2**63, 2**64, 1e9, 1e9 + 1, -1e9 - 1, 100.0, 100.0001, 0.5]),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)


def dumps(value: Any) -> bytes:
    """JSON as a sender might write it: orjson where it can, the raw NaN/Infinity a
    careless encoder writes where it cannot."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return repr(value).replace("'", '"').replace("nan", "NaN").replace("inf", "Infinity").encode()


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """`base` with a few byte-level changes: the mutations a coverage-guided fuzzer makes."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "cut", "token", "repeat"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 8))]
        elif action == "token":
            data[at:at] = draw(st.sampled_from(RAW_TOKENS))
        elif action == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 16))] * draw(st.integers(1, 50))
    return bytes(data)


def structured(objects: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """Objects encoded, then maybe mutated; and plain random bytes."""
    encoded = objects.map(dumps)
    return st.one_of(encoded, encoded.flatmap(mutated), st.binary(max_size=300))


def objects_of(known: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts holding some of `known` (their proper values or anything) and stray keys."""
    keys = {key: st.one_of(value, json_values) for key, value in known.items()}
    return st.fixed_dictionaries({}, optional=keys).flatmap(
        lambda obj: st.dictionaries(texts, json_values, max_size=2).map(lambda extra: {**extra, **obj})
    )


pose = st.fixed_dictionaries({"x": numbers, "y": numbers}, optional={k: numbers for k in ("z", "roll", "pitch", "yaw")})


def finite_pose(value: Pose) -> bool:
    return all(math.isfinite(getattr(value, axis)) for axis in ("x", "y", "z", "roll", "pitch", "yaw"))


# -- the robot link (NDJSON over TCP and serial) -----------------------------------------------

link_frames = objects_of(
    {
        "type": st.sampled_from(["hello", "status", "event", "ack", "nack", "task_update", "ping", "pong", ""]),
        "robot_id": texts, "kind": st.sampled_from(["albabot", "cookbot", "drone"]), "token": texts,
        "proto": st.sampled_from([1, 2, "1", True, 1.0]), "mac": texts, "caps": st.lists(texts, max_size=40),
        "state": texts, "battery": numbers, "pose": pose, "code": texts, "level": texts, "message": texts,
        "id": numbers, "reason": texts, "task_id": numbers, "detail": json_values,
    }
)  # fmt: skip
FRAMES = (Hello, Status, RobotEvent, Ack, Nack, TaskUpdate, Ping)
lines = st.one_of(
    structured(link_frames),
    st.integers(MAX_LINE - 40, MAX_LINE + 40).map(
        lambda n: b'{"type":"event","code":"c","message":"' + b"m" * n + b'"}'
    ),
)


@FUZZ
@given(lines)
def test_link_frames_decode_or_raise_bad_frame(line: bytes) -> None:
    try:
        frame = decode_frame(line)
    except BadFrame as exc:
        assert exc.reason and exc.cause in {"bad_frame", "unknown_type", "too_long"}
        return
    assert isinstance(frame, FRAMES) and len(line) <= MAX_LINE
    if isinstance(frame, Hello):
        assert fields.ID.fullmatch(frame.robot_id)
    if isinstance(frame, Status):
        assert frame.pose is None or finite_pose(frame.pose)
        assert frame.battery is None or 0 <= frame.battery <= 100
    if isinstance(frame, Ack | Nack):
        assert 1 <= frame.id < 2**63
    if isinstance(frame, TaskUpdate):
        assert 1 <= frame.task_id < 2**63


long_lines = st.sampled_from([MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, 2 * MAX_LINE + 3]).map(lambda n: b"m" * n)


@settings(FUZZ, max_examples=max(EXAMPLES // 2, 1))
@given(
    st.lists(structured(link_frames) | st.binary(max_size=64) | long_lines, max_size=12),
    st.lists(st.integers(1, 70000), max_size=6),
)
def test_the_line_splitter_cuts_any_stream_into_its_lines(parts: list[bytes], cuts: list[int]) -> None:
    """However the stream is cut into reads, the lines come out the same, each within the
    limit, an over-long one reported once as `TOO_LONG`."""
    stream = b"\n".join(parts) + b"\n"
    splitter, out = LineSplitter(), []
    at = 0
    for size in [*cuts, len(stream)]:
        out.extend(splitter.feed(stream[at : at + size]))
        at += size
    expected: list[bytes | TooLong] = []
    for line in stream.split(b"\n")[:-1]:
        if len(line) > MAX_LINE:
            expected.append(TOO_LONG)
        elif line.strip():
            expected.append(line.rstrip(b"\r"))
    assert out == expected
    assert splitter.pending == b""


# -- telemetry (UDP) --------------------------------------------------------------------------

telemetry = objects_of(
    {
        "type": st.just("telemetry"), "robot_id": texts, "session": texts, "seq": numbers, "pose": pose,
        "battery": numbers, "state": texts, "joints": st.lists(numbers, max_size=40),
    }
)  # fmt: skip


@FUZZ
@given(structured(telemetry) | st.integers(1400, 70000).map(lambda n: b" " * n))
def test_telemetry_datagrams_decode_or_raise_bad_datagram(data: bytes) -> None:
    try:
        sample = decode_telemetry(data)
    except BadDatagram as exc:
        assert exc.reason in {"oversized", "invalid_json", "invalid"}
        return
    assert isinstance(sample, Telemetry) and fields.ID.fullmatch(sample.robot_id)
    assert 0 <= sample.seq < 2**63 and finite_pose(sample.pose)
    assert sample.battery is None or 0 <= sample.battery <= 100
    assert sample.joints is None or all(math.isfinite(j) for j in sample.joints)


# -- camera datagrams (UDP) and frame assembly -------------------------------------------------

camera_ids = st.sampled_from(["cam-1", "cam-2", "x" * 64, "bad id", "", "é"])
chunk_headers = st.builds(
    lambda camera, sent, frame, index, count, body: (
        MAGIC + bytes([len(camera.encode())]) + camera.encode() + sent + frame.to_bytes(4, "big")
        + index.to_bytes(2, "big") + count.to_bytes(2, "big") + body
    ),
    camera_ids,
    st.sampled_from([b"\x00" * 8, b"\x00\x00\x00\x00\x00\x00\xf8\x7f", b"\x00\x00\x00\x00\x00\x00\xf0\x7f"])
    | st.binary(min_size=8, max_size=8),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**16 - 1),
    st.binary(max_size=64),
)  # fmt: skip
video = st.one_of(chunk_headers, chunk_headers.flatmap(mutated), st.binary(max_size=300), st.just(b"\x00" * 65508))


@FUZZ
@given(video)
def test_camera_datagrams_decode_or_raise_bad_video_datagram(data: bytes) -> None:
    try:
        chunk = decode_chunk(data)
    except BadVideoDatagram as exc:
        assert exc.reason in {"oversized", "malformed", "bad_camera_id", "bad_chunk"}
    else:
        assert fields.ID.fullmatch(chunk.camera_id) and math.isfinite(chunk.sent_at)
        assert 0 <= chunk.index < chunk.count and chunk.data
    try:
        sent_at, jpeg = decode_legacy(data)
    except BadVideoDatagram as exc:
        assert exc.reason == "malformed"
    else:
        assert math.isfinite(sent_at) and jpeg.startswith(b"\xff\xd8")


JPEG = b"\xff\xd8" + bytes(range(256)) * 3 + b"\xff\xd9"


class Big(bytes):
    """A chunk's data large enough to pass `MAX_FRAME_BYTES` with another; shown by its size."""

    def __repr__(self) -> str:
        return f"Big({len(self)} bytes)"


BIG = Big(b"x" * (MAX_FRAME_BYTES // 2 + 1))
chunk_runs = st.lists(
    st.one_of(
        st.builds(
            VideoChunk,
            st.sampled_from(["cam-1", "cam-2"]),
            st.just(1.0),
            st.integers(0, 8) | st.integers(2000, 2003),
            st.integers(0, 3),
            st.integers(1, 4),
            st.binary(min_size=1, max_size=8) | st.just(JPEG[:20]) | st.just(BIG),
        ).filter(lambda c: c.index < c.count),
        st.builds(  # whole frames, split as a camera splits them, some chunks left out
            lambda camera, number, size, keep: [
                chunk
                for n, chunk in enumerate(decode_chunk(d) for d in encode_chunks(camera, 1.0, number, JPEG, size))
                if keep is None or n != keep
            ],
            st.sampled_from(["cam-1", "cam-2"]),
            st.integers(0, 8) | st.integers(2000, 2003),
            st.integers(200, 900),
            st.none() | st.integers(0, 3),
        ),
    ),
    max_size=40,
)


@settings(FUZZ, max_examples=max(EXAMPLES // 2, 1), suppress_health_check=list(HealthCheck))
@given(chunk_runs)
def test_frame_assembly_accounts_for_every_frame_it_begins(run: list[Any]) -> None:
    """Each frame handed on is exactly its chunks in order and starts a JPEG; a camera
    never holds more than `MAX_PARTIAL_FRAMES` frames in the making; and every frame the
    assembler began ends complete, dropped with its reason counted, or still waiting."""
    metrics = Metrics()
    assembler = FrameAssembler(metrics)
    chunks = [c for item in run for c in (item if isinstance(item, list) else [item])]
    begun = 0
    for chunk in chunks:
        camera = assembler._cameras.get(chunk.camera_id)
        waiting = camera is not None and chunk.frame in camera.partial
        stale = metrics.registry.get_sample_value("robodine_video_datagrams_total", {"result": "stale"}) or 0
        frame = assembler.add(chunk, 2.0)
        now_stale = metrics.registry.get_sample_value("robodine_video_datagrams_total", {"result": "stale"}) or 0
        begun += not waiting and now_stale == stale
        if frame is not None:
            assert frame.jpeg.startswith(b"\xff\xd8") and frame.camera_id == chunk.camera_id
        for held in assembler._cameras.values():
            assert len(held.partial) <= MAX_PARTIAL_FRAMES
            assert all(p.size <= MAX_FRAME_BYTES for p in held.partial.values())
    ended = sum(
        metrics.registry.get_sample_value("robodine_video_frames_total", {"result": result}) or 0
        for result in FRAME_RESULTS
    )
    still = sum(len(held.partial) for held in assembler._cameras.values())
    assert begun == ended + still, (begun, ended, still)


# -- legacy robots (JSON objects back to back, answered at EOF or when quiet) -------------------

legacy_objects = objects_of(
    {
        "msg_type": st.sampled_from(["albabot", "cookbot", "ingredient", "face", "robot", ""]),
        "robot_id": st.one_of(texts, numbers), "status": texts, "battery": numbers, "x": numbers, "y": numbers,
        "theta": numbers, "exist": numbers, "ingredient_id": numbers, "history": texts, "name": texts,
    }
)  # fmt: skip
streams = st.one_of(
    st.lists(legacy_objects.map(dumps), max_size=4).map(b"".join).flatmap(mutated),
    st.lists(legacy_objects.map(dumps), max_size=4).map(b" \n".join),
    st.binary(max_size=300),
    st.sampled_from([b"{" * 5000, b"}" * 10, b'{"msg_type":"face","history":"' + b"}{" * 3000 + b'"}']),
)
LEGACY_FRAMES = (LegacyAlbabot, LegacyCookbot, LegacyIngredient, LegacyFace)


@FUZZ
@given(streams)
def test_legacy_streams_split_detect_and_decode_or_raise_bad_legacy_frame(stream: bytes) -> None:
    assert starts_legacy(stream) in (True, False, None)
    assert stream_said_all(stream) in (True, False)
    try:
        objects, rest = split_objects(stream)
    except BadLegacyFrame:
        pass
    else:
        assert stream.endswith(rest)
        at = 0
        for found in objects:  # each a `{...}` of the stream, in order
            assert found.startswith(b"{") and found.endswith(b"}")
            at = stream.index(found, at) + len(found)
    try:
        decoded = decode_stream(stream)
    except BadLegacyFrame as exc:
        assert str(exc)
    else:
        assert all(isinstance(frame, LEGACY_FRAMES) for frame in decoded)

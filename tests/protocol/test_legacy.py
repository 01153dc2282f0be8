"""Legacy frames: the original field names, concatenated objects, and fuzzing."""

from __future__ import annotations

import contextlib

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robodine_edge.protocol.legacy import (
    TEXT_KEPT,
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
from robodine_edge.protocol.pose import AXES, Pose


def albabot(**overrides: object) -> dict[str, object]:
    frame: dict[str, object] = {"msg_type": "Albabot", "robot_id": 7, "status": "SERVING", "battery_level": 0.42}
    for n, prefix in enumerate(("pinky_", "global_", "world_")):
        frame.update({prefix + axis: float(n * 10 + i) for i, axis in enumerate(AXES)})
    frame.update(overrides)
    return frame


def cookbot() -> dict[str, object]:
    frame: dict[str, object] = {"msg_type": "Cookbot", "robot_id": "robot48", "status": "COOKING"}
    frame.update({f"angle_{n}": n * 0.1 for n in range(1, 7)})
    frame.update({f"endpoint_{axis}": 1.0 for axis in AXES})
    return frame


def test_all_four_frame_kinds_back_to_back() -> None:
    stream = b"".join(
        orjson.dumps(f)
        for f in (
            albabot(),
            cookbot(),
            {"msg_type": "Ingredient", "ingredient_id": 3, "x": 1, "y": 2, "z": 3, "roll": 0, "pitch": 0, "yaw": 0.5},
            {
                "msg_type": "Face",
                "table_id": 4,
                "history": "[]",
                "nowdetected": "person",
                "reliability": 93,
                "exist": 1,
            },
        )
    )
    alba, cook, ingredient, face = decode_stream(stream)
    assert isinstance(alba, LegacyAlbabot) and alba.robot_id == "7" and alba.state == "serving"
    assert alba.battery == pytest.approx(42.0)
    assert alba.poses["global"] == Pose(10, 11, 12, 13, 14, 15) and set(alba.poses) == {"pinky", "global", "world"}
    assert (
        isinstance(cook, LegacyCookbot)
        and cook.robot_id == "robot48"
        and cook.joints == (0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6000000000000001)
    )
    assert cook.endpoint == Pose(1, 1, 1, 1, 1, 1)
    assert ingredient == LegacyIngredient(3, Pose(1, 2, 3, 0, 0, 0.5))
    assert face == LegacyFace(4, True, 93.0, "[]", "person")


def test_a_face_frames_long_text_is_shortened_not_refused() -> None:
    long = "\u00e9" * 100_000
    face = {"msg_type": "Face", "table_id": 2, "history": long, "nowdetected": long, "reliability": 50, "exist": 0}
    [decoded] = decode_stream(orjson.dumps(face))
    assert decoded == LegacyFace(2, False, 50.0, long[:TEXT_KEPT], long[:TEXT_KEPT])


def test_a_battery_fraction_is_an_exact_percent() -> None:
    for fraction, percent in ((0.56, 56.0), (0.07, 7.0), (0.333, 33.3), (1.0, 100.0), (0.0, 0.0)):
        assert decode_stream(orjson.dumps(albabot(battery_level=fraction)))[0].battery == percent  # type: ignore[union-attr]


def test_battery_as_percent_stays_percent() -> None:
    assert decode_stream(orjson.dumps(albabot(battery_level=87)))[0].battery == 87.0  # type: ignore[union-attr]


def test_recognising_a_legacy_connection() -> None:
    assert starts_legacy(b"") is None
    assert starts_legacy(b'  {"msg_typ') is None
    assert starts_legacy(b'  {"msg_type"  ') is None  # a key only once its colon is there
    assert starts_legacy(b'  {"msg_type": "Face", "tab') is True
    assert starts_legacy(orjson.dumps(albabot())) is True
    assert starts_legacy(b'{"robot_id": 41, "msg_type": "Albabot"}') is True  # wherever the key is
    assert starts_legacy(b'{"type":"hello","robot_id":"a"}\n') is False
    assert starts_legacy(b"GET / HTTP/1.1\r\n") is False


def test_when_a_sender_with_its_side_open_has_said_all() -> None:
    """Complete objects (any number, whitespace around them) may be answered; a stream cut
    inside an object may not; an unreadable one may (nothing could mend it)."""
    alba = orjson.dumps(albabot())
    assert stream_said_all(alba) and stream_said_all(alba + b" \r\n" + alba + b"\n")
    assert not stream_said_all(b"") and not stream_said_all(b"  \n")
    assert not stream_said_all(alba + alba[:30]) and not stream_said_all(alba[:-1])
    assert not stream_said_all(b'{"msg_type": "Face", "history": "}"')  # a brace inside a string
    assert stream_said_all(alba + b"xx") and stream_said_all(b'{"msg_type": "Face"}}')


@pytest.mark.parametrize(
    "prefix",
    [
        b'{"type": "hello", "caps": {"msg_type": "Albabot"}}',  # not a key of the object itself
        b'{"type": "hello", "note": "msg_type", "x": 1}',  # a value, not a key
        b'{"type": "hello", "list": [{"msg_type": 1}]}',
        b'{"type": "hello", "msg\\"_type": 1}',
    ],
)
def test_msg_type_elsewhere_than_a_top_level_key_is_not_legacy(prefix: bytes) -> None:
    assert starts_legacy(prefix) is False


@pytest.mark.parametrize(
    "stream",
    [
        b'{"msg_type":"Albabot","robot_id":41,"x":NaN}',
        b'{"msg_type":"Albabot","robot_id":41,"x":bad}',
        orjson.dumps(albabot()) + b"xx",
        b'{"msg_type":"Albabot"' + b" " * 200_000,
        b'{"msg_type":"Albabot","x":' + b"[" * 100_000,
    ],
)
def test_a_broken_legacy_stream_is_still_legacy_and_refused(stream: bytes) -> None:
    """Recognised by its key, so it is answered `ERROR` (not with NDJSON error lines)."""
    assert starts_legacy(stream[:4096]) is True
    with pytest.raises(BadLegacyFrame):
        decode_stream(stream)


@pytest.mark.parametrize(
    "stream",
    [
        b'{"msg_type": "Toaster"}',
        b'{"msg_type": ["Albabot"]}',  # no key of the frame kinds (a list cannot even be looked up)
        b'{"msg_type": {"kind": "Face"}}',
        orjson.dumps(albabot(status="DANCING")),
        orjson.dumps({k: v for k, v in albabot().items() if k != "world_yaw"}),
        orjson.dumps(albabot(robot_id="has space")),
        b'{"msg_type": "Face", "table_id": 1, "exist": 2}',
        b'{"msg_type": "Face", "table_id": 1, "exist": 1} trailing',
        b'{"msg_type": "Face", "table_id": 1, "exist": 1',
        b"[1, 2]",
        b"}{",
        b"\xff\xfe",
    ],
)
def test_bad_streams_raise(stream: bytes) -> None:
    with pytest.raises(BadLegacyFrame):
        decode_stream(stream)


def test_braces_inside_strings_do_not_split() -> None:
    objects, rest = split_objects(b'{"history": "}{\\"}"} {"a": {"b": 1}}{"open')
    assert objects == [b'{"history": "}{\\"}"}', b'{"a": {"b": 1}}'] and rest == b'{"open'


@settings(max_examples=500)
@given(
    st.binary(max_size=400)
    | st.lists(
        st.dictionaries(
            st.text(max_size=12),
            st.integers(-(2**63), 2**63 - 1) | st.text(max_size=6) | st.floats(allow_nan=False),
            max_size=8,
        ),
        max_size=4,
    ).map(lambda objs: b"".join(orjson.dumps(o) for o in objs))
)
def test_any_stream_decodes_or_raises_bad_legacy_frame(stream: bytes) -> None:
    with contextlib.suppress(BadLegacyFrame):
        decode_stream(stream)
    starts_legacy(stream)

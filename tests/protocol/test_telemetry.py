"""Telemetry datagrams: round trip, drop reasons, and fuzzing."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import (
    MAX_DATAGRAM,
    BadDatagram,
    Telemetry,
    _usual,
    checked_telemetry,
    decode_telemetry,
    encode_telemetry,
)


def test_round_trip() -> None:
    sample = Telemetry("cook-1", "s-abc", 42, Pose(1.0, 2.0, 0.5, 0.0, 0.1, 3.1), 88.5, "cooking", (0.1, -1.2, 3.0))
    assert decode_telemetry(encode_telemetry(sample)) == sample
    bare = Telemetry("alba-1", "s", 0, Pose(0.0, 0.0), None, None, None)
    assert decode_telemetry(encode_telemetry(bare)) == bare


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"x" * (MAX_DATAGRAM + 1), "oversized"),
        (b"\x00\x01garbage", "invalid_json"),
        (b"[]", "invalid"),
        (b'{"type": "status"}', "invalid"),
        (b'{"type": "telemetry", "robot_id": "a", "session": "s", "seq": -1, "pose": {"x": 0, "y": 0}}', "invalid"),
        (b'{"type": "telemetry", "robot_id": "a", "session": "s", "seq": 1, "pose": [0, 0]}', "invalid"),
        (
            b'{"type": "telemetry", "robot_id": "a", "session": "s", "seq": 1, "pose": {"x": 0, "y": 0}, '
            b'"joints": [1, "2"]}',
            "invalid",
        ),
        (b'{"type": "telemetry", "robot_id": "a", "session": "", "seq": 1, "pose": {"x": 0, "y": 0}}', "invalid"),
    ],
)
def test_drop_reasons(data: bytes, reason: str) -> None:
    with pytest.raises(BadDatagram) as caught:
        decode_telemetry(data)
    assert caught.value.reason == reason


def datagram(**fields: object) -> bytes:
    return orjson.dumps(
        {"type": "telemetry", "robot_id": "a", "session": "s", "seq": 1, "pose": {"x": 0, "y": 0}, **fields}
    )


@pytest.mark.parametrize(
    "state",
    ["DANCE PARTY", "Idle", "idle!", "", " idle", "idle\n", "x" * 33, "ídle", "serving;drop", 5, True, ["idle"], {}],
)
def test_a_state_that_is_not_a_lower_case_word_drops_the_datagram(state: object) -> None:
    """The same rule as the TCP `status` frame: a robot's state is a lower-case word."""
    with pytest.raises(BadDatagram) as caught:
        decode_telemetry(datagram(state=state))
    assert caught.value.reason == "invalid" and "state" in str(caught.value)


@pytest.mark.parametrize("state", ["idle", "cooking", "emergency_stop", None])
def test_a_lower_case_word_or_no_state_is_taken(state: str | None) -> None:
    assert decode_telemetry(datagram(state=state)).state == state


@settings(max_examples=500)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.dictionaries(
            st.sampled_from(["type", "robot_id", "session", "seq", "pose", "battery", "state", "joints"]),
            st.one_of(
                st.just("telemetry"),
                st.integers(-5, 2**40),
                st.floats(allow_nan=False),
                st.text(max_size=8),
                st.none(),
                st.lists(st.floats(allow_nan=False), max_size=40),
                st.fixed_dictionaries({"x": st.floats(allow_nan=False), "y": st.integers(-(2**63), 2**63 - 1)}),
            ),
        ).map(orjson.dumps),
    )
)
def test_any_datagram_decodes_or_raises_bad_datagram(data: bytes) -> None:
    try:
        decode_telemetry(data)
    except BadDatagram as exc:
        assert exc.reason in {"oversized", "invalid_json", "invalid"}


EDGES = [1e9, -1e9, 1e9 + 1, -1e9 - 1, 0, 100, 100.5, -0.01, -0.0, 2**64, True, False, None, "1", [1.0]]
GOOD_NUMBERS = st.one_of(st.floats(-1e9, 1e9), st.integers(-(10**9), 10**9))
ANY_NUMBER = st.one_of(GOOD_NUMBERS, st.sampled_from(EDGES))
GOOD = {
    "robot_id": st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
    "session": st.text(min_size=1, max_size=128),
    "seq": st.integers(0, 2**63 - 1),
    "pose": st.fixed_dictionaries(
        {"x": GOOD_NUMBERS, "y": GOOD_NUMBERS}, optional=dict.fromkeys(("z", "roll", "pitch", "yaw"), GOOD_NUMBERS)
    ),
    "battery": st.one_of(st.none(), st.floats(0, 100), st.integers(0, 100)),
    "state": st.one_of(st.none(), st.from_regex(r"[a-z_]*[a-z][a-z_]*", fullmatch=True).filter(lambda w: len(w) <= 32)),
    "joints": st.one_of(st.none(), st.lists(GOOD_NUMBERS, max_size=32)),
}
EDGY = {
    "robot_id": st.one_of(st.text(max_size=66), st.sampled_from(["", "a" * 65, "a\n", 5, None])),
    "session": st.one_of(st.sampled_from(["", "s" * 128, "s" * 129, 5, None])),
    "seq": st.sampled_from([-1, 0, 2**63 - 1, 2**63, True, 1.0, None, "1"]),
    "pose": st.one_of(
        st.fixed_dictionaries({"x": ANY_NUMBER, "y": ANY_NUMBER}, optional=dict.fromkeys(("z", "yaw"), ANY_NUMBER)),
        st.sampled_from([{"x": 1}, {"y": 1}, [1, 2], None, {"x": 1, "y": 2, "z": None}]),
    ),
    "battery": st.one_of(ANY_NUMBER, st.floats(-1, 101)),
    "state": st.one_of(st.text(max_size=34), st.sampled_from(["_", "a" * 32, "a" * 33, "Idle", "ídle", 5, []])),
    "joints": st.one_of(st.lists(ANY_NUMBER, max_size=3), st.sampled_from([[0.0] * 32, [0.0] * 33, (1.0,), 5])),
}


@st.composite
def nearly_good(draw: st.DrawFn) -> dict[str, object]:
    """A good telemetry object with at most one field at an edge, changed or left out."""
    obj: dict[str, object] = {"type": "telemetry"}
    edgy = draw(st.sampled_from([None, *EDGY]))
    for name, good in GOOD.items():
        if name == edgy:
            if not draw(st.integers(0, 9)):  # left out
                continue
            obj[name] = draw(EDGY[name])
        elif name in ("robot_id", "session", "seq", "pose") or draw(st.booleans()):
            obj[name] = draw(good)
    return obj


@settings(max_examples=1500)
@given(nearly_good())
def test_the_inline_check_takes_exactly_what_the_field_by_field_one_takes(obj: dict[str, object]) -> None:
    """`decode_telemetry` checks the usual datagram inline: for any object it must agree
    with the field helpers (the same Telemetry, or None where they refuse and word why)."""
    try:
        checked = checked_telemetry(obj)
    except BadDatagram:
        checked = None
    assert _usual(obj) == checked


def test_the_usual_datagrams_are_taken_inline() -> None:
    sample = Telemetry("cook-1", "s-abc", 42, Pose(1.0, 2.0, 0.5, 0.0, 0.1, 3.1), 88.5, "cooking", (0.1, -1.2, 3.0))
    assert _usual(orjson.loads(encode_telemetry(sample))) == sample
    bare = {"type": "telemetry", "robot_id": "a", "session": "s", "seq": 7, "pose": {"x": 1, "y": 2}}
    assert _usual(bare) == Telemetry("a", "s", 7, Pose(1.0, 2.0), None, None, None)

"""Telemetry datagrams: round trip, drop reasons, and fuzzing."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import MAX_DATAGRAM, BadDatagram, Telemetry, decode_telemetry, encode_telemetry


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

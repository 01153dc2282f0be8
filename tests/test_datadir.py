"""The data directory's small files: the WebSocket streams' numbering across runs."""

from __future__ import annotations

from pathlib import Path

from robodine_edge.data.datadir import SEQ_HEADROOM, next_seq_base


def test_each_run_numbers_above_the_last_even_with_the_clock_behind(tmp_path: Path) -> None:
    first = next_seq_base(tmp_path, now_us=1_800_000_000_000_000)
    assert first == 1_800_000_000_000_000
    behind = next_seq_base(tmp_path, now_us=1_799_999_000_000_000)  # booted with an hour-old clock
    assert behind == first + SEQ_HEADROOM
    later = next_seq_base(tmp_path, now_us=1_900_000_000_000_000)
    assert later == 1_900_000_000_000_000 and later < 2**53


def test_an_unreadable_record_is_as_none_and_is_rewritten(tmp_path: Path) -> None:
    (tmp_path / "hub-seq-base").write_text("not a number")
    now = 1_800_000_000_000_000
    assert next_seq_base(tmp_path, now_us=now) == now
    assert (tmp_path / "hub-seq-base").read_text() == str(now)

"""What grew between two tracemalloc snapshots of the service: `python -m bench.soak_memory DIR [FIRST [LAST]]`.

DIR is where `ROBODINE_DEBUG_MEMORY` wrote (robodine_edge/process/memwatch.py); FIRST and LAST name two
of its snapshots (default: the one nearest the middle of the run — after the warm-up — and the
last). Prints the allocation sites that grew most, by line and then by their whole traceback,
and the collector's figures from memwatch.jsonl, so a rising RSS can be put down to the code
that holds it. Python allocations only: SQLite's page cache and malloc's own free lists are in
RSS and not here (the gap between the two says how much of the growth is C-level).
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import orjson

TOP = 25
IGNORED = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>"))


def main(argv: list[str]) -> int:
    directory = Path(argv[0])
    snaps = sorted(directory.glob("tracemalloc-*.snap"))
    if len(snaps) < 2:
        print(f"{directory} holds fewer than two snapshots", file=sys.stderr)
        return 2
    first = directory / argv[1] if len(argv) > 1 else snaps[len(snaps) // 2]
    last = directory / argv[2] if len(argv) > 2 else snaps[-1]
    old = tracemalloc.Snapshot.load(str(first)).filter_traces(IGNORED)
    new = tracemalloc.Snapshot.load(str(last)).filter_traces(IGNORED)
    print(f"{first.name} -> {last.name}")
    lines = directory / "memwatch.jsonl"
    if lines.is_file():
        for line in lines.read_bytes().splitlines():
            found = orjson.loads(line)
            print(f"  t {found['t_s']:>6} s  rss {found['rss_mb']:>6} MB  traced {found['traced_mb']:>6} MB  "
                  f"gc counts {found['gc_counts']}  frozen {found['gc_frozen']:>7}")  # fmt: skip
    total = sum(s.size_diff for s in new.compare_to(old, "filename"))
    print(f"\ntraced growth: {total / 2**20:+.2f} MB\n\nby line:")
    for stat in new.compare_to(old, "lineno")[:TOP]:
        print(f"  {stat.size_diff / 1024:>+9.1f} KiB {stat.count_diff:>+7} blocks  {stat.traceback[0]}")
    print("\nby traceback (the top 8):")
    for stat in new.compare_to(old, "traceback")[:8]:
        print(f"\n  {stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+} blocks")
        for frame in stat.traceback.format()[-16:]:
            print("   ", frame)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The WAL index header is read, never mapped: SQLite truncates and rebuilds `-shm`
when a connection finds itself the first, and touching a mapping past the end of a
truncated file kills the process (SIGBUS). Run in a child process, so the old way's
death is seen as an exit by signal rather than taking the test runner down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os, sys
from pathlib import Path
from robodine_edge.care.walindex import WalIndex

database = Path(sys.argv[1])
shm = Path(f"{database}-shm")
shm.write_bytes(bytes(14) + (4096).to_bytes(2, "little") + (7).to_bytes(4, "little") + bytes(200))
index = WalIndex(database)
first = index.read()
assert first is not None and (first.page_size, first.frames) == (4096, 7), first
os.truncate(shm, 0)  # what SQLite does to a -shm it rebuilds
print("after truncation:", index.read())
shm.write_bytes(bytes(14) + (1).to_bytes(2, "little") + (9).to_bytes(4, "little") + bytes(200))
again = index.read()
print("rebuilt:", again.page_size, again.frames)
"""


def test_a_truncated_wal_index_is_no_header_not_a_dead_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "robodine.sqlite3")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert "after truncation: None" in result.stdout
    assert "rebuilt: 65536 9" in result.stdout

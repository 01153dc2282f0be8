"""The glibc malloc settings are applied here (a glibc machine), and harmless to repeat."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from robodine_edge.process import memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")

LARGE_BLOCKS = """
import sys
from pathlib import Path
from robodine_edge.process import memory
def rss_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024

if sys.argv[1] == "configured":
    assert memory.configure()
for _ in range(3):  # what a few logins do: a 19 MiB argon2 block each, freed after
    block = bytearray(20 * 1024 * 1024)
    del block
print(rss_mb())
"""


@glibc_only
def test_arenas_are_capped_and_free_memory_is_returned() -> None:
    assert memory.configure() is True
    assert memory.configure() is True
    garbage = [bytearray(2000) for _ in range(20_000)]  # 40 MB of malloc heap (not pymalloc, not mmap)
    del garbage
    assert memory.trim() is True, "freed heap memory should have been handed back"


def _rss_after_large_blocks(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", LARGE_BLOCKS, mode], capture_output=True, text=True, check=True)
    return float(out.stdout)


@glibc_only
def test_a_freed_large_block_does_not_stay_resident() -> None:
    """glibc's dynamic mmap threshold would keep each later 20 MiB block in the heap."""
    default, configured = _rss_after_large_blocks("default"), _rss_after_large_blocks("configured")
    assert default - configured > 15, (default, configured)

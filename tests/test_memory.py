"""The glibc malloc settings are applied here (a glibc machine), and harmless to repeat."""

from __future__ import annotations

import platform

import pytest

from robodine_edge import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_arenas_are_capped_and_free_memory_is_returned() -> None:
    assert memory.limit_arenas() is True
    assert memory.limit_arenas() is True
    garbage = [bytearray(2000) for _ in range(20_000)]  # 40 MB of malloc heap (not pymalloc, not mmap)
    del garbage
    assert memory.trim() is True, "freed heap memory should have been handed back"

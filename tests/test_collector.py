"""The collector's schedule, in a child process (freezing is process-wide)."""

from __future__ import annotations

import subprocess
import sys

SCENARIO = """
import gc, weakref
from robodine_edge.process import collector
class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a

collector.freeze_survivors()
frozen = gc.get_freeze_count()
assert frozen > 0, "start-up survivors are frozen"

kept = [cycle() for _ in range(1000)]
gc.collect()  # a full collection: its survivors are frozen too
assert gc.get_freeze_count() >= frozen + 2000, (frozen, gc.get_freeze_count())

old = weakref.ref(kept[0])
del kept
gc.collect()
assert old() is not None, "a cycle among frozen objects waits for collect_all"
assert collector.collect_all() >= 2000
assert old() is None

young = weakref.ref(cycle())
gc.collect(1)
assert young() is None, "young garbage is collected as usual"

collector.stop()
assert not [c for c in gc.callbacks if getattr(c, "__module__", "") == "robodine_edge.process.collector"]
print("ok")
"""


def test_survivors_of_full_collections_are_frozen_and_collect_all_finds_old_cycles() -> None:
    done = subprocess.run([sys.executable, "-c", SCENARIO], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"

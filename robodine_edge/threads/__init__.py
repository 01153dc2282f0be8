"""The event loop's thread and the crossings between the loop and the actors.

* `loop_thread` — which thread is the loop's, and `WrongThread` for code that ran off it.
* `bridge` — the one way loop code waits on an actor without blocking the loop; used by
  `http`, `net` and `federation` alike, so it belongs to none of them.

May import the actors' base (their futures) and the core; no room above.
"""

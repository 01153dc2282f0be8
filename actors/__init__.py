"""The actors of robodine-edge (imported as `robodine_edge.actors`; see docs/ARCHITECTURE.md).

At this level, the machinery every actor shares: `base` (futures, crashes, dead letters,
typed proxies), `supervisor` (restarts), `directory` (slots of a family by key) and
`timer` (delayed messages). Below, one room per concern, each with its actors, the
messages they take and the pure helpers they keep:

* `storage` — the writer (the one thread that writes SQLite), the journal of events,
  the encoded list pages, the log handler that records warnings as events;
* `robots` — one actor per robot, the fleet that registers them, their outboxes and paces;
* `cameras` — one actor per camera and the registry that starts them;
* `dining` — the order queue (orders, menu, stock), the floor and one actor per table;
* `dispatch` — the dispatcher: tasks, the robots as it knows them, legacy arms.

Actors import `data`, `domain`, `protocol`, `process` and the core, and rooms lower in
that list (dispatch asks dining and robots; every room writes through storage) —
never `threads`, `http`, `net` or `federation`, which call into them.
"""

"""The process itself, the same whatever the store does: logs, metrics, memory, systemd.

* `logs` — the log line format; `metrics` — the Prometheus registry every room counts in.
* `memory` and `collector` — allocator and garbage-collector tuning for a long life on a
  small device; `memwatch` — the debug mode that traces where memory goes.
* `systemd_notify` — READY, STOPPING and the watchdog, over `NOTIFY_SOCKET`.

May import `data` (SQLite's own memory figure) and the core; nothing that holds state
of the store.
"""

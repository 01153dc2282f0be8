"""Where the actors' changes become rows: the writer and what writes through it.

* `writer` — the one thread that writes SQLite: units of work batched into commits.
* `journal` — events and the notifications they raise, to the log and the live hub.
* `list_pages` — `GET` list answers kept as encoded JSON, served without asking an actor.
* `system_log` — the log handler that records warnings and errors as events.

May import the actors' machinery, `data` and the core.
"""

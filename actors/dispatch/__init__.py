"""The dispatcher: orders flow through robots with no human in the loop.

* `dispatcher` — the actor; `messages` — what others tell it; `asks` — what it asks of
  others, each ask bounded.
* `task_board` and `task_ledger` — its open tasks in memory and their changes in SQLite.
* `roster` — the robots as it last heard of them; `legacy_arms` — dishes for legacy arms.

May import `dining`, `robots`, `storage`, the actors' machinery, `data`, `domain`,
`protocol` and the core.
"""

"""The robots: one actor per robot, and the fleet that registers and lists them.

* `robot` — a robot's live state, link and commands (`messages`: what crosses in and out;
  `outbox`: commands owed and withdrawn; `pace`: how often changes are told and saved).
* `fleet` — registration, the robot actors' lives, the view of them all.
* `legacy_pace` — how long a legacy robot may stay silent before it counts as offline.

May import `storage`, the actors' machinery, `data`, `domain`, `protocol` and the core.
"""

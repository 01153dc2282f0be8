"""The demo store `run --demo` opens: its tables, menu, stock, staff and robots.

* `seed` — fills an empty database with the demo store (once; a restart keeps it).
* `fleet` — starts the simulated robots, cameras and guests beside the service.

May import `auth` (the demo's passwords), `data` and the core; the simulator it runs
is reached as a separate room (`simulate`), over the network like any robot.
"""

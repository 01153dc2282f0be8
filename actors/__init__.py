"""The actors of robodine-edge (installed as `robodine_edge.actors`).

Actors own live state and talk by messages; they import the store, types and errors
of `robodine_edge`, never its `http` or `net` rooms. See docs/ARCHITECTURE.md.
"""

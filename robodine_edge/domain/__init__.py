"""Pure rules of the restaurant (no I/O, no state): lifecycles, seating, stock, dispatch,
and the token bucket that paces what a rate promises.

May import only the core (`errors`, `types`, `clock`).
"""

"""Pure rules of the restaurant (no I/O, no state): lifecycles, seating, stock, dispatch.

May import only the core (`errors`, `types`, `clock`).
"""

"""Pure rules of the restaurant (no I/O, no state): lifecycles, seating, stock."""

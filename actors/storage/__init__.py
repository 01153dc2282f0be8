"""The database writer and what writes through it."""

"""The demo store."""

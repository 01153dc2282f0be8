"""The dispatcher."""

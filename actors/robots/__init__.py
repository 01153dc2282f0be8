"""The robots' actors."""

"""The cameras' actors."""

"""Orders, menu, stock, tables and the floor."""

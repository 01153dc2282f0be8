"""The dining room: orders, menu, stock, the floor and its tables.

* `order_queue` — the one owner of orders, the menu and the inventory (`menu_book`: the
  menu and what an order's lines need; `stock_ledger`: what is left to order).
* `floor` — parties and the waiting list; `table` — one actor per dining table.

May import `storage`, the actors' machinery, `data`, `domain`, `protocol` and the core.
"""

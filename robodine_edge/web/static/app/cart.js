// The guest's cart: one line per dish with a quantity and a note, and the
// Idempotency-Key of its submission. The key is made once for what the cart holds and
// reused by every retry of that same cart (a double tap, a retry after the Wi-Fi
// dropped), so the order is placed at most once; it changes only when the cart changes
// or the service has answered it (`settled`). While an order is being sent the cart is
// locked, so what was sent is what is cleared when it is placed.
import { signal } from "@preact/signals";
import { idempotencyKey } from "./api.js";

export const MAX_QUANTITY = 50; // per line, as the API allows

export class Cart {
  constructor() {
    this.lines = signal([]); // [{menu_item_id, name, price, quantity, note}]
    this.locked = false;
    this._key = null;
  }

  get empty() {
    return this.lines.value.length === 0;
  }

  add(dish) {
    const line = this.lines.value.find((l) => l.menu_item_id === dish.id);
    if (line) return this.setQuantity(dish.id, line.quantity + 1);
    this._change([...this.lines.value, { menu_item_id: dish.id, name: dish.name, price: dish.price, quantity: 1, note: "" }]);
  }

  setQuantity(id, quantity) {
    const capped = Math.min(quantity, MAX_QUANTITY);
    const lines = this.lines.value;
    this._change(capped > 0 ? lines.map((l) => (l.menu_item_id === id ? { ...l, quantity: capped } : l)) : lines.filter((l) => l.menu_item_id !== id));
  }

  setNote(id, note) {
    this._change(this.lines.value.map((l) => (l.menu_item_id === id ? { ...l, note } : l)));
  }

  clear() {
    this._change([]);
  }

  // {menu item id: quantity}, for the menu's "2 in your order".
  counts() {
    return new Map(this.lines.value.map((l) => [l.menu_item_id, l.quantity]));
  }

  // The total at the menu's current prices (`priceOf`), the line's own when a dish is gone.
  total(priceOf) {
    return this.lines.value.reduce((sum, l) => sum + (priceOf(l.menu_item_id) ?? l.price) * l.quantity, 0);
  }

  // What POST /api/orders is sent for this cart, and the key that goes with it.
  submission(tableId) {
    if (this._key === null) this._key = idempotencyKey();
    const items = this.lines.value.map(({ menu_item_id, quantity, note }) => {
      const text = note.trim();
      return text ? { menu_item_id, quantity, note: text } : { menu_item_id, quantity };
    });
    return { key: this._key, body: { table_id: tableId, items } };
  }

  // The service decided on this cart's key (placed, or refused for good): the next
  // attempt is a new one. A refusal is remembered under its key, so reusing it would only
  // replay the refusal, even after a restock.
  settled() {
    this._key = null;
  }

  _change(lines) {
    if (this.locked) return;
    this._key = null;
    this.lines.value = lines;
  }
}

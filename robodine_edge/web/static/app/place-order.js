// Placing the cart's order: POST /api/orders with the cart's Idempotency-Key, one
// request at a time however often the button is tapped (a tap while one is out joins
// it), and every refusal turned into words a guest understands.
import { effect, signal } from "@preact/signals";
import { api } from "./api.js";

// Answers the service has decided on (remembered under the key): a retry with the same
// key would replay them. Anything else — no answer, 5xx, 401, 429 — decided nothing.
const DECIDED = new Set([403, 404, 409, 422]);

export class OrderSender {
  constructor(cart, tableId, { nameOf, onPlaced }) {
    this.cart = cart;
    this.tableId = tableId;
    this.nameOf = nameOf;
    this.onPlaced = onPlaced;
    this.busy = signal(false);
    this.outcome = signal(null); // {kind: "placed"|"problem", key, params, lines?}
    this._flight = null;
    // What became of the last attempt is shown until the guest changes the cart.
    effect(() => {
      cart.lines.value;
      if (!cart.locked) this.outcome.value = null;
    });
  }

  place() {
    if (this._flight) return this._flight; // a double tap: the same request, not a second one
    if (this.cart.empty) return Promise.resolve(null);
    const { key, body } = this.cart.submission(this.tableId);
    this.cart.locked = true;
    this.busy.value = true;
    this.outcome.value = null;
    this._flight = api("/api/orders", { method: "POST", body, headers: { "Idempotency-Key": key } })
      .then((order) => this._placed(order), (error) => this._refused(error, body))
      .finally(() => {
        this._flight = null;
        this.cart.locked = false;
        this.busy.value = false;
      });
    return this._flight;
  }

  _placed(order) {
    this.cart.settled();
    this.cart.locked = false;
    this.cart.clear();
    this.outcome.value = { kind: "placed", key: "kiosk.cart.placed", params: { id: order.id } };
    this.onPlaced(order);
    return order;
  }

  _refused(error, body) {
    if (DECIDED.has(error.status)) this.cart.settled();
    this.outcome.value = { kind: "problem", ...explain(error, body, this.nameOf) };
    return null;
  }
}

// The dishes an error's `fields` point at (`items.<n>` or `items.<n>.<field>`), by line.
function linesNamed(fields, body) {
  const ids = new Set();
  for (const name of Object.keys(fields || {})) {
    const match = /^items\.(\d+)/.exec(name);
    const item = match && body.items[Number(match[1])];
    if (item) ids.add(item.menu_item_id);
  }
  return ids;
}

// {key, params, lines}: the message to show, and the cart lines it is about.
export function explain(error, body, nameOf) {
  if (error.status === 0) return { key: "kiosk.error.network", params: {} };
  if (error.status >= 500) return { key: "kiosk.error.busy", params: {} };
  const lines = linesNamed(error.fields, body);
  const dishes = Array.from(lines, nameOf).join(", ");
  if (error.code === "out_of_stock") {
    return { key: "kiosk.error.out_of_stock", params: { dishes: dishes || detail(error.message) }, lines };
  }
  if (error.code === "conflict") {
    return { key: "kiosk.error.unavailable", params: { dishes: dishes || detail(error.message) }, lines };
  }
  if (error.code === "validation_error") {
    const details = Object.entries(error.fields || {}).map(([field, why]) => `${fieldName(field, body, nameOf)}: ${why}`);
    return { key: "kiosk.error.validation", params: { details: details.join("; ") || error.message }, lines };
  }
  return { key: "kiosk.error.other", params: { message: error.message }, lines };
}

// "not available now: Cola, Cider" → "Cola, Cider"; the whole message when it has no colon.
function detail(message) {
  const at = message.indexOf(":");
  return at >= 0 ? message.slice(at + 1).trim() : message;
}

function fieldName(field, body, nameOf) {
  const match = /^items\.(\d+)/.exec(field);
  const item = match && body.items[Number(match[1])];
  return item ? nameOf(item.menu_item_id) : field;
}
